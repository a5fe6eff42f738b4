/**
 * Found by breaking (helper BREAKDATA, kill trials under `lost-answer`): resuming a 1.0 journal
 * whose batch POST was in flight reads that batch's request from Salesforce to recognise it; an
 * answer cut midway failed the whole resume (exit 12) instead of being read again.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, expect, it } from "@effect/vitest"
import { Bulk1, BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

let emu: Awaited<ReturnType<typeof Emulator.start>>
beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 2 })
})
afterAll(async () => {
  await emu?.close()
})

const layer = () =>
  Layer.provideMerge(Layer.effect(BulkClient.BulkClient, BulkClient.make), Bulk1.layer()).pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )

it.live("a batch whose POST was in flight is recognised even when reading its request is cut off", () =>
  Effect.gen(function*() {
    const tag = "BreakJournalCut"
    const rows = Array.from({ length: 200 }, (_, i) => ({ Name: `${tag} ${i}` }))
    const body = "Name\n" + rows.map((r) => r.Name).join("\n") + "\n"
    // the process "died" after this POST reached Salesforce and before its answer was journaled
    const job = yield* Bulk1.createJob({ object: "Account", operation: "insert" })
    yield* Bulk1.addBatch(job, body)
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-break-"))
    const journal = Path.join(dir, "j.jsonl")
    Fs.writeFileSync(
      journal,
      JSON.stringify({ v: 1, object: "Account", operation: "insert", api: "1.0" }) + "\n" +
        JSON.stringify({
          stage: "created",
          jobId: job.id,
          ranges: [[0, 200]],
          sha256: Crypto.createHash("sha256").update(body).digest("hex")
        }) + "\n"
    )
    // half of the answers to "GET the batch's request" are cut midway (seeded: the one read to recognise the batch is)
    emu.setFaults("lost-answer=0.5", { seed: 7, match: "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/request" })
    const before = emu.stats().faults["lost-answer"]
    const outcome = yield* BulkClient.insert("Account", rows, { api: "1.0", journal })
    emu.setFaults(undefined)
    expect(emu.stats().faults["lost-answer"] - before).toBeGreaterThan(0)
    expect(outcome.summary.succeeded).toBe(200)
    const q = emu.org.query(`SELECT Name FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
    expect(q.ok && q.result.size).toBe(200)
  }).pipe(Effect.provide(layer()), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined)))), 60_000)
