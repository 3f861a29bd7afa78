/** Assembling pickles opcode by opcode: protocol 2, what torch.save writes and torch.load(weights_only=True) reads. */

const utf8 = new TextEncoder();

export class PickleWriter {
  private readonly out: number[] = [];

  /** Raw bytes: an opcode and its operands. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  private u32(n: number): this {
    return this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  private raw(s: string): this {
    return this.op(...utf8.encode(s));
  }

  proto(n = 2): this {
    return this.op(0x80, n);
  }
  global(module: string, name: string): this {
    return this.op(0x63).raw(`${module}\n${name}\n`);
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(0x93);
  }
  mark(): this {
    return this.op(0x28);
  }
  /** TUPLE: everything since the last MARK. */
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  /** The shortest of BININT1, BININT2, BININT and LONG1 that holds `n`, as Python's pickler chooses. */
  int(n: number | bigint): this {
    if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new Error(`PickleWriter.int: ${n} is not a safe integer`);
    const v = BigInt(n);
    if (v >= 0n && v < 0x100n) return this.op(0x4b, Number(v));
    if (v >= 0n && v < 0x10000n) return this.op(0x4d, Number(v & 0xffn), Number(v >> 8n));
    if (v >= -(2n ** 31n) && v < 2n ** 31n) return this.op(0x4a).u32(Number(BigInt.asUintN(32, v)));
    const b = longBytes(v);
    return this.op(0x8a, b.length, ...b);
  }
  intTuple(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** BINUNICODE: a UTF-8 str. */
  str(s: string): this {
    const b = utf8.encode(s);
    return this.op(0x58).u32(b.length).op(...b);
  }
  bool(b: boolean): this {
    return this.op(b ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  reduce(): this {
    return this.op(0x52);
  }
  setitems(): this {
    return this.op(0x75);
  }
  binput(i: number): this {
    return this.op(0x71, i);
  }
  binget(i: number): this {
    return this.op(0x68, i);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  stop(): this {
    return this.op(0x2e);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** Python's encode_long: little-endian two's complement in the fewest bytes that keep the sign. */
function longBytes(v: bigint): number[] {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, x));
    out.push(byte);
    x >>= 8n;
    if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) return out;
  }
}
