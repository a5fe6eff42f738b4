/**
 * MEM7: a 1.0 ingest adds its batches through the internal add (no public `Bulk1.addBatch` span and
 * scope per batch); each batch's upload span, `BulkClient.addBatch`, still names its job, as the
 * README says of every upload span, and the piece and records it carries.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<BulkClient.BulkClient>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 1 })
  layer = BulkClient.layer().pipe(
    Layer.provide(SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.orDie
  )
})
afterAll(async () => {
  await emu?.close()
})

const recording = () => {
  const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
  const all = (name: string) => spans.filter((s) => s.name === name).map((s) => Object.fromEntries(s.attributes))
  let n = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, _startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      return {
        _tag: "Span",
        name,
        spanId: `s${++n}`,
        traceId: "t",
        parent,
        context,
        links,
        kind,
        sampled: true,
        status: { _tag: "Started", startTime: 0n },
        attributes,
        end: () => {},
        attribute: (k, v) => void attributes.set(k, v),
        event: () => {},
        addLinks: () => {}
      } satisfies Tracer.Span
    },
    context: (f) => f()
  })
  return { tracer, all }
}

describe("1.0 ingest spans", () => {
  it("one BulkClient.addBatch span per batch, with the job id, piece and records", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const { all, tracer } = recording()
        const rows = Array.from({ length: 25 }, (_, i) => ({ Name: `span ${i}` }))
        const outcome = yield* BulkClient.insert("Account", Stream.fromIterable(rows), { api: "1.0", batchSize: 10 }).pipe(
          Effect.withTracer(tracer)
        )
        expect(outcome.summary.succeeded).toBe(25)
        const uploads = all("BulkClient.addBatch")
        expect(uploads.map((a) => a["sfbulk.records"]).sort()).toEqual([10, 10, 5])
        const jobId = outcome.summary.jobIds[0]
        for (const a of uploads) expect(a["sfbulk.job_id"]).toBe(jobId)
        expect(uploads.map((a) => a["sfbulk.piece"]).sort()).toEqual([0, 1, 2])
      }).pipe(Effect.provide(layer))
    ))
})
