/**
 * Published weights by name (`--pretrained mobilenet_v3_large`, `--weights mobilenet_v2.IMAGENET1K_V1`),
 * as torchvision's `weights=` and torch.hub do it: the file is looked for in mobilezoo's cache
 * (`$MOBILEZOO_HOME/weights`, by default `~/.cache/mobilezoo/weights`) and in torch.hub's
 * (`$TORCH_HOME/hub/checkpoints`, by default `~/.cache/torch/hub/checkpoints`, used where it is), else
 * downloaded once into mobilezoo's cache by the one downloader (progress, resume, the sha256 prefix of
 * the name checked, renamed atomically). Offline (MOBILEZOO_OFFLINE=1, or the host unreachable) a missing
 * file fails at once, with the URL and the path to put the file at.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { cacheDir, downloadDefault } from '../data/dataset.js';
import { hubHashPrefix } from '../io/hub-hash.js';
import { type DownloadProgress, DownloadError, downloadFile } from '../io/download.js';
import { PUBLISHED_WEIGHTS, type PublishedWeights, findPublishedWeights, weightsName } from '../models/published-weights.js';

export interface WeightsCacheOptions {
  /** The environment read for MOBILEZOO_HOME, TORCH_HOME, XDG_CACHE_HOME and MOBILEZOO_OFFLINE (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Never download (default: MOBILEZOO_OFFLINE unset). */
  offline?: boolean;
  /** Draw the download's progress bar on stderr when it is a terminal (default true). */
  progress?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** One line per download started and finished. */
  log?: (message: string) => void;
  /** The weights that names mean (default PUBLISHED_WEIGHTS). */
  table?: readonly PublishedWeights[];
  /** Passed to the downloader. */
  retries?: number;
  retryDelayMs?: number;
}

/** Where weights are cached and looked for. */
export function weightsDirs(env: NodeJS.ProcessEnv = process.env): { cache: string; torchHub: string } {
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const torchHome = env.TORCH_HOME ? resolve(env.TORCH_HOME) : join(xdg, 'torch');
  return { cache: join(cacheDir(env), 'weights'), torchHub: join(torchHome, 'hub', 'checkpoints') };
}

/** The local copy of published weights: mobilezoo's cache first, then torch.hub's; undefined when neither has it. */
export function cachedWeights(w: PublishedWeights, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { cache, torchHub } = weightsDirs(env);
  return [join(cache, w.file), join(torchHub, w.file)].find((p) => existsSync(p));
}

/** The file of published weights: the cached one, else downloaded into the cache. */
export async function fetchWeights(w: PublishedWeights, o: WeightsCacheOptions = {}): Promise<string> {
  const env = o.env ?? process.env;
  const found = cachedWeights(w, env);
  if (found) return found;
  const dest = join(weightsDirs(env).cache, w.file);
  const offline = o.offline ?? !downloadDefault(env);
  const manual = `download ${w.url} yourself and put it at ${dest}`;
  if (offline) throw new Error(`${weightsName(w)}: not in the cache and downloads are off (MOBILEZOO_OFFLINE); ${manual}`);
  o.log?.(`downloading ${weightsName(w)} (${w.fileSizeMb} MB) from ${w.url} to ${dest}`);
  try {
    await downloadFile(w.url, dest, {
      sha256Prefix: hubHashPrefix(w.file), label: w.file, progress: o.progress, onProgress: o.onProgress, retries: o.retries, retryDelayMs: o.retryDelayMs,
    });
  } catch (e) {
    if (e instanceof DownloadError && e.unreachable) throw new Error(`${weightsName(w)}: cannot reach ${new URL(w.url).host} (${e.code}): offline? ${manual}`);
    throw new Error(`${weightsName(w)}: ${(e as Error).message}`);
  }
  o.log?.(`saved ${dest}`);
  return dest;
}

/**
 * A `--weights` / `--pretrained` value as a file: an existing file is itself; otherwise a name of
 * published weights (see findPublishedWeights) is fetched. `flag` names the option in errors.
 */
export async function resolveWeightsFile(value: string, flag: string, o: WeightsCacheOptions = {}): Promise<string> {
  if (existsSync(value)) return value;
  const w = findPublishedWeights(value, o.table ?? PUBLISHED_WEIGHTS);
  if (!w) {
    const names = (o.table ?? PUBLISHED_WEIGHTS).map(weightsName);
    throw new Error(`${flag} ${value}: no such file, and not the name of published weights (mobilezoo weights lists them: ${names.slice(0, 3).join(', ')}, …)`);
  }
  return fetchWeights(w, o);
}

export interface WeightsListing {
  /** `<model>.<ENUM>`. */
  name: string;
  model: string;
  isDefault: boolean;
  top1: number;
  top5: number;
  fileSizeMb: number;
  file: string;
  url: string;
  /** The local copy, when there is one. */
  cached?: string;
}

/** The published weights with where each is cached (`mobilezoo weights`). */
export function listWeights(env: NodeJS.ProcessEnv = process.env, table: readonly PublishedWeights[] = PUBLISHED_WEIGHTS): WeightsListing[] {
  return table.map((w) => {
    const cached = cachedWeights(w, env);
    return { name: weightsName(w), model: w.model, isDefault: w.isDefault, top1: w.top1, top5: w.top5, fileSizeMb: w.fileSizeMb, file: w.file, url: w.url, ...(cached ? { cached } : {}) };
  });
}
