/**
 * A command refused before it did anything, because of what the user asked for (an output that would
 * replace an input, a folder another run holds, files that are not ours): the CLI prints the message
 * and exits 2, as for a bad flag.
 */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}
