/**
 * Resume when a process died while a Bulk API 1.0 batch was being sent: the journal records the
 * batch "created" before its POST, so a re-run looks at the job's batches and neither loses the rows
 * (the batch never arrived) nor sends them twice (it did).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient, SalesforceAuth, Transport } from "../packages/client/src/index.js"
import { Emulator } from "../packages/emulator/src/index.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { accounts, type Emu, storedByKey } from "./FaultsSupport.js"

let emu: Emu
let layer: Layer.Layer<BulkClient.BulkClient | Transport.Transport>
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-inflight-"))
const N = 900
const PIECE = 300

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 10 })
  const auth = SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken })
  layer = Layer.mergeAll(BulkClient.layer(), Bulk1.layer()).pipe(
    Layer.provide(auth),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

/** A journal as a process leaves it when killed during the POST of the first batch of `jobId`. */
const diedWhileSending = (journal: string, jobId: string) =>
  Fs.writeFileSync(
    journal,
    [
      { v: 1, object: "Account", operation: "insert", api: "1.0" },
      { stage: "created", jobId, ranges: [[0, PIECE]] }
    ].map((l) => JSON.stringify(l)).join("\n") + "\n"
  )

describe("a 1.0 batch in flight when the process died", () => {
  for (const arrived of [true, false]) {
    it(`${arrived ? "arrived" : "never arrived"}: the re-run stores every row exactly once`, async () => {
      const tag = `inflight${arrived ? "A" : "N"}`
      const rows = accounts(tag, N).map(({ Name, ExternalId__c }) => ({ Name, ExternalId__c }))
      const journal = Path.join(dir, `${tag}.jsonl`)
      await Effect.runPromise(
        Effect.gen(function*() {
          const job = yield* Bulk1.createInsertJob("Account", { contentType: "CSV" })
          if (arrived) yield* Bulk1.addBatch(job, Bulk1.records(rows.slice(0, PIECE), { columns: ["Name", "ExternalId__c"] }))
          diedWhileSending(journal, job.id)
          const outcome = yield* BulkClient.insert("Account", rows, {
            api: "1.0",
            journal,
            concurrency: 1,
            batchSize: PIECE,
            pollSchedule: Schedule.spaced("20 millis")
          })
          expect(outcome.summary).toMatchObject({ rowsRead: N, succeeded: N, failed: 0, unprocessed: 0 })
          if (arrived) expect(outcome.summary.jobIds).toContain(job.id)
        }).pipe(Effect.provide(layer))
      )
      const stored = storedByKey(emu, tag)
      expect(stored.size).toBe(N)
      expect([...stored.values()].every((c) => c === 1)).toBe(true)
    }, 30_000)
  }
})
