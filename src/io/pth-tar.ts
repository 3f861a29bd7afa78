/**
 * The tar archive that torch.save wrote in the earliest PyTorch releases (members `sys_info`,
 * `pickle`, `tensors`, `storages`): recognized only to refuse it with advice. Only the 512-byte
 * member headers are read; nothing is extracted.
 */

const BLOCK = 512;
const TORCH_MEMBERS = ['pickle', 'tensors', 'storages'];

/** POSIX/GNU tar: 'ustar' at offset 257 of the first header. */
export function isTarArchive(bytes: Uint8Array): boolean {
  return bytes.length >= 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar';
}

/** Names of the first members (at most `max`), stopping at the end marker or at a damaged header. */
function tarMemberNames(bytes: Uint8Array, max = 32): string[] {
  const latin1 = new TextDecoder('latin1');
  const field = (at: number, length: number) => {
    const b = bytes.subarray(at, at + length);
    const nul = b.indexOf(0);
    return latin1.decode(nul < 0 ? b : b.subarray(0, nul));
  };
  const names: string[] = [];
  for (let pos = 0; pos + BLOCK <= bytes.length && names.length < max; ) {
    const name = field(pos, 100);
    const size = Number.parseInt(field(pos + 124, 12).trim() || 'x', 8);
    if (name === '' || !Number.isSafeInteger(size)) break;
    const type = field(pos + 156, 1);
    // Skip pax and GNU long-name records: they describe the next member.
    if (!['x', 'g', 'L', 'K'].includes(type)) names.push(name);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return names;
}

export function refuseTarArchive(bytes: Uint8Array, fileName: string): never {
  const names = tarMemberNames(bytes);
  const listed = names.slice(0, 8).map((n) => JSON.stringify(n.slice(0, 60))).join(', ') + (names.length > 8 ? ', ...' : '');
  if (TORCH_MEMBERS.every((m) => names.includes(m))) {
    throw new Error(
      `${fileName}: this is the tar-archive torch.save format of the earliest PyTorch releases (members ${listed}), ` +
        'which is not supported; load it with PyTorch and save it again: torch.save(torch.load(old), new)',
    );
  }
  throw new Error(`${fileName}: a tar archive (members ${listed || 'none'}), not a torch.save checkpoint`);
}
