/** torch.hub's check_hash for weights files named `<name>-<sha256 prefix>.<ext>`, as torchvision names its downloads. */

import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/**
 * The sha256 prefix a file name carries, or undefined when it carries none.
 *
 * torch.hub takes HASH_REGEX = r'-([a-f0-9]*)\.' from a download's name and checks it only when
 * asked (check_hash=True). Here every file is checked whose name has the shape of torchvision's:
 * after the last '-', 8 to 64 lowercase hex digits and then a '.' that starts the extension
 * (`mobilenet_v3_large-8738ca79.pth`, `shufflenetv2_x1-5666bf0f80.pth`, `x-0123abcd.pth.tar`).
 * All-decimal runs are not taken for hashes, so dates and step counters (`run-20240101.pth`,
 * `checkpoint-00150000.pth.tar`) are not checked; a real prefix without a letter (2% of them) goes
 * unchecked too, which only loses the check.
 */
export function hubHashPrefix(path: string): string | undefined {
  const m = /-([0-9a-f]{8,64})\.[^-]*$/.exec(basename(path));
  return m && /[a-f]/.test(m[1]!) ? m[1] : undefined;
}

/** Throws, naming the file, when its name carries a sha256 prefix (see hubHashPrefix) that its bytes do not have. */
export function checkHubHash(bytes: Uint8Array, path: string): void {
  const prefix = hubHashPrefix(path);
  if (prefix === undefined) return;
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (!digest.startsWith(prefix)) {
    throw new Error(
      `${path}: the name says its sha256 starts with ${prefix}, but it is ${digest}: the download is corrupt ` +
        'or the file was renamed (`checkHash: false` skips this check)',
    );
  }
}
