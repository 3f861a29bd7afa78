/**
 * Reading the legacy torch.save format (PyTorch < 1.6, and later ones with
 * `_use_new_zipfile_serialization=False`): five pickles back to back (the magic number, the
 * protocol version, sys_info, the object, the list of storage keys), then for each key in that
 * order the storage's element count (8 bytes, little-endian) and its little-endian bytes.
 */

import { ELEMENT_SIZE } from './dtypes.js';
import { MAX_CHECKPOINT_BYTES, type ReadBudget } from './limits.js';
import { describe, unpickleAt } from './pickle.js';
import {
  StorageTable,
  StorageWindow,
  parseStorageId,
  unpickleTorchObject,
  type StorageRef,
} from './torch-pickle.js';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** A pickle's PROTO opcode first: the legacy format (the zip format starts with 'PK'). */
export function isLegacyTorchSave(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5;
}

/** The object a legacy torch.save file pickled, its tensors TensorPlans over views of `bytes`. */
export function openLegacyCheckpointObject(bytes: Uint8Array, fileName: string, budget: ReadBudget): unknown {
  let pos = 0;
  // The header pickles hold plain values: no globals at all.
  const header = (section: string): unknown => {
    const { value, end } = unpickleAt(bytes, pos, { fileName: `${fileName}: ${section}`, globals: new Map() });
    pos = end;
    return value;
  };

  const magic = header('magic number');
  if (magic !== MAGIC_NUMBER) {
    throw new Error(
      `${fileName}: not a torch.save file: its first pickle holds ${describe(magic)}, ` +
        `not torch's magic number 0x${MAGIC_NUMBER.toString(16)} (corrupt, or some other pickle?)`,
    );
  }
  const version = header('protocol version');
  if (version !== PROTOCOL_VERSION) {
    throw new Error(`${fileName}: legacy torch.save protocol version ${describe(version)} is not supported (expected ${PROTOCOL_VERSION})`);
  }
  const sysInfo = header('sys_info');
  if (!(sysInfo instanceof Map)) throw new Error(`${fileName}: sys_info is ${describe(sysInfo)}, not a dict`);
  if (sysInfo.get('little_endian') === false) {
    throw new Error(`${fileName}: written on a big-endian machine (sys_info little_endian is False); not supported`);
  }

  const storages = new StorageTable((key) => `storage '${key}'`);
  const loadStorage = (pid: unknown): StorageWindow => {
    const id = parseStorageId(pid, true);
    const storage = storages.resolve(id);
    return id.viewMetadata === null ? new StorageWindow(storage, 0, storage.numel) : storageView(storage, id.viewMetadata);
  };
  const object = unpickleTorchObject(bytes, pos, { fileName, budget }, loadStorage);
  pos = object.end;

  const keys = header('storage key list');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new Error(`${fileName}: the storage key list is ${describe(keys)}, not a list of strings`);
  }
  // Bytes after the last storage are ignored, as torch.load ignores them.
  readStorageData(bytes, pos, keys, storages, fileName);
  return object.value;
}

/** view_metadata (view_key, offset, view_size): files of PyTorch < 1.0 could save a slice of a storage. */
function storageView(storage: StorageRef, metadata: unknown): StorageWindow {
  const [, offset, size] = Array.isArray(metadata) ? metadata : [];
  if (!Array.isArray(metadata) || metadata.length !== 3 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size) ||
      offset < 0 || size < 0) {
    throw new Error(`view_metadata must be None or (view_key, offset, view_size), got ${describe(metadata)}`);
  }
  if (offset + size > storage.numel) {
    throw new Error(`a view [${offset}, ${offset + size}) of ${storage.label} lies outside its ${storage.numel} elements`);
  }
  return new StorageWindow(storage, offset, size);
}

/** Attaches to each listed storage its bytes (views into `bytes`), checking counts before taking any. */
function readStorageData(bytes: Uint8Array, start: number, keys: string[], storages: StorageTable, fileName: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  // Storages are views of the file, not copies; the limit only keeps the sizes sane.
  let left = MAX_CHECKPOINT_BYTES;
  keys.forEach((key, i) => {
    const storage = storages.get(key);
    const what = `storage '${key}' (${i + 1} of ${keys.length} in the key list)`;
    if (!storage) throw new Error(`${fileName}: the storage key list names '${key}', which no tensor uses`);
    if (storage.load) throw new Error(`${fileName}: the storage key list names '${key}' twice`);
    if (pos + 8 > bytes.length) {
      throw new Error(
        `${fileName}: truncated: ${what} needs 8 bytes for its element count at byte ${pos}, but the file ends at ${bytes.length}`,
      );
    }
    const count = view.getBigUint64(pos, true);
    pos += 8;
    const size = count * BigInt(ELEMENT_SIZE[storage.dtype]);
    if (size > BigInt(left)) {
      throw new Error(
        `${fileName}: ${what} declares ${count} ${storage.dtype} elements, more than the ${MAX_CHECKPOINT_BYTES}-byte limit; refusing`,
      );
    }
    if (count !== BigInt(storage.numel)) {
      throw new Error(`${fileName}: ${what} holds ${count} elements, but the pickle declared ${storage.numel}`);
    }
    const n = Number(size);
    if (pos + n > bytes.length) {
      throw new Error(
        `${fileName}: truncated: ${what} needs ${n} bytes (${count} ${storage.dtype} elements) from byte ${pos}, ` +
          `but the file ends at ${bytes.length}`,
      );
    }
    const data = bytes.subarray(pos, pos + n);
    storage.load = () => data;
    pos += n;
    left -= n;
  });
}
