// Worker thread for heap-check.ts: runs the emulator in its own V8 isolate, so the main thread's
// heap figures are the client's alone.
import { Emulator } from "../../emulator/src/index.js"
import { parentPort } from "node:worker_threads"

const emu = await Emulator.start({ latencyMs: 5 })
parentPort!.postMessage({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })
parentPort!.on("message", async (m) => {
  if (m === "count") parentPort!.postMessage({ count: emu.org.count("Account") })
  if (m === "close") {
    await emu.close()
    process.exit(0)
  }
})
