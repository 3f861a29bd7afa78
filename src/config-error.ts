/**
 * A bad setting, named as the library names it (`batchSize`, `freeze`). Other settings mentioned in the
 * detail are written in backticks (`optimizer`), so that a front end can name them its own way: the
 * command line shows flags (`--batch-size`, `--optimizer`).
 */
export class ConfigError extends Error {
  constructor(readonly setting: string, readonly detail: string) {
    super(`${setting}: ${detail}`);
    this.name = 'ConfigError';
  }
}
