/**
 * The `sfbulk` executable: runs the command line and exits with its code.
 */
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"
import { ExitCode } from "./ExitCode.js"

let settled = false
// A run whose work stopped without finishing (nothing left on the event loop, the top-level await
// never settled) would otherwise end with Node's own code 13, which is also ResultMismatch's.
process.on("exit", (code) => {
  if (settled || (code !== 0 && code !== 13)) return
  process.stderr.write(
    "\nsfbulk: internal error: the run stopped before it finished (nothing was left to wait for). Rerun with --verbose and report it.\n"
  )
  process.exitCode = ExitCode.Unexpected
})

const code = await Effect.runPromise(run(process.argv))
settled = true
process.exitCode = code
// Anything still holding the event loop (an idle keep-alive socket) must not keep the shell waiting.
setTimeout(() => process.exit(code), 50).unref()
