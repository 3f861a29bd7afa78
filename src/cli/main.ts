/** Entry point of the `mobilezoo` command (bin/mobilezoo.js imports the compiled form of this file). */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Worker threads and ONNX Runtime normally let the process end by itself; never hang on a stray handle.
setTimeout(() => process.exit(code), 3000).unref();
