/**
 * The contract between `BulkClientMock` and the real client: the same scenarios run against the
 * mock and against `BulkClient` over the emulator (real HTTP, both Bulk APIs), and each must give
 * the same observation: summary counts, per-row outcome codes, the records in the org afterwards,
 * or the same error tag and key fields. A test written against the mock then catches the error
 * the real client raises in production.
 *
 * A job aborted from outside while the client waits is the one scenario the mock cannot play: it
 * applies every row at once and has no job to abort. The real client's answer is pinned below,
 * over the emulator only, so that what the mock's documentation promises stays true.
 */
import { describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import { Emulator, Org } from "@sfbulk/emulator"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { BulkClientEmulator, BulkClientMock } from "../src/index.js"

/** The org behind the client under test, to seed records and read them back. */
class TestOrg extends Context.Tag("test/TestOrg")<TestOrg, BulkClientMock.OrgApi>() {}

type Env = BulkClient.BulkClient | TestOrg

const mockLayer: Layer.Layer<Env> = Layer.unwrapEffect(Effect.sync(() => {
  const org = Org.make()
  return Layer.merge(BulkClientMock.layer(org), Layer.succeed(TestOrg, org))
}))

const emulatorLayer: Layer.Layer<Env, unknown> = Layer.effect(TestOrg, Effect.map(Emulator.Emulator, (e) => e.org)).pipe(
  Layer.provideMerge(BulkClientEmulator.layer({ latencyMs: 0 }))
)

const implementations: ReadonlyArray<readonly [string, Layer.Layer<Env, unknown>]> = [
  ["mock", mockLayer],
  ["emulator", emulatorLayer]
]

type Api = "1.0" | "2.0"

/**
 * What a user can observe of an operation, with what legitimately differs between the mock and
 * HTTP removed (ids, job ids, timings, row positions, which 2.0 results cannot carry).
 */
type Observation =
  | {
    readonly _tag: "Outcome"
    readonly summary: Readonly<Record<string, unknown>>
    readonly successes: ReadonlyArray<string>
    readonly failures: ReadonlyArray<string>
    readonly org?: unknown
  }
  | { readonly _tag: "Rows"; readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>; readonly org?: unknown }
  | { readonly _tag: "Error"; readonly error: string; readonly key: Readonly<Record<string, unknown>>; readonly org?: unknown }

/** A row's identity in a scenario: its `Name`, `LastName` or `Id` column, whichever it has. */
const label = (row: Readonly<Record<string, string>>) => row.Name || row.LastName || row.ExternalId__c || row.Id || JSON.stringify(row)

/** An error's tag and the fields a user branches on (ids, paths and timings left out). */
const errorKey = (error: unknown): Observation => {
  const e = error as { readonly _tag?: string } & Record<string, unknown>
  const pick = (...keys: ReadonlyArray<string>) => Object.fromEntries(keys.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]))
  const key = e._tag === "ApiError"
    ? pick("errorCode", "status", "description")
    : e._tag === "JobFailedError"
    ? pick("state", "stateMessage")
    : e._tag === "BatchFailedError"
    ? pick("stateMessage")
    : e._tag === "InvalidInputError"
    ? pick("what", "row", "field")
    : {}
  return { _tag: "Error", error: e._tag ?? String(error), key }
}

const observeOutcome = (outcome: BulkClient.Outcome) =>
  Effect.gen(function*() {
    const successes = yield* Stream.runCollect(outcome.successes)
    const failures = yield* Stream.runCollect(outcome.failures)
    // timing and request counts are the transport's (the mock sends no request), not observations
    const { api: _api, apiRequests: _requests, batchIds, elapsed: _elapsed, jobIds, ...counts } = outcome.summary
    return {
      _tag: "Outcome",
      summary: { ...counts, jobs: jobIds.length, batches: batchIds.length },
      successes: Chunk.toReadonlyArray(successes).map((s) => `${label(s.row)}:${s.created ? "created" : "updated"}`).sort(),
      failures: Chunk.toReadonlyArray(failures).map((f) => `${label(f.row)}:${f.code}:${f.fields.join(",")}`).sort()
    } as const
  })

