/** Helpers for the CLI tests: run `mobilezoo` as a child process (through tsx), temp dirs. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when stderr has printed a line matching `re`. */
  waitForStderr(re: RegExp): Promise<void>;
  done: Promise<CliResult>;
}

/** Starts `mobilezoo ...args` (src/cli/main.ts through tsx) in the repository root. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, MOBILEZOO_OFFLINE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) {
      if (w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    waitForStderr: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stderr)) return resolve();
        waiters.push({ re, resolve });
        void done.then(() => reject(new Error(`CLI exited before printing ${re}:\n${stderr}`)));
      }),
  };
}

export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

export function tempDir(prefix = 'mobilezoo-cli-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

/** A string sink with the shape runCli writes to. */
export function memoryStreams(): { io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    ({ write: (s: string | Uint8Array) => (append(typeof s === 'string' ? s : Buffer.from(s).toString()), true), isTTY: false }) as unknown as NodeJS.WritableStream;
  return { io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

/** Runs `mobilezoo ...args` in this process (runCli) with in-memory streams. */
export async function runCliInMemory(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import('../../src/cli/program.js');
  const m = memoryStreams();
  const code = await runCli(args, m.io);
  return { code, out: m.out(), err: m.err() };
}
