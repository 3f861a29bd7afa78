/** Reading the zip checkpoints torch.save writes (PyTorch >= 1.6): `<archive>/data.pkl` plus `<archive>/data/<key>` storages. */

import { unzipSync } from 'fflate';
import { ELEMENT_SIZE } from './dtypes.js';
import { MAX_CHECKPOINT_BYTES } from './limits.js';
import { StorageTable, StorageWindow, materializeTensors, parseStorageId, unpickleTorchObject } from './torch-pickle.js';

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b;
}

function isUnsafeEntryName(name: string): boolean {
  return (
    name.startsWith('/') ||
    name.includes('\\') ||
    /^[a-zA-Z]:/.test(name) ||
    name.split('/').some((part) => part === '..')
  );
}

/** The zip's entries after checking names and sizes; nothing is decompressed before the checks pass. */
function readZip(bytes: Uint8Array, fileName: string): Map<string, Uint8Array> {
  const declared = new Map<string, number>();
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: ({ name, originalSize }) => {
        if (isUnsafeEntryName(name)) throw new Error(`${fileName}: refusing zip entry with unsafe path '${name}'`);
        if (declared.has(name)) throw new Error(`${fileName}: duplicate zip entry '${name}'`);
        total += originalSize;
        if (total > MAX_CHECKPOINT_BYTES) {
          throw new Error(`${fileName}: zip entries expand to more than ${MAX_CHECKPOINT_BYTES} bytes; refusing`);
        }
        declared.set(name, originalSize);
        return true;
      },
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith(`${fileName}:`)) throw e;
    throw new Error(`${fileName}: not a readable zip archive (truncated or corrupt?): ${msg}`);
  }
  const entries = new Map<string, Uint8Array>();
  for (const [name, size] of declared) {
    const data = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!data || data.length !== size) {
      throw new Error(`${fileName}: zip entry '${name}' is truncated (${data?.length ?? 0} of ${size} bytes)`);
    }
    entries.set(name, data);
  }
  return entries;
}

/** The object a zip checkpoint pickled, tensors materialized. */
export function readZipCheckpointObject(bytes: Uint8Array, fileName: string): unknown {
  if (bytes.length < 22) throw new Error(`${fileName}: truncated: ${bytes.length} bytes is too short for a zip archive`);
  const entries = readZip(bytes, fileName);
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new Error(`${fileName}: expected exactly one '<archive>/data.pkl' entry, found ${pkls.length}`);
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new Error(`${fileName}: big-endian checkpoints are not supported`);
  }

  const storages = new StorageTable((key) => `storage data/${key}`);
  const loadStorage = (pid: unknown): StorageWindow => {
    const storage = storages.resolve(parseStorageId(pid, false));
    if (!storage.bytes) {
      const name = `${prefix}data/${storage.key}`;
      const data = entries.get(name);
      if (!data) throw new Error(`missing storage entry '${name}'`);
      if (data.length < storage.numel * ELEMENT_SIZE[storage.dtype]) {
        throw new Error(
          `storage '${name}' has ${data.length} bytes but ${storage.numel} ${storage.dtype} elements were declared`,
        );
      }
      storage.bytes = data;
    }
    return new StorageWindow(storage, 0, storage.numel);
  };
  const { value } = unpickleTorchObject(entries.get(pkls[0]!)!, 0, fileName, loadStorage);
  return materializeTensors(value, fileName);
}