/** Runs an ingest operation and observes its outcome or its error, then the org through `after`. */
const ingest = (
  run: Effect.Effect<BulkClient.Outcome, unknown, Env>,
  after: Effect.Effect<unknown, never, TestOrg> = Effect.void
): Effect.Effect<Observation, never, Env> =>
  Effect.gen(function*() {
    const observed: Observation = yield* run.pipe(
      Effect.flatMap(observeOutcome),
      Effect.catchAll((e) => Effect.succeed(errorKey(e)))
    )
    const org = yield* after
    return org === undefined ? observed : { ...observed, org }
  })

const rowsOf = (stream: Stream.Stream<BulkClient.QueryRow, unknown, Env>): Effect.Effect<Observation, never, Env> =>
  Stream.runCollect(stream).pipe(
    Effect.map((rows): Observation => ({
      _tag: "Rows",
      rows: Chunk.toReadonlyArray(rows).slice().sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    })),
    Effect.catchAll((e) => Effect.succeed(errorKey(e)))
  )

/** The org's live and deleted records of an object, by their name, with the given fields. */
const records = (object: string, fields: ReadonlyArray<string>, all = true) =>
  Effect.map(TestOrg, (org) => {
    const r = org.query(`SELECT ${fields.join(", ")} FROM ${object}`, { all })
    if (!r.ok) return r.error.errorCode
    const out: Array<string> = []
    for (let i = 0; i < r.result.size; i++) out.push(r.result.row(i).map((v) => String(v)).join("|"))
    return out.sort()
  })

/** Inserts seed records straight into the org; returns their ids. */
const seed = (object: string, rows: ReadonlyArray<Record<string, string>>) =>
  Effect.map(TestOrg, (org) =>
    rows.map((row) => {
      const r = org.apply("insert", object, row)
      if (!r.success) throw new Error(`seed failed: ${JSON.stringify(r.errors)}`)
      return r.id
    }))

const fast = (api: Api) => ({ api, pollSchedule: Schedule.spaced("5 millis") })

interface Scenario {
  readonly name: string
  readonly run: (api: Api) => Effect.Effect<Observation, never, Env>
  /** What both implementations must observe (a subset: `toMatchObject`). */
  readonly expected: (api: Api) => unknown
}

