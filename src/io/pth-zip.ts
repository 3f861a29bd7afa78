/** Reading the zip checkpoints torch.save writes (PyTorch >= 1.6): `<archive>/data.pkl` plus `<archive>/data/<key>` storages. */

import { ELEMENT_SIZE } from './dtypes.js';
import type { ReadBudget } from './limits.js';
import { StorageTable, StorageWindow, parseStorageId, unpickleTorchObject } from './torch-pickle.js';
import { type ZipEntry, zipEntries, zipEntryBytes } from './zip-reader.js';

export { isZip } from './zip-reader.js';

/**
 * The object a zip checkpoint pickled, its tensors TensorPlans. Only data.pkl (and byteorder) is read
 * now; a storage entry is inflated when a tensor over it is read, and only as far as that tensor needs.
 * torch.save stores entries uncompressed, so usually nothing is inflated at all (entries are views of
 * `bytes`); what a deflated entry inflates to is charged to `budget` first.
 */
export function openZipCheckpointObject(bytes: Uint8Array, fileName: string, budget: ReadBudget): unknown {
  if (bytes.length < 22) throw new Error(`${fileName}: truncated: ${bytes.length} bytes is too short for a zip archive`);
  const entries = zipEntries(bytes, fileName);
  const read = (entry: ZipEntry, n = entry.size): Uint8Array => {
    if (entry.method !== 0) budget.take(n, `${fileName}: zip entry '${entry.name}'`);
    return zipEntryBytes(bytes, entry, n, fileName);
  };
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new Error(`${fileName}: expected exactly one '<archive>/data.pkl' entry, found ${pkls.length}`);
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && (byteorder.size > 16 || new TextDecoder().decode(read(byteorder)).trim() !== 'little')) {
    throw new Error(`${fileName}: big-endian checkpoints are not supported`);
  }

  const storages = new StorageTable((key) => `storage data/${key}`);
  const loadStorage = (pid: unknown): StorageWindow => {
    const storage = storages.resolve(parseStorageId(pid, false));
    if (!storage.load) {
      const name = `${prefix}data/${storage.key}`;
      const entry = entries.get(name);
      if (!entry) throw new Error(`missing storage entry '${name}'`);
      if (entry.size < storage.numel * ELEMENT_SIZE[storage.dtype]) {
        throw new Error(`storage '${name}' has ${entry.size} bytes but ${storage.numel} ${storage.dtype} elements were declared`);
      }
      // The longest prefix inflated so far: a later tensor over the same storage may need more.
      let inflated: Uint8Array | undefined;
      storage.load = (n) => {
        if (!inflated || inflated.length < n) inflated = read(entry, n);
        return inflated;
      };
    }
    return new StorageWindow(storage, 0, storage.numel);
  };
  return unpickleTorchObject(read(entries.get(pkls[0]!)!), 0, { fileName, budget }, loadStorage).value;
}
