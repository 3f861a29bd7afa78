/** Entry point of the `mobilezoo` command (bin/mobilezoo.js imports the compiled form of this file). */
import { runCli } from './program.js';

// Output piped into `head` and the like: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Worker threads and ONNX Runtime normally let the process end by itself; never hang on a stray handle.
setTimeout(() => process.exit(code), 3000).unref();
