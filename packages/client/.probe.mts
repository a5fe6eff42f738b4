import * as Bulk1 from "./src/Bulk1.js"
import * as SalesforceAuth from "./src/SalesforceAuth.js"
import { Emulator } from "/work/main/packages/emulator/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
const emu = await Emulator.start({ latencyMs: 5 })
const layer = Bulk1.layer().pipe(Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })), Layer.orDie)
const which = process.argv[2]
const prog = Effect.gen(function*() {
  const job = yield* Bulk1.createInsertJob("Account")
  if (which === "a") return yield* Bulk1.addBatch(job, `Name\nx\n`)
  if (which === "b") return yield* Bulk1.addBatch(job, Stream.make(new TextEncoder().encode(`Name\nb\n`)))
  if (which === "c") return yield* Bulk1.addBatch(job, [{ Name: "c" }])
  return yield* Bulk1.addBatch(job, Bulk1.records(Stream.make({ Name: "d" }), { columns: ["Name"] }))
})
const exit = await Effect.runPromiseExit(Effect.provide(prog, layer).pipe(Effect.timeout("5 seconds")))
console.log(which, String(exit).slice(0, 1500))
await emu.close()
