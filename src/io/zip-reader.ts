/**
 * Reading zip archives in place: the central directory gives each entry's name, method and sizes, and an
 * entry is inflated only when asked for, only as far as asked (a prefix), and never past the size the
 * directory declares: fflate's streaming Inflate is fed a few kilobytes at a time and the output counted
 * as it comes, so a zip bomb is refused after a few megabytes, not after it has expanded.
 */
import { Inflate } from 'fflate';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  /** The uncompressed size the central directory declares. */
  size: number;
  /** Offset of the entry's (compressed) data in the archive. */
  dataStart: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_U32 = 0xffffffff;
/** Compressed bytes fed to the inflater at once: a deflate stream expands at most ~1032:1, so ~4 MB out. */
const INFLATE_CHUNK = 4096;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b;
}

function isUnsafeEntryName(name: string): boolean {
  return name.startsWith('/') || name.includes('\\') || /^[a-zA-Z]:/.test(name) || name.split('/').some((part) => part === '..');
}

/** The archive's entries, checked: safe unique names, supported methods, data inside the file. */
export function zipEntries(bytes: Uint8Array, fileName: string): Map<string, ZipEntry> {
  const fail = (msg: string): never => {
    throw new Error(`${fileName}: ${msg}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? fail(`not a readable zip archive: a size or offset of ${v}`) : Number(v);
  };
  const within = (at: number, n: number, what: string) => {
    if (at < 0 || at + n > bytes.length) fail(`not a readable zip archive (truncated or corrupt?): ${what} at byte ${at} lies outside the ${bytes.length}-byte file`);
  };

  // The end-of-central-directory record: the last 22 bytes, or further back by a comment of up to 64 KiB.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('not a readable zip archive (truncated or corrupt?): no end-of-central-directory record');
  let count = u16(eocd + 10);
  let offset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const z = u64(eocd - 12);
    within(z, 56, 'the zip64 end-of-central-directory record');
    if (u32(z) !== ZIP64_EOCD) fail('not a readable zip archive: bad zip64 end-of-central-directory record');
    count = u64(z + 32);
    offset = u64(z + 48);
  }

  const entries = new Map<string, ZipEntry>();
  let at = offset;
  for (let i = 0; i < count; i++) {
    within(at, 46, `central directory entry ${i}`);
    if (u32(at) !== CENTRAL) fail(`not a readable zip archive: central directory entry ${i} at byte ${at} has a bad signature`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let local = u32(at + 42);
    within(at + 46, nameLength + extraLength + commentLength, `central directory entry ${i}'s name`);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLength);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(rawName);
    // Zip64: the fields that hold 0xFFFFFFFF are in the 0x0001 extra field, in this order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = u16(e);
      const n = u16(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        const next = () => {
          if (p + 8 > e + 4 + n) fail(`zip entry '${name}': short zip64 extra field`);
          const v = u64(p);
          p += 8;
          return v;
        };
        if (size === MAX_U32) size = next();
        if (compressedSize === MAX_U32) compressedSize = next();
        if (local === MAX_U32) local = next();
      }
      e += 4 + n;
    }
    if (isUnsafeEntryName(name)) fail(`refusing zip entry with unsafe path '${name}'`);
    if (entries.has(name)) fail(`duplicate zip entry '${name}'`);
    if (flags & 1) fail(`zip entry '${name}' is encrypted`);
    if (method !== 0 && method !== 8) fail(`zip entry '${name}': unsupported compression method ${method}`);
    if (method === 0 && compressedSize !== size) fail(`zip entry '${name}' is stored with ${compressedSize} bytes but declares ${size}`);
    within(local, 30, `zip entry '${name}''s local header`);
    if (u32(local) !== LOCAL) fail(`not a readable zip archive: zip entry '${name}''s local header has a bad signature`);
    const dataStart = local + 30 + u16(local + 26) + u16(local + 28);
    within(dataStart, compressedSize, `zip entry '${name}''s ${compressedSize} bytes of data`);
    entries.set(name, { name, method, compressedSize, size, dataStart });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The first `upTo` bytes (at most the declared size) of an entry's content: a view for a stored entry,
 * else inflated a chunk at a time, stopping once `upTo` bytes are out. Inflating past the declared size,
 * or ending short of `upTo`, is an error.
 */
export function zipEntryBytes(bytes: Uint8Array, entry: ZipEntry, upTo: number, fileName: string): Uint8Array {
  const { name, size, dataStart, compressedSize } = entry;
  if (upTo > size) throw new Error(`${fileName}: zip entry '${name}' holds ${size} bytes, ${upTo} are needed`);
  const data = bytes.subarray(dataStart, dataStart + compressedSize);
  if (entry.method === 0) return data.subarray(0, upTo);
  const out = new Uint8Array(upTo);
  let produced = 0;
  const inflater = new Inflate((chunk) => {
    if (produced + chunk.length > size) throw new Error(`${fileName}: zip entry '${name}' inflates to more than the ${size} bytes it declares; refusing`);
    if (produced < upTo) out.set(chunk.subarray(0, Math.min(chunk.length, upTo - produced)), produced);
    produced += chunk.length;
  });
  try {
    for (let p = 0; p < data.length && produced < upTo; p += INFLATE_CHUNK) {
      inflater.push(data.subarray(p, p + INFLATE_CHUNK), p + INFLATE_CHUNK >= data.length);
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw msg.startsWith(`${fileName}:`) ? e : new Error(`${fileName}: zip entry '${name}' does not inflate (corrupt?): ${msg}`);
  }
  if (produced < upTo) throw new Error(`${fileName}: zip entry '${name}' is truncated (${produced} of ${size} bytes)`);
  return out;
}