const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "insert",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ Name: "A1", Industry: "Energy" }, { Name: "A2" }], fast(api)),
        records("Account", ["Name", "Industry"])
      ),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 2, processed: 2, succeeded: 2, failed: 0, created: 2, unprocessed: 0 },
      successes: ["A1:created", "A2:created"],
      failures: [],
      org: ["A1|Energy", "A2|null"]
    })
  },
  {
    name: "insert with a mapping (columns renamed and dropped, a constant)",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ nom: "M1", secteur: "Energy", note: "dropped" }, { nom: "M2", secteur: "", note: "" }], {
          ...fast(api),
          mapping: { columns: { Nom: "Name", secteur: "Industry", note: null }, constants: { Description: "from a mapping" } }
        }),
        records("Account", ["Name", "Industry", "Description"])
      ),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 2, processed: 2, succeeded: 2, failed: 0, created: 2, unprocessed: 0 },
      successes: ["M1:created", "M2:created"],
      failures: [],
      org: ["M1|Energy|from a mapping", "M2|null|from a mapping"]
    })
  },
  {
    name: "a mapping that leaves a column unmapped",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ nom: "Never", extra: "x" }], { ...fast(api), mapping: { columns: { nom: "Name" } } }),
        records("Account", ["Name"])
      ),
    expected: () => ({ _tag: "Error", error: "InvalidInputError", key: { field: "extra" }, org: [] })
  },
  {
    name: "update",
    run: (api) =>
      Effect.gen(function*() {
        const [id] = yield* seed("Account", [{ Name: "U1" }])
        return yield* ingest(BulkClient.update("Account", [{ Id: id!, Name: "U1 renamed" }], fast(api)), records("Account", ["Name"]))
      }),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 1, succeeded: 1, failed: 0 },
      failures: [],
      org: ["U1 renamed"]
    })
  },
  {
    name: "upsert on an external id",
    run: (api) =>
      Effect.gen(function*() {
        yield* seed("Account", [{ Name: "Old", ExternalId__c: "X1" }])
        return yield* ingest(
          BulkClient.upsert("Account", "ExternalId__c", [{ ExternalId__c: "X1", Name: "Kept" }, { ExternalId__c: "X2", Name: "New" }], {
            ...fast(api),
            verifyResults: true
          }),
          records("Account", ["ExternalId__c", "Name"])
        )
      }),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 2, succeeded: 2, failed: 0, created: 1 },
      successes: ["Kept:updated", "New:created"],
      org: ["X1|Kept", "X2|New"]
    })
  },
  {
    name: "delete",
    run: (api) =>
      Effect.gen(function*() {
        const ids = yield* seed("Account", [{ Name: "D1" }, { Name: "D2" }])
        return yield* ingest(BulkClient.delete("Account", [ids[0]!], fast(api)), records("Account", ["Name", "IsDeleted"]))
      }),
    expected: () => ({ _tag: "Outcome", summary: { rowsRead: 1, succeeded: 1, failed: 0 }, org: ["D1|true", "D2|false"] })
  },
  {
    name: "hardDelete",
    run: (api) =>
      Effect.gen(function*() {
        const ids = yield* seed("Account", [{ Name: "H1" }, { Name: "H2" }])
        return yield* ingest(BulkClient.hardDelete("Account", [ids[0]!], fast(api)), records("Account", ["Name", "IsDeleted"]))
      }),
    expected: () => ({ _tag: "Outcome", summary: { rowsRead: 1, succeeded: 1, failed: 0 }, org: ["H2|false"] })
  },
  {
    name: "query",
    run: (api) =>
      Effect.gen(function*() {
        const ids = yield* seed("Account", [{ Name: "Q1", NumberOfEmployees: "5" }, { Name: "Q2" }])
        yield* Effect.map(TestOrg, (org) => org.apply("delete", "Account", { Id: ids[1]! }))
        return yield* rowsOf(BulkClient.query("SELECT Name, NumberOfEmployees FROM Account", fast(api)))
      }),
    expected: () => ({ _tag: "Rows", rows: [{ Name: "Q1", NumberOfEmployees: "5" }] })
  },
  {
    name: "queryAll",
    run: (api) =>
      Effect.gen(function*() {
        const ids = yield* seed("Account", [{ Name: "Q1" }, { Name: "Q2" }])
        yield* Effect.map(TestOrg, (org) => org.apply("delete", "Account", { Id: ids[1]! }))
        return yield* rowsOf(BulkClient.queryAll("SELECT Name, IsDeleted FROM Account", fast(api)))
      }),
    expected: () => ({ _tag: "Rows", rows: [{ Name: "Q1", IsDeleted: "false" }, { Name: "Q2", IsDeleted: "true" }] })
  },
  {
    name: "unknown object",
    run: (api) => ingest(BulkClient.insert("NoSuchObject__c", [{ Name: "N" }], fast(api))),
    expected: (api) => ({ _tag: "Error", error: "ApiError", key: { errorCode: api === "1.0" ? "InvalidJob" : "INVALIDJOB", status: 400 } })
  },
  {
    name: "unknown object with a bad row: the bad row is reported, nothing is sent",
    run: (api) => ingest(BulkClient.insert("NoSuchObject__c", [{ Name: "N" }, { Name: "N", Extra: "x" }], fast(api))),
    expected: () => ({ _tag: "Error", error: "InvalidInputError", key: { row: 1 } })
  },
  {
    name: "unknown object in a query",
    run: (api) => rowsOf(BulkClient.query("SELECT Id FROM NoSuchObject__c", fast(api))),
    expected: (api) => ({ _tag: "Error", error: "ApiError", key: { errorCode: api === "1.0" ? "InvalidJob" : "INVALID_TYPE" } })
  },
  {
    name: "unknown field",
    run: (api) => ingest(BulkClient.insert("Account", [{ Name: "F", Nope__c: "x" }], fast(api)), records("Account", ["Name"])),
    expected: (api) => ({
      _tag: "Error",
      error: api === "1.0" ? "BatchFailedError" : "JobFailedError",
      key: { stateMessage: "InvalidBatch : Field name not found : Nope__c" },
      org: []
    })
  },
  {
    name: "unknown field with a bad row: the bad row is reported, nothing is sent",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ Name: "F", Nope__c: "x" }, { Name: "G", Nope__c: "y", Extra: "z" }], fast(api)),
        records("Account", ["Name"])
      ),
    expected: () => ({ _tag: "Error", error: "InvalidInputError", key: { row: 1 }, org: [] })
  },
  {
    name: "unknown field in a query",
    run: (api) => rowsOf(BulkClient.query("SELECT Nope__c FROM Account", fast(api))),
    expected: (api) => (api === "1.0"
      ? { _tag: "Error", error: "BatchFailedError" }
      : { _tag: "Error", error: "ApiError", key: { errorCode: "INVALID_FIELD" } })
  },
  {
    name: "upsert on a field that is not an external id",
    run: (api) => ingest(BulkClient.upsert("Account", "Name", [{ Name: "Acme" }], fast(api)), records("Account", ["Name"])),
    expected: (api) => ({ _tag: "Error", error: "ApiError", key: { errorCode: api === "1.0" ? "InvalidJob" : "INVALIDJOB" }, org: [] })
  },
  {
    name: "required field missing",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ Name: "R1", Industry: "Energy" }, { Name: "", Industry: "Retail" }], fast(api)),
        records("Account", ["Name"])
      ),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 2, processed: 2, succeeded: 1, failed: 1 },
      failures: ["{\"Name\":\"\",\"Industry\":\"Retail\"}:REQUIRED_FIELD_MISSING:Name"],
      org: ["R1"]
    })
  },
  {
    name: "duplicate value on a unique field",
    run: (api) =>
      Effect.gen(function*() {
        yield* seed("Account", [{ Name: "Dup0", ExternalId__c: "E1" }])
        return yield* ingest(
          BulkClient.insert("Account", [{ Name: "Dup1", ExternalId__c: "E1" }, { Name: "Dup2", ExternalId__c: "E2" }], fast(api)),
          records("Account", ["Name"])
        )
      }),
    expected: () => ({
      _tag: "Outcome",
      summary: { rowsRead: 2, succeeded: 1, failed: 1 },
      org: ["Dup0", "Dup2"]
    })
  },
  {
    name: "invalid id",
    run: (api) => ingest(BulkClient.update("Account", [{ Id: "001000000000000BAD", Name: "X" }], fast(api))),
    expected: () => ({ _tag: "Outcome", summary: { rowsRead: 1, succeeded: 0, failed: 1 }, failures: ["X:MALFORMED_ID:Id"] })
  },
  {
    name: "delete with an id that is not an id",
    run: (api) => ingest(BulkClient.delete("Account", ["not-an-id"], fast(api))),
    expected: () => ({ _tag: "Error", error: "InvalidInputError", key: { row: 0, field: "Id" } })
  },
  {
    name: "delete of an id that does not exist",
    run: (api) => ingest(BulkClient.delete("Account", ["001000000000000AAA"], fast(api))),
    expected: () => ({ _tag: "Outcome", summary: { rowsRead: 1, succeeded: 0, failed: 1 } })
  },
  {
    name: "malformed SOQL",
    run: (api) => rowsOf(BulkClient.query("SELECT Id FROM Account WHERE", fast(api))),
    expected: (api) => (api === "1.0"
      ? { _tag: "Error", error: "BatchFailedError" }
      : { _tag: "Error", error: "ApiError", key: { errorCode: "MALFORMED_QUERY" } })
  },
  {
    name: "SOQL without FROM",
    run: (api) => rowsOf(BulkClient.query("SELECT Id", fast(api))),
    expected: (api) => (api === "1.0"
      ? { _tag: "Error", error: "InvalidInputError" }
      : { _tag: "Error", error: "ApiError", key: { errorCode: "MALFORMED_QUERY" } })
  },
  {
    name: "empty input",
    run: (api) => ingest(BulkClient.insert("Account", [], fast(api))),
    expected: () => ({ _tag: "Error", error: "InvalidInputError" })
  },
  {
    name: "empty input allowed",
    run: (api) => ingest(BulkClient.insert("Account", [], { ...fast(api), allowEmpty: true })),
    expected: () => ({ _tag: "Outcome", summary: { rowsRead: 0, processed: 0, succeeded: 0, failed: 0, jobs: 0 } })
  },
  {
    name: "a bad row fails before anything is sent",
    run: (api) =>
      ingest(
        BulkClient.insert("Account", [{ Name: "Good" }, { Name: { nested: true } as unknown as string }], fast(api)),
        records("Account", ["Name"])
      ),
    expected: () => ({ _tag: "Error", error: "InvalidInputError", org: [] })
  }
]

