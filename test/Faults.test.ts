/**
 * Faults end to end (issues 7 and 11): for each seeded fault scenario, on both APIs, an insert where every
 * input row ends exactly once as a success, failure or unprocessed record and the store holds no
 * duplicate, then a query that returns every row once, in order. Seeds are fixed: a failure
 * replays with the same seed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient, type BulkError } from "../packages/client/src/index.js"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  accounts,
  clientLayer,
  collect,
  type Emu,
  figures,
  injected,
  poll,
  SCENARIOS,
  type Scenario,
  UNSURVIVABLE,
  startEmulator,
  storedByKey
} from "./FaultsSupport.js"
import { mulberry32 } from "../packages/emulator/src/internal/faults.js"

const N = 2_000
/** Replay a run with FAULT_SEED=<n> (the seed drives every injected fault). */
const SEED = Number(process.env.FAULT_SEED ?? 7)
let emu: Emu
const total = { ...figures(), resumes: 0 }
const typedFailures: Array<string> = []
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-faults-"))

beforeAll(async () => {
  emu = await startEmulator(SEED)
})
afterAll(async () => {
  await emu?.close()
  Fs.rmSync(dir, { recursive: true, force: true })
  console.log(`[faults] figures ${JSON.stringify(total)} typed failures resumed: ${typedFailures.join(", ")}`)
})

const scenarios = Object.keys(SCENARIOS) as Array<Scenario>

for (const api of ["1.0", "2.0"] as const) {
  describe(`faults on Bulk API ${api}`, () => {
    for (const scenario of scenarios) {
      it(`${scenario}: insert then query; every row once, nothing duplicated, in order`, () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tag = `f${api.replace(".", "")}${scenario}`
            const rows = accounts(tag, N)
            emu.setFaults(SCENARIOS[scenario], { seed: SEED })
            const before = injected(emu)
            const issuedBefore = emu.stats().sessions.issued
            const journal = Path.join(dir, `${tag}.journal`)
            const options = { ...poll, api, concurrency: 4, batchSize: api === "1.0" ? 250 : 500, journal }
            // A fault that cannot be survived (a daily-limit answer) fails the run with a typed error
            // naming the job; re-running with the same journal resumes instead of duplicating.
            let outcome: BulkClient.Outcome | undefined
            for (let attempt = 0; outcome === undefined; attempt++) {
              const r = yield* Effect.either(BulkClient.insert("Account", rows, options))
              if (r._tag === "Right") outcome = r.right
              else {
                const e = r.left
                expect(attempt).toBeLessThan(6)
                expect(["LimitExceededError", "JobFailedError", "BatchFailedError"]).toContain(e._tag)
                if (!UNSURVIVABLE.has(scenario)) throw e
                // typed, and names the job (except a limit hit before any job existed)
                if (e._tag !== "LimitExceededError") expect((e as { jobId?: string }).jobId).toMatch(/^750/)
                typedFailures.push(`${e._tag}${"jobId" in e && e.jobId ? ` job ${e.jobId}` : ""}`)
                total.resumes++
              }
            }
            const s = outcome.summary
            expect(s.rowsRead).toBe(N)
            expect(s.succeeded + s.failed + s.unprocessed).toBe(N)
            // every input row ends exactly once across the three outcome streams
            const ends = new Map<string, number>()
            // outcome streams re-read Salesforce; one cut by an unsurvivable answer is typed and read again
            const again = <A>(s: Stream.Stream<A, BulkError.BulkError>) =>
              Effect.retry(collect(s), {
                times: 5,
                while: (e) => {
                  if (!UNSURVIVABLE.has(scenario)) return false
                  typedFailures.push(`${e._tag} reading outcomes`)
                  return "jobId" in e && e.jobId !== undefined
                }
              })
            const outcomes = [...yield* again(outcome.successes), ...yield* again(outcome.failures), ...yield* again(outcome.unprocessed)]
            for (const o of outcomes) {
              ends.set(o.row.Name!, (ends.get(o.row.Name!) ?? 0) + 1)
            }
            expect(ends.size).toBe(N)
            expect([...ends.values()].every((n) => n === 1)).toBe(true)
            // the outcome streams agree with the summary
            expect(outcomes.filter((o) => o._tag === "Success").length).toBe(s.succeeded)
            expect(outcomes.filter((o) => o._tag === "Unprocessed").length).toBe(s.unprocessed)
            // transport faults are all survivable: everything lands; failed jobs/batches leave their
            // rows unprocessed (never half-counted)
            if (!scenario.includes("atch") && scenario !== "mix") expect(s.succeeded).toBe(N)
            expect(s.failed).toBe(0)
            // the store holds each successful row exactly once and nothing else
            const stored = storedByKey(emu, tag)
            const dups = [...stored.values()].filter((n) => n > 1).length
            expect(dups).toBe(0)
            expect(stored.size).toBe(s.succeeded)
            const landed = rows.filter((r) => stored.has(r.Name)).map((r) => r.ExternalId__c)

            // a query is read-only: one that cannot be survived is typed and simply run again
            let queried: ReadonlyArray<BulkClient.QueryRow> | undefined
            for (let attempt = 0; queried === undefined; attempt++) {
              const r = yield* Effect.either(collect(BulkClient.query(
                `SELECT Name, ExternalId__c FROM Account WHERE Name LIKE '${tag} %' ORDER BY ExternalId__c`,
                { ...poll, api }
              )))
              if (r._tag === "Right") queried = r.right
              else {
                expect(attempt).toBeLessThan(6)
                if (!UNSURVIVABLE.has(scenario)) throw r.left
                typedFailures.push(r.left._tag)
              }
            }
            expect(queried.map((r) => r.ExternalId__c)).toEqual(landed)
            if (api === "2.0") {
              // pages downloaded in parallel come back in the same order
              const parallel = yield* Effect.retry(
                collect(
                  BulkClient.query(`SELECT ExternalId__c FROM Account WHERE Name LIKE '${tag} %' ORDER BY ExternalId__c`, {
                    ...poll,
                    api,
                    concurrency: 3
                  })
                ),
                { times: 5, while: () => UNSURVIVABLE.has(scenario) }
              )
              expect(parallel.map((r) => r.ExternalId__c)).toEqual(landed)
            }
            const after = injected(emu)
            emu.setFaults(undefined)
            total.runs += 1
            total.rowsMoved += N + queried.length
            total.retries += after.retries - before.retries
            total.renewals += after.renewals - before.renewals
            total.rowsDuplicated += dups
            total.rowsLost += N - ends.size
            if (scenario === "expiry") {
              expect(after.renewals - before.renewals).toBeGreaterThan(0)
              // requests in flight on an expired session share one renewal: one login per expiry
              expect(emu.stats().sessions.issued - issuedBefore).toBeLessThanOrEqual(after.renewals - before.renewals + 1)
            } else if (scenario === "batchFail") expect(emu.stats().faults["batch-fail"]).toBeGreaterThan(0)
            else expect(after.retries - before.retries).toBeGreaterThan(0)
          }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
        ), 45_000)
    }
  })
}

