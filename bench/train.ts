/**
 * Train-step speed and peak memory of MobileNetV2 (CIFAR stem, width 1.0) against PyTorch on the same
 * machine in the same run: batch 32 and 128, 1 and 2 threads.
 *   node --import tsx bench/train.ts [--steps 5] [--batches 32,128] [--threads 1,2]
 * PyTorch's side is ../shared/reference-bench/torch_reference.py, run with Debian's python3-torch when
 * it is installed (/usr/bin/python3 -c 'import torch'); peak resident memory of both comes from
 * GNU time (/usr/bin/time -v, Debian package `time`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '5' }, batches: { type: 'string', default: '32,128' }, threads: { type: 'string', default: '1,2' } } });
const torchScript = fileURLToPath(new URL('../../shared/reference-bench/torch_reference.py', import.meta.url));
const hasTime = existsSync('/usr/bin/time');
const hasTorch = existsSync(torchScript) && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

interface Run { ms: number; rssMb: number | null }

function measure(cmd: string, args: string[]): Run {
  const argv = hasTime ? ['-v', cmd, ...args] : args;
  const r = spawnSync(hasTime ? '/usr/bin/time' : cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  return { ms: JSON.parse(line).train_step_ms, rssMb: rss ? Number(rss[1]) / 1024 : null };
}

const rows: string[] = [];
const steps = values.steps!;
for (const batch of values.batches!.split(',').map(Number)) {
  for (const threads of values.threads!.split(',').map(Number)) {
    const ours = measure(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./train-step.ts', import.meta.url)), '--batch', String(batch), '--threads', String(threads), '--steps', steps]);
    const torch = hasTorch ? measure('/usr/bin/python3', [torchScript, '--batch', String(batch), '--threads', String(threads), '--steps', steps]) : null;
    const ips = (r: Run) => ((batch * 1000) / r.ms).toFixed(1);
    const mem = (r: Run | null) => (r?.rssMb ? r.rssMb.toFixed(0) : '-');
    rows.push(`| ${batch} | ${threads} | ${ips(ours)} | ${torch ? ips(torch) : '-'} | ${torch ? (torch.ms / ours.ms).toFixed(2) : '-'} | ${mem(ours)} | ${mem(torch)} |`);
    console.error(rows.at(-1));
  }
}
console.log('| batch | threads | mobilezoo img/s | PyTorch img/s | speed ratio (ours/PyTorch) | mobilezoo peak RSS MB | PyTorch peak RSS MB |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
if (!hasTorch) console.log('\nPyTorch not found: install Debian\'s python3-torch to measure the ratio.');
