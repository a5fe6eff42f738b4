/**
 * Spans are named one way on both APIs: each public Bulk1/Bulk2 call is a `Bulk1.<call>` /
 * `Bulk2.<call>` span carrying `sfbulk.job_id` (and `sfbulk.batch_id` on 1.0 batch calls).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Bulk1, Bulk2, BulkClient, SalesforceAuth, Transport } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

let emu: Awaited<ReturnType<typeof Emulator.start>>
let layer: Layer.Layer<Transport.Transport>

beforeAll(async () => {
  emu = await Emulator.start({ latencyMs: 1 })
  layer = Transport.layer().pipe(
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
  const attrs = (name: string) => Object.fromEntries(spans.find((s) => s.name === name)?.attributes ?? [])
  const all = (name: string) => spans.filter((s) => s.name === name).map((s) => Object.fromEntries(s.attributes))
  return { tracer, attrs, all }
}

describe("spans", () => {
  it("Bulk1 calls: Bulk1.<call> with sfbulk.job_id and sfbulk.batch_id", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const { tracer, attrs } = recording()
        yield* Effect.gen(function*() {
          const job = yield* Bulk1.createJob({ object: "Account", operation: "insert", contentType: "CSV" })
          const batch = yield* Bulk1.addBatch(job, "Name\nspan one\n")
          yield* Bulk1.closeJob(job.id)
          yield* Bulk1.waitForBatch(job, batch.id)
          yield* Bulk1.jobInfo(job.id)
          yield* Bulk1.batchInfo(job.id, batch.id)
          yield* Bulk1.listBatches(job.id)
          yield* Stream.runDrain(Bulk1.batchResults(job, batch.id))
          expect(attrs("Bulk1.createJob")).toMatchObject({ "sfbulk.object": "Account", "sfbulk.operation": "insert" })
          for (const name of ["Bulk1.jobInfo", "Bulk1.listBatches", "Bulk1.closeJob"]) {
            expect(attrs(name)).toMatchObject({ "sfbulk.job_id": job.id })
          }
          for (const name of ["Bulk1.batchInfo", "Bulk1.waitForBatch", "Bulk1.batchResults"]) {
            expect(attrs(name)).toMatchObject({ "sfbulk.job_id": job.id, "sfbulk.batch_id": batch.id })
          }
        }).pipe(Effect.withTracer(tracer))
      }).pipe(Effect.provide(layer))
    ))

  it("Bulk2 calls: Bulk2.<call> with sfbulk.job_id", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const { tracer, attrs } = recording()
        yield* Effect.gen(function*() {
          const job = yield* Bulk2.createIngestJob({ object: "Account", operation: "insert" })
          yield* Bulk2.uploadJobData(job, "Name\nspan two\n")
          yield* Bulk2.closeIngestJob(job.id)
          yield* Bulk2.waitForIngestJob(job.id)
          yield* Bulk2.getIngestJob(job.id)
          for (const name of ["Bulk2.upload", "Bulk2.closeIngestJob", "Bulk2.wait", "Bulk2.getIngestJob"]) {
            expect(attrs(name)).toMatchObject({ "sfbulk.job_id": job.id })
          }
        }).pipe(Effect.withTracer(tracer))
      }).pipe(Effect.provide(layer))
    ))
})

// A 1.0 ingest adds its batches through the internal add (no public `Bulk1.addBatch` span and
// scope per batch: MEM7); each batch's upload span, `BulkClient.addBatch`, still names its job, as
// the README says of every upload span, and the piece and records it carries.
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
      }).pipe(Effect.provide(
        BulkClient.layer().pipe(
          Layer.provide(
            SalesforceAuth.fromSession({ instanceUrl: emu.instanceUrl, accessToken: emu.accessToken, apiVersion: emu.apiVersion })
          ),
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.orDie
        )
      ))
    ))
})
