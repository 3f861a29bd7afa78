/** The rule for file names read from a file (no Node dependencies: the browser sidecar uses it too). */

/**
 * `name` as a file beside the file that names it: a plain name, without a folder part, so it cannot
 * point anywhere else ('../../etc/passwd', '/dev/zero', 'sub/x' are refused). `where` names the
 * referring file and its field, e.g. `run/checkpoint-last.json: files.weights`.
 */
export function plainFileName(name: unknown, where: string): string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new Error(`${where}: ${JSON.stringify(name)} is not a plain file name; a file named by another file must be a name in the same folder (no '/', '\\\\' or '..')`);
  }
  return name;
}