const apis: ReadonlyArray<Api> = ["1.0", "2.0"]

/** Observations by implementation, scenario and API: each scenario runs once per implementation. */
const observed = new Map<string, Observation>()

const observe = (implementation: string, layer: Layer.Layer<Env, unknown>, scenario: Scenario, api: Api) => {
  const key = `${implementation}|${scenario.name}|${api}`
  const known = observed.get(key)
  return known !== undefined
    ? Effect.succeed(known)
    : scenario.run(api).pipe(Effect.provide(layer), Effect.tap((o) => Effect.sync(() => observed.set(key, o))))
}

describe.each(implementations)("contract: %s", (name, layer) => {
  for (const api of apis) {
    for (const scenario of scenarios) {
      it.effect(`${scenario.name} (Bulk API ${api})`, () =>
        Effect.gen(function*() {
          const observation = yield* observe(name, layer, scenario, api)
          expect(observation).toMatchObject(scenario.expected(api) as object)
        }).pipe(Effect.orDie))
    }
  }
})

describe("contract: the mock observes what the real client observes", () => {
  for (const api of apis) {
    for (const scenario of scenarios) {
      it.effect(`${scenario.name} (Bulk API ${api})`, () =>
        Effect.gen(function*() {
          const [mock, real] = yield* Effect.all(implementations.map(([name, layer]) => observe(name, layer, scenario, api)))
          expect(mock).toEqual(real)
        }).pipe(Effect.orDie))
    }
  }
})