describe("429 with Retry-After, end to end", () => {
  it("the client waits at least Retry-After before sending again, then succeeds", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        // a seed whose first limit fault is a 429 (the emulator draws 429 vs 403 with its seeded PRNG)
        let seed = 1
        for (; seed < 1000; seed++) {
          const rng = mulberry32(seed)
          rng()
          if (rng() < 0.25) break
        }
        emu.setFaults("limit=1", { seed })
        // every request is limited until the faults are lifted, 200 ms in
        setTimeout(() => emu.setFaults(undefined), 200)
        const started = Date.now()
        const rows = yield* collect(BulkClient.query("SELECT Id FROM Account", { ...poll }))
        const elapsed = Date.now() - started
        expect(rows.length).toBe(emu.org.count("Account"))
        expect(emu.stats().faults.limit).toBeGreaterThanOrEqual(1)
        // Retry-After is 1 s: the retry did not come sooner
        expect(elapsed).toBeGreaterThanOrEqual(1_000)
      }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
    ), 20_000)
})

// ---------------------------------------------------------------------------------------------
// Issue 11: answers lost after the server acted, stalled answers, and inputs of identical rows.
// ---------------------------------------------------------------------------------------------

/**
 * The new faults. `lost-answer`: the request is processed, then its answer is cut (the client must
 * find out what happened before sending again). `stall`: the request is processed, the answer
 * starts, then stops for the emulator's slowMs (600 ms), longer than the client's 300 ms timeout.
 */
const ISSUE11 = {
  lostAnswer: "lost-answer=0.1",
  stall: "stall=0.1",
  all: "5xx=0.02,reset=0.02,slow=0.02,limit=0.01,lost-answer=0.03,stall=0.02,expire-after=40,batch-fail=0.03"
} as const

