/**
 * Memory check (not a timed test): insert 1,000,000 rows and query them back through BulkClient
 * against the emulator, sampling the client's heap. The emulator runs in a child process, so
 * `process.memoryUsage().heapUsed` here is the client's alone.
 *
 *   cd packages/client && node --expose-gc --max-old-space-size=96 --import tsx scripts/heap-check.ts [rows] [api]
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { BulkClient, SalesforceAuth } from "../src/index.js"

const N = Number(process.argv[2] ?? 1_000_000)
const api = (process.argv[3] ?? "2.0") as "1.0" | "2.0"
const bin = new URL("../../emulator/src/bin.ts", import.meta.url).pathname
const emulator = spawn(process.execPath, ["--max-old-space-size=6144", "--import", "tsx", bin, "--latency", "5"], {
  stdio: ["ignore", "pipe", "inherit"]
})
const facts = await new Promise<{ instanceUrl: string; accessToken: string; apiVersion: string }>((resolve) => {
  let buf = ""
  emulator.stdout!.on("data", (d) => {
    buf += d
    const nl = buf.indexOf("\n")
    if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)))
  })
})

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
let peak = 0
const sample = () => (peak = Math.max(peak, process.memoryUsage().heapUsed))
const timer = setInterval(sample, 25)
const phase = async <A>(name: string, run: () => Promise<A>): Promise<A> => {
  ;(globalThis as any).gc?.()
  const base = process.memoryUsage().heapUsed
  peak = base
  const t0 = Date.now()
  const out = await run()
  sample()
  console.log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s, heap at start ${mb(base)}, peak ${mb(peak)}`)
  return out
}

const layer = BulkClient.layer().pipe(
  Layer.provide(SalesforceAuth.fromSession(facts)),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.orDie
)
const rows = Stream.iterate(0, (i) => i + 1).pipe(
  Stream.take(N),
  Stream.map((i) => ({ Name: `Heap ${i}`, ExternalId__c: `heap-${i}`, NumberOfEmployees: i % 5000, Description: "x".repeat(40) }))
)
const poll = { pollSchedule: Schedule.spaced("200 millis") }

const summary = await phase(
  `insert ${N} rows (api ${api})`,
  () => Effect.runPromise(Effect.provide(Effect.map(BulkClient.insert("Account", rows, { ...poll, api }), (o) => o.summary), layer))
)
console.log(
  `  summary: read ${summary.rowsRead}, succeeded ${summary.succeeded}, failed ${summary.failed}, jobs ${summary.jobIds.length}, batches ${summary.batchIds.length}`
)
const count = await phase(
  `query ${N} rows (api ${api})`,
  () =>
    Effect.runPromise(
      Effect.provide(
        Stream.runCount(BulkClient.query("SELECT Id, Name, ExternalId__c, NumberOfEmployees, Description FROM Account", { ...poll, api })),
        layer
      )
    )
)
console.log(`  rows streamed: ${count}`)
clearInterval(timer)
emulator.kill("SIGTERM")
