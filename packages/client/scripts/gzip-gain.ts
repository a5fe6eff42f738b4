/** Measures what gzip request bodies save on a ~9 MB account CSV batch (run: npx tsx scripts/gzip-gain.ts). */
import * as Bulk1 from "../src/Bulk1.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Zlib from "node:zlib"
const rows: Array<string> = ["Name,AccountNumber,Site,BillingCity,Phone,Description"]
let size = 0
for (let i = 0; size < 9_500_000; i++) {
  const line = `"Account ${i} Holdings",AN-${100000 + i},Site ${i % 97},City ${i % 311},+1 555 ${
    String(i).padStart(7, "0")
  },"Customer since ${2000 + (i % 25)}; tier ${i % 5}"`
  rows.push(line)
  size += line.length + 1
}
const csv = rows.join("\n") + "\n"
const bytes = new TextEncoder().encode(csv)
let t = performance.now()
const gz = Zlib.gzipSync(bytes, { level: 6 })
const gzMs = performance.now() - t
console.log(
  `CSV ${rows.length - 1} rows, ${(bytes.length / 1048576).toFixed(2)} MiB -> gzip ${(gz.length / 1048576).toFixed(2)} MiB (${
    (100 * gz.length / bytes.length).toFixed(1)
  }%), gzip time ${gzMs.toFixed(0)} ms`
)
const emu = await Emulator.start({ latencyMs: 5 })
for (const gzip of [false, true, false, true]) {
  const layer = Bulk1.layer({ gzipRequests: gzip }).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })),
    Layer.orDie
  )
  const ms = await Effect.runPromise(
    Effect.gen(function*() {
      const job = yield* Bulk1.createInsertJob("Account")
      const start = performance.now()
      yield* Bulk1.addBatch(job, bytes)
      const took = performance.now() - start
      yield* Bulk1.abortJob(job)
      return took
    }).pipe(Effect.provide(layer))
  )
  console.log(`upload gzip=${gzip}: ${ms.toFixed(0)} ms (loopback)`)
}
await emu.close()
