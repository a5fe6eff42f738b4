/**
 * The `sfbulk` executable: runs the command line and exits with its code.
 */
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"

const code = await Effect.runPromise(run(process.argv))
process.exitCode = code
// Anything still holding the event loop (an idle keep-alive socket) must not keep the shell waiting.
setTimeout(() => process.exit(code), 50).unref()