/** Stored accounts named `name` (queryAll: deleted ones too), as [AccountNumber, NumberOfEmployees] pairs. */
const storedNamed = (name: string): Array<[string, string]> => {
  const r = emu.org.query(`SELECT AccountNumber, NumberOfEmployees FROM Account WHERE Name = '${name}'`, { all: true })
  if (!r.ok) throw new Error(`store query failed: ${JSON.stringify(r.error)}`)
  return Array.from({ length: r.result.size }, (_, i) => [String(r.result.row(i)[0] ?? ""), String(r.result.row(i)[1] ?? "")])
}

/** Stored values of the keyed rows of a run, by Name: what a user would check for alteration. */
const storedValues = (tag: string): Map<string, string> => {
  const r = emu.org.query(`SELECT Name, ExternalId__c, NumberOfEmployees FROM Account WHERE Name LIKE '${tag} %'`, { all: true })
  if (!r.ok) throw new Error(`store query failed: ${JSON.stringify(r.error)}`)
  const out = new Map<string, string>()
  for (let i = 0; i < r.result.size; i++) {
    const [name, key, n] = r.result.row(i)
    out.set(String(name), `${String(key)}|${String(n)}`)
  }
  return out
}

/**
 * One insert, as a user runs it: lost answers, stalls and resets are all survivable, so it must
 * complete without a typed failure (no resume), and within the test's time.
 */
const insertOnce = (rows: ReadonlyArray<Record<string, string | number>>, options: Parameters<typeof BulkClient.insert>[2]) =>
  BulkClient.insert("Account", rows, options)

/**
 * Cases that fail today because of a known client bug run as `it.fails` while listed here (empty:
 * the last, a lost answer to a 2.0 data PUT under identical rows, is fixed: the piece goes to a new
 * job under the transport's retry schedule and budget).
 */
const CLIENT_BUG = new Set<string>([])

for (const api of ["1.0", "2.0"] as const) {
  describe(`issue 11 faults on Bulk API ${api}`, () => {
    for (const scenario of ["lostAnswer", "stall"] as const) {
      it(`${scenario}: every row lands exactly once with its values, nothing duplicated`, () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tag = `i11${api.replace(".", "")}${scenario}`
            const rows = accounts(tag, N)
            emu.setFaults(ISSUE11[scenario], { seed: SEED })
            const before = emu.stats().faults
            const journal = Path.join(dir, `${tag}.journal`)
            const outcome = yield* insertOnce(rows, { ...poll, api, concurrency: 4, batchSize: api === "1.0" ? 250 : 500, journal })
            const injectedNow = emu.stats().faults[scenario === "lostAnswer" ? "lost-answer" : "stall"] -
              before[scenario === "lostAnswer" ? "lost-answer" : "stall"]
            emu.setFaults(undefined)
            expect(injectedNow).toBeGreaterThan(0)
            const s = outcome.summary
            expect(s.rowsRead).toBe(N)
            expect(s.succeeded).toBe(N)
            // each row stored once, with the values it was sent with
            const stored = storedByKey(emu, tag)
            expect([...stored.values()].filter((n) => n > 1)).toEqual([])
            expect(stored.size).toBe(N)
            const values = storedValues(tag)
            const altered = rows.filter((r) => values.get(r.Name) !== `${r.ExternalId__c}|${r.NumberOfEmployees}`)
            expect(altered.map((r) => r.Name)).toEqual([])
            // the success stream names each row once
            const ok = yield* collect(outcome.successes)
            expect(ok.length).toBe(N)
            expect(new Set(ok.map((o) => o.row.Name)).size).toBe(N)
            total.runs += 1
            total.rowsMoved += N
          }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
        ), 60_000)
    }

    for (const [name, spec] of [["reset", "reset=0.3"], ["lost-answer", "lost-answer=0.1"]] as const) {
      const run = CLIENT_BUG.has(`${api} identical ${name}`) ? it.fails : it
      run(
        `5,000 identical rows (Same,dup) with ${name}: the org holds exactly 5,000, each reported once`,
        () =>
          Effect.runPromise(
            Effect.gen(function*() {
              // identical content: nothing but position tells two pieces apart
              const same = `Same${api.replace(".", "")}${name}`
              const rows = Array.from({ length: 5_000 }, () => ({ Name: same, AccountNumber: "dup" }))
              emu.setFaults(spec, { seed: SEED })
              const journal = Path.join(dir, `${same}.journal`)
              const outcome = yield* insertOnce(rows, { ...poll, api, concurrency: 4, batchSize: 500, journal })
              emu.setFaults(undefined)
              const s = outcome.summary
              expect(s.rowsRead).toBe(5_000)
              expect(s.succeeded + s.failed + s.unprocessed).toBe(5_000)
              const stored = storedNamed(same)
              // never more than the input, and exactly what was reported as saved
              expect(stored.length).toBe(s.succeeded)
              expect(stored.length).toBe(5_000)
              expect(stored.every(([acct]) => acct === "dup")).toBe(true)
              const ok = yield* collect(outcome.successes)
              expect(ok.length).toBe(5_000)
              // each success names a distinct record
              expect(new Set(ok.map((o) => o.id)).size).toBe(5_000)
              total.runs += 1
              total.rowsMoved += 5_000
            }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
          ),
        90_000
      )
    }
  })
}

