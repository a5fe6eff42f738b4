import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as BulkClient from "../src/BulkClient.js"
import { makeFake, type FakeOptions } from "./fixtures/fakeBulk2.js"

const setup = (options: FakeOptions = {}) => {
  const fake = makeFake(options)
  const layer = Layer.effect(BulkClient.BulkClient, BulkClient.make).pipe(Layer.provide(fake.layer))
  return { fake, layer }
}

/** A tracer that records every span's name and attributes. */
const recordingTracer = () => {
  const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
  let n = 0
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      const id = String(++n)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id,
        traceId: "t",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: () => {},
        attribute: (k, v) => void attributes.set(k, v),
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

const invariant = (s: BulkClient.Summary) => expect(s.succeeded + s.failed + s.unprocessed).toBe(s.rowsRead)

describe("BulkClient over Bulk API 2.0 (fake HTTP)", () => {
  it.effect("splits a stream into several jobs under maxJobBytes; every row accounted for", () => {
    const { fake, layer } = setup()
    const rows = Array.from({ length: 100 }, (_, i) => ({ Name: i % 10 === 3 ? "" : `Account ${i}`, Seq: i }))
    return Effect.gen(function*() {
      const progress: Array<BulkClient.Progress> = []
      const outcome = yield* BulkClient.insert("Account", rows, {
        maxJobBytes: 300,
        concurrency: 2,
        onProgress: (p) => progress.push(p)
      })
      const s = outcome.summary
      invariant(s)
      expect(s.rowsRead).toBe(100)
      expect(s.jobIds.length).toBeGreaterThan(3)
      expect(s.succeeded).toBe(90)
      expect(s.failed).toBe(10)
      expect(s.created).toBe(90)
      // every uploaded job stayed within the limit, and no row was sent twice or lost
      const bodies = [...fake.jobs.values()].map((j) => j.body!)
      expect(bodies.every((b) => Buffer.byteLength(b) <= 300)).toBe(true)
      const sent = bodies.flatMap((b) => b.trim().split("\n").slice(1))
      expect(sent).toEqual(rows.map((r) => `${r.Name},${r.Seq}`))
      // failures mapped back to their rows, with the parsed error
      const failures = Chunk.toReadonlyArray(yield* Stream.runCollect(outcome.failures))
      expect(failures.map((f) => Number(f.row.Seq)).sort((a, b) => a - b)).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93])
      expect(failures[0]!.code).toBe("REQUIRED_FIELD_MISSING")
      expect(failures[0]!.fields).toEqual(["Name"])
      const successes = Chunk.toReadonlyArray(yield* Stream.runCollect(outcome.successes))
      expect(successes).toHaveLength(90)
      expect(successes.every((x) => x.created && x.id.startsWith("001"))).toBe(true)
      // progress reached the end
      const last = progress[progress.length - 1]!
      expect(last.rowsRead).toBe(100)
      expect(last.rowsUploaded).toBe(100)
      expect(last.recordsProcessed).toBe(100)
      expect(last.piecesDone).toBe(s.jobIds.length)
    }).pipe(Effect.provide(layer))
  })

  it.effect("an impossible counter (more processed than sent) is a ResultMismatchError without reading results", () => {
    const { layer } = setup({ processedSkew: 1 })
    return Effect.gen(function*() {
      const err = yield* Effect.flip(BulkClient.insert("Account", [{ Name: "a" }, { Name: "b" }]))
      expect(err._tag).toBe("ResultMismatchError")
      expect((err as any).jobId).toMatch(/^750/)
      expect((err as any).expected).toBe(2)
      expect((err as any).got).toBe(3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("verifyResults: Salesforce counts that disagree with the results are a ResultMismatchError naming the gap", () => {
    const { layer } = setup({ processedSkew: 1 })
    return Effect.gen(function*() {
      const err = yield* Effect.flip(BulkClient.insert("Account", [{ Name: "a" }, { Name: "b" }], { verifyResults: true }))
      expect(err._tag).toBe("ResultMismatchError")
      expect((err as any).expected).toBe(3)
      expect((err as any).got).toBe(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("typed rows: the Schema fixes the columns and encodes values; bad rows are rejected with row and field", () => {
    const { fake, layer } = setup()
    const Acc = Schema.Struct({
      Name: Schema.String,
      Founded: Schema.Date,
      Employees: Schema.NullOr(Schema.Number),
      Active: Schema.Boolean
    })
    return Effect.gen(function*() {
      const outcome = yield* BulkClient.insert("Account", [
        { Name: "A", Founded: new Date("2020-01-02T00:00:00Z"), Employees: null, Active: true }
      ], { schema: Acc })
      invariant(outcome.summary)
      expect([...fake.jobs.values()][0]!.body).toBe("Name,Founded,Employees,Active\nA,2020-01-02T00:00:00.000Z,#N/A,true\n")
      const err = yield* Effect.flip(BulkClient.insert(
        "Account",
        Stream.fromIterable([
          { Name: "A", Founded: new Date(), Employees: 1, Active: true },
          { Name: "B", Founded: new Date(), Employees: "x" as any, Active: true }
        ]),
        { schema: Acc }
      ))
      expect(err._tag).toBe("InvalidInputError")
      expect((err as any).row).toBe(1)
      expect((err as any).field).toBe("Employees")
    }).pipe(Effect.provide(layer))
  })

  it.effect("delete takes ids; options the API cannot honour are rejected up front", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      async function* ids() {
        yield "001000000000001"
        yield "001000000000002"
      }
      const outcome = yield* BulkClient.delete("Account", ids())
      invariant(outcome.summary)
      expect(outcome.summary.rowsRead).toBe(2)
      expect([...fake.jobs.values()][0]!.body).toBe("Id\n001000000000001\n001000000000002\n")
      expect((yield* Effect.flip(BulkClient.insert("Account", [{ Name: "x" }], { api: "1.0", columnDelimiter: "PIPE" })))._tag).toBe(
        "InvalidInputError"
      )
      expect((yield* Effect.flip(BulkClient.insert("Account", [{ Name: "x" }], { maxJobBytes: 200_000_000 })))._tag).toBe(
        "InvalidInputError"
      )
      // a single id string is not a list of ids (a string is iterable, character by character)
      expect((yield* Effect.flip(BulkClient.delete("Account", "001A" as any)))._tag).toBe("InvalidInputError")
      expect(fake.jobs.size).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.live("a failed upload is retried on a fresh job from the spool file: nothing lost, nothing doubled", () => {
    const { fake, layer } = setup({ failPuts: 1 })
    const rows = Array.from({ length: 30 }, (_, i) => ({ Name: `R${i}` }))
    return Effect.gen(function*() {
      const outcome = yield* BulkClient.insert("Account", rows, { maxJobBytes: 60 })
      invariant(outcome.summary)
      expect(outcome.summary.succeeded).toBe(30)
      // the job whose upload failed was aborted; its piece went to a new job
      const states = [...fake.jobs.values()].map((j) => j.state)
      expect(states.filter((s) => s === "Aborted")).toHaveLength(1)
      const uploaded = [...fake.jobs.values()].filter((j) => j.body !== undefined).flatMap((j) => j.body!.trim().split("\n").slice(1))
      const byNumber = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1))
      expect(uploaded.sort(byNumber)).toEqual(rows.map((r) => r.Name))
      expect(outcome.summary.jobIds.every((id) => fake.jobs.get(id)!.state === "JobComplete")).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("an empty input is a typed error before any request; with allowEmpty it creates no job and reports zeros", () => {
    const { fake, layer } = setup()
    return Effect.gen(function*() {
      const err = yield* Effect.flip(BulkClient.insert("Account", []))
      expect(err).toMatchObject({ _tag: "InvalidInputError" })
      expect((err as { what: string }).what).toMatch(/no rows: nothing to upload/)
      expect(fake.log).toEqual([])
      const outcome = yield* BulkClient.insert("Account", [], { allowEmpty: true })
      expect(outcome.summary.rowsRead).toBe(0)
      expect(outcome.summary.jobIds).toEqual([])
      expect(fake.log).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("typed query: relationship fields nest, values decode, sequential = parallel", () => {
    const queryRows = Array.from(
      { length: 7 },
      (_, i) => ({ Id: `003${i}`, Age: String(20 + i), "Account.Name": i === 2 ? "" : `Acc ${i}` })
    )
    const { layer } = setup({ queryRows, pageSize: 2 })
    const Contact = Schema.Struct({ Id: Schema.String, Age: Schema.Number, Account: Schema.NullOr(Schema.Struct({ Name: Schema.String })) })
    return Effect.gen(function*() {
      const seq = Chunk.toReadonlyArray(
        yield* Stream.runCollect(BulkClient.query("SELECT Id, Age, Account.Name FROM Contact", { schema: Contact }))
      )
      const par = Chunk.toReadonlyArray(
        yield* Stream.runCollect(BulkClient.query("SELECT Id, Age, Account.Name FROM Contact", { schema: Contact, concurrency: 3 }))
      )
      expect(seq).toHaveLength(7)
      expect(seq[0]).toEqual({ Id: "0030", Age: 20, Account: { Name: "Acc 0" } })
      expect(seq[2]!.Account).toBeNull()
      expect(par).toEqual(seq)
    }).pipe(Effect.provide(layer))
  })

  it.effect("every job, upload, poll and download is a span carrying the job id", () => {
    const { layer } = setup()
    const { tracer, spans } = recordingTracer()
    return Effect.gen(function*() {
      const outcome = yield* BulkClient.insert("Account", [{ Name: "a" }, { Name: null }], { maxJobBytes: 10 })
      invariant(outcome.summary)
      const [jobA, jobB] = outcome.summary.jobIds
      // results are downloaded only when an outcome stream is read
      expect(spans.some((s) => s.name === "Bulk2.successfulResults")).toBe(false)
      expect(Chunk.size(yield* Stream.runCollect(outcome.successes))).toBe(1)
      const withJob = (name: string) => spans.filter((s) => s.name === name).map((s) => s.attributes.get("sfbulk.job_id")).sort()
      expect(withJob("Bulk2.upload")).toEqual([jobA, jobB].sort())
      expect(withJob("Bulk2.poll").length).toBeGreaterThanOrEqual(2)
      expect(new Set(withJob("Bulk2.poll"))).toEqual(new Set([jobA, jobB]))
      expect(withJob("Bulk2.createIngestJob")).toEqual([jobA, jobB].sort())
      expect(withJob("Bulk2.successfulResults")).toEqual([jobA, jobB].sort())
      expect(spans.some((s) => s.name === "BulkClient.ingest")).toBe(true)
      expect(Option.isSome(Option.fromNullable(spans.find((s) => s.name === "BulkClient.job")))).toBe(true)
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer))
  })
})
