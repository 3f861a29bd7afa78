/**
 * Zips of uncompressed entries whose data start at multiples of 64 bytes, as PyTorch's
 * PyTorchStreamWriter lays them out (so that storages can be memory-mapped): each local header
 * carries an extra field with id 'FB' holding 'Z' padding bytes.
 */

import { zipSync, type Zippable } from 'fflate';

const ALIGNMENT = 64;
const LOCAL_HEADER_BYTES = 30;
const EXTRA_FIELD_HEADER_BYTES = 4;
/** 'F', 'B' read as a little-endian u16. */
const PADDING_FIELD_ID = 0x4246;
/** A fixed timestamp keeps the output a function of the entries alone. */
const MTIME = new Date(1980, 0, 1);
/** Without zip64, offsets and sizes are 32-bit. */
const MAX_ZIP_BYTES = 0xffffffff;

export function alignedStoredZip(entries: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const files: Zippable = {};
  for (const [name, data] of entries) files[name] = [data, {}];
  // fflate writes entries in the object's key order, which is not always insertion order
  // (integer-like keys come first), so the padding is computed in that order.
  let cursor = 0;
  for (const name of Object.keys(files)) {
    const data = entries.get(name)!;
    const start = cursor + LOCAL_HEADER_BYTES + utf8Length(name) + EXTRA_FIELD_HEADER_BYTES;
    const padding = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    files[name] = [data, { level: 0, mtime: MTIME, extra: { [PADDING_FIELD_ID]: new Uint8Array(padding).fill(0x5a) } }];
    cursor = start + padding + data.length;
  }
  if (cursor > MAX_ZIP_BYTES) {
    throw new Error(`zip entries take ${cursor} bytes; more than 4 GiB needs zip64, which this writer does not write`);
  }
  return zipSync(files);
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