/** One request kind at a time (`match`), so each dangerous case is hit on every run, whatever the timing. */
const REQUESTS = {
  "1.0": {
    create: "^POST /services/async/[^/]+/job/?$",
    close: "^POST /services/async/[^/]+/job/[^/]+/?$",
    upload: "^POST /services/async/[^/]+/job/[^/]+/batch/?$",
    download: "^GET /services/async/[^/]+/job/[^/]+/batch/[^/]+/result(/[^/]+)?/?$"
  },
  "2.0": {
    create: "^POST /services/data/v[^/]+/jobs/ingest/?$",
    close: "^PATCH /services/data/v[^/]+/jobs/ingest/[^/]+/?$",
    upload: "^PUT /services/data/v[^/]+/jobs/ingest/[^/]+/batches/?$",
    download: "^GET /services/data/v[^/]+/jobs/(ingest/[^/]+/(successfulResults|failedResults|unprocessedrecords)|query/[^/]+/results)/?$"
  }
} as const

for (const api of ["1.0", "2.0"] as const) {
  describe(`issue 11 on Bulk API ${api}: one dangerous request kind at a time`, () => {
    const cases: ReadonlyArray<readonly [name: string, spec: string, kind: keyof typeof REQUESTS["1.0"], identical: boolean]> = [
      ["every close / UploadComplete answer lost", "lost-answer=1", "close", false],
      ["half the job-creation answers lost", "lost-answer=0.5", "create", false],
      ["half the upload answers lost, identical rows", "lost-answer=0.5", "upload", true],
      ["half the result downloads stalled", "stall=0.5", "download", false]
    ]
    for (const [name, spec, kind, identical] of cases) {
      const title = `${name}: the load succeeds, each row stored once and reported once`
      const run = CLIENT_BUG.has(`${api} ${name}`) ? it.fails : it
      run(title, () =>
        Effect.runPromise(
          Effect.gen(function*() {
            const tag = `i11k${api.replace(".", "")}${kind}`
            const n = identical ? 3_000 : 1_000
            const rows = identical
              ? Array.from({ length: n }, () => ({ Name: tag, AccountNumber: "dup" }))
              : accounts(tag, n)
            emu.setFaults(spec, { seed: SEED, match: REQUESTS[api][kind] })
            const outcome = yield* insertOnce(rows, { ...poll, api, concurrency: 3, batchSize: identical ? 500 : 250 })
            const ok = yield* collect(outcome.successes)
            const hit = emu.stats().faults
            emu.setFaults(undefined)
            expect(hit["lost-answer"] + hit.stall).toBeGreaterThan(0)
            expect(outcome.summary).toMatchObject({ rowsRead: n, succeeded: n, failed: 0, unprocessed: 0 })
            expect(ok.length).toBe(n)
            expect(new Set(ok.map((o) => o.id)).size).toBe(n)
            if (identical) {
              const stored = storedNamed(tag)
              expect(stored.length).toBe(n)
            } else {
              const stored = storedByKey(emu, tag)
              expect(stored.size).toBe(n)
              expect([...stored.values()].every((c) => c === 1)).toBe(true)
              const values = storedValues(tag)
              const keyed = rows as ReturnType<typeof accounts>
              expect(keyed.filter((r) => values.get(r.Name) !== `${r.ExternalId__c}|${r.NumberOfEmployees}`)).toEqual([])
            }
            total.runs += 1
            total.rowsMoved += n
          }).pipe(Effect.provide(clientLayer(emu)), Effect.ensuring(Effect.sync(() => emu.setFaults(undefined))))
        ), 60_000)
    }
  })
}