/** Aborts a job through the emulator's HTTP API, as another tool or an admin in Setup would. */
const abortFromOutside = (api: Api, jobId: string) =>
  Effect.flatMap(Emulator.Emulator, (emu) =>
    Effect.promise(async () => {
      const response = api === "2.0"
        ? await fetch(`${emu.instanceUrl}/services/data/v${emu.apiVersion}/jobs/ingest/${jobId}`, {
          method: "PATCH",
          headers: { Authorization: `Bearer ${emu.accessToken}`, "Content-Type": "application/json" },
          body: JSON.stringify({ state: "Aborted" })
        })
        : await fetch(`${emu.instanceUrl}/services/async/${emu.apiVersion}/job/${jobId}`, {
          method: "POST",
          headers: { "X-SFDC-Session": emu.accessToken, "Content-Type": "application/xml; charset=UTF-8" },
          body:
            `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><state>Aborted</state></jobInfo>`
        })
      return response.status
    }))

// A job aborted from outside is not an error on either API (README, Reliability): the operation
// ends with an outcome in which every row the job never processed counts as unprocessed, so
// succeeded + failed + unprocessed = rows read still holds. (This test once hung: it ran on
// `it.effect`'s TestClock, on which the client's polls and the guard below never woke; the
// emulator layer now runs on the live clock.)
describe("contract: a job aborted from outside while the client waits (real client only)", () => {
  for (const api of apis) {
    it.effect(`ends with every row unprocessed, and nothing lands (Bulk API ${api})`, () =>
      Effect.gen(function*() {
        const uploaded = yield* Deferred.make<string>()
        const fiber = yield* Effect.fork(BulkClient.insert("Account", [{ Name: "Aborted 1" }, { Name: "Aborted 2" }], {
          ...fast(api),
          onProgress: (p) => {
            if (p.last?.state === "Uploaded") Deferred.unsafeDone(uploaded, Effect.succeed(p.last.jobId))
          }
        }))
        const jobId = yield* Deferred.await(uploaded)
        const status = yield* abortFromOutside(api, jobId)
        expect(status).toBe(200)
        // a guard, not a timing assertion: a client that never notices the abort fails here
        const outcome = yield* Fiber.join(fiber).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "hung" }))
        expect(outcome.summary).toMatchObject({ jobIds: [jobId], rowsRead: 2, processed: 0, succeeded: 0, failed: 0, unprocessed: 2 })
        const unprocessed = Chunk.toReadonlyArray(yield* Stream.runCollect(outcome.unprocessed))
        expect(unprocessed.map((u) => u.row.Name).sort()).toEqual(["Aborted 1", "Aborted 2"])
        expect(yield* records("Account", ["Name"])).toEqual([])
      }).pipe(
        // the emulator holds every job queued long enough for the abort to arrive first
        Effect.provide(
          Layer.effect(TestOrg, Effect.map(Emulator.Emulator, (e) => e.org)).pipe(
            Layer.provideMerge(BulkClientEmulator.layer({ latencyMs: 2_000 }))
          )
        ),
        Effect.orDie
      ))
  }
})
