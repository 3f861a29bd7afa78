/**
 * A restricted unpickler for the pickles torch.save writes (protocol 2, plus the
 * few protocol 3-5 opcodes a state_dict can contain).
 *
 * Nothing from the file is ever executed: GLOBAL/STACK_GLOBAL only resolve names
 * found in the caller's allow-list, and REDUCE/NEWOBJ only call the JS
 * implementations given there.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint when
 * beyond 2^53), float → number, str → string, bytes → Uint8Array, tuple/list →
 * array, dict → Map (insertion order kept).
 */

/** A resolved, allow-listed global. `call` is absent for names that are only type markers. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: unknown[]) => unknown,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Allow-list entry: a JS implementation, or null for a name that may be referenced but not called. */
export type GlobalImpl = ((args: unknown[]) => unknown) | null;

export interface UnpickleOptions {
  /** Used in every error message. */
  fileName: string;
  /** Keyed by 'module.name'. Anything not listed is refused. */
  globals: ReadonlyMap<string, GlobalImpl>;
  /** BINPERSID handler; without it persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
}

/** Globals every pickled dict-like object may need. */
export const BASE_GLOBALS: ReadonlyMap<string, GlobalImpl> = new Map<string, GlobalImpl>([
  ['collections.OrderedDict', orderedDict],
]);

function orderedDict(args: unknown[]): Map<unknown, unknown> {
  const d = new Map<unknown, unknown>();
  const items = args[0];
  if (items === undefined) return d;
  if (items instanceof Map) return new Map(items);
  if (!Array.isArray(items)) throw new Error('OrderedDict() argument must be a list of pairs');
  for (const pair of items) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error('OrderedDict() items must be pairs');
    d.set(pair[0], pair[1]);
  }
  return d;
}

const MARK = Symbol('mark');

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const latin1Decoder = new TextDecoder('latin1');

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return unpickleAt(bytes, 0, options).value;
}

/**
 * The pickle that starts at byte `start` of `bytes`, and the offset just after its STOP
 * (legacy torch.save files are several pickles back to back). Error offsets count from `bytes`.
 */
export function unpickleAt(bytes: Uint8Array, start: number, options: UnpickleOptions): { value: unknown; end: number } {
  const { fileName, globals, persistentLoad } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string, at = pos): never => {
    throw new Error(`${fileName}: pickle: ${msg} (at byte ${at})`);
  };
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.length) {
      fail(`truncated: needs ${n} more bytes but only ${bytes.length - pos} remain`);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), pos);
  const utf8 = (n: number) => {
    const b = take(n); // outside the try: a truncation is not an encoding error
    try {
      return textDecoder.decode(b);
    } catch {
      return fail('invalid UTF-8 in string');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: unterminated GLOBAL name');
    const s = latin1Decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };

  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack.pop();
    if (v === MARK) fail('unexpected MARK on the stack');
    return v;
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('no MARK on the stack');
    stack = prev!;
    return items;
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo key ${i} is not defined`);
    return memo.get(i);
  };
  const asDict = (v: unknown): Map<unknown, unknown> =>
    v instanceof Map ? v : fail(`expected a dict, got ${describe(v)}`);
  const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : fail(`expected a list, got ${describe(v)}`));
  const findGlobal = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!globals.has(qualified)) {
      throw new Error(
        `${fileName}: refusing to load global '${qualified}' (only state_dict globals are allowed; nothing was executed)`,
      );
    }
    return new PyGlobal(module, name, globals.get(qualified) ?? undefined);
  };
  const call = (callable: unknown, args: unknown, opcode: string): unknown => {
    if (!(callable instanceof PyGlobal) || !callable.call) {
      return fail(`${opcode}: ${describe(callable)} is not callable`);
    }
    if (!Array.isArray(args)) return fail(`${opcode}: arguments must be a tuple, got ${describe(args)}`);
    try {
      return callable.call(args);
    } catch (e) {
      return fail(`${callable.qualifiedName}: ${(e as Error).message}`);
    }
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol', at);
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length !== 0) fail('STOP with an unbalanced stack', at);
        return { value: pop(), end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n > 1024) fail(`LONG4 of ${n} bytes is not a plausible state_dict value`, at);
        stack.push(long(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(latin1Decoder.decode(take(view.getInt32(need(4), true))));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1Decoder.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x6c: // LIST
      case 0x74: { // TUPLE
        const items = popMark(); // before touching `stack`: popMark replaces it
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items', at);
        const d = new Map<unknown, unknown>();
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        asDict(top()).set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items', at);
        const d = asDict(top());
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        asList(top()).push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = asList(top());
        for (const item of items) list.push(item);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(findGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(call(pop(), args, 'REDUCE'));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args, 'NEWOBJ'));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        // Python instance attributes (e.g. a state_dict's `_metadata`) carry no tensor data.
        if (!(obj instanceof Map) && !isBuildable(obj)) {
          fail(`BUILD on unsupported object ${describe(obj)} with state ${describe(state)}`, at);
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!persistentLoad) fail('persistent ids are not allowed here', at);
        try {
          stack.push(persistentLoad!(pid));
        } catch (e) {
          fail(`persistent id: ${(e as Error).message}`, at);
        }
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} ('${String.fromCharCode(op)}')`, at);
    }
  }
}

/** Objects returned by allow-listed globals that may receive BUILD state (ignored). */
function isBuildable(obj: unknown): boolean {
  return typeof obj === 'object' && obj !== null && !Array.isArray(obj) && !(obj instanceof Uint8Array) && !(obj instanceof PyGlobal);
}

/** A short Python-ish description of an unpickled value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `tuple/list of ${v.length}`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Uint8Array) return `bytes of ${v.length}`;
  if (v instanceof PyGlobal) return `global '${v.qualifiedName}'`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}
