import * as Bulk1 from "./src/Bulk1.js"
import * as SalesforceAuth from "./src/SalesforceAuth.js"
import { Emulator } from "/work/main/packages/emulator/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
const emu = await Emulator.start({ latencyMs: 5 })
const layer = Bulk1.layer().pipe(Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })), Layer.orDie)
const prog = Effect.gen(function*() {
  const job = yield* Bulk1.createInsertJob("Account")
  return yield* Bulk1.addBatch(job, Bulk1.records([{ Name: "x" }, { Name: "y", Bogus: 1 }], { columns: ["Name"] }))
})
const exit = await Effect.runPromiseExit(Effect.provide(prog, layer).pipe(Effect.timeout("15 seconds")))
console.log(String(exit).slice(0, 1500))
await emu.close()
