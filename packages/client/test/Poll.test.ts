/**
 * Adaptive polling (poll.ts): when the next poll is due, given the job's observed progress, and
 * that the 2.0 wait feeds each answer to the schedule. TestClock only: no timed waits.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Bulk2 from "../src/Bulk2.js"
import { adaptivePollSchedule, nextWait, type Observed, QUERY_POLL_BOUNDS } from "../src/internal/poll.js"
import * as SalesforceAuth from "../src/SalesforceAuth.js"
import * as Transport from "../src/Transport.js"

const JOB = "7505g0000000001AAA"

/**
 * A 2.0 job of `total` records processed at `perSecond` from the first poll on (TestClock time),
 * JobComplete once all are processed; `reportsProgress: false` is a query job: 0 until done.
 */
const fakeJob = (total: number, perSecond: number, reportsProgress = true) => {
  const polls: Array<number> = []
  let started: number | undefined
  const client = HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      started ??= now
      polls.push(now)
      const processed = Math.min(total, Math.floor(((now - started) / 1000) * perSecond))
      const done = processed === total
      const body = {
        id: JOB,
        operation: reportsProgress ? "insert" : "query",
        object: "Account",
        state: done ? "JobComplete" : "InProgress",
        numberRecordsProcessed: done || reportsProgress ? processed : 0
      }
      return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
    })
  )
  const layer = Transport.layer().pipe(
    Layer.provide(Layer.orDie(SalesforceAuth.fromSession({ instanceUrl: "https://acme.my.salesforce.com", accessToken: "t" }))),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
  // when the job is done, ms after the first poll
  const endsAt = Math.ceil((total / perSecond) * 1000)
  return { layer, polls, endsAt }
}

/** Waits on the job in 100 ms clock steps; the wait's end, ms after the first poll. */
const waitOut = (wait: Effect.Effect<Bulk2.JobInfo, unknown>, polls: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(wait)
    for (let k = 0; k < 3_000; k++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust("100 millis")
    }
    const info = yield* Fiber.join(fiber)
    expect(info.state).toBe("JobComplete")
    return polls[polls.length - 1]! - polls[0]!
  })

describe("adaptive polling", () => {
  it.effect("2.0: a 100 s ingest job is polled a handful of times and its end seen within a second", () =>
    Effect.gen(function*() {
      // 1M records at 10,000 per second (ten slots of 1,000 records/s)
      const job = fakeJob(1_000_000, 10_000)
      const seenAt = yield* waitOut(
        Bulk2.waitForIngestJob(JOB, { schedule: adaptivePollSchedule(1_000_000) }).pipe(Effect.provide(job.layer)),
        job.polls
      )
      // the schedule was fed each answer's progress: before, it backed off blind to every 5 s (25 polls)
      expect(job.polls.length).toBeLessThanOrEqual(8)
      expect(seenAt - job.endsAt).toBeLessThanOrEqual(1_000)
    }))

  it.effect("a job that shows no progress (a query) is seen done within a tenth of its time (at least 2 s)", () =>
    Effect.gen(function*() {
      const job = fakeJob(800_000, 50_000, false) // 16 s
      const seenAt = yield* waitOut(
        Bulk2.waitForQueryJob(JOB, { schedule: adaptivePollSchedule(0) }).pipe(Effect.provide(job.layer)),
        job.polls
      )
      // the old ceiling of 5 s saw this 16 s query 4.4 s late (polls at 15.4 s, 20.4 s)
      expect(seenAt - job.endsAt).toBeLessThanOrEqual(Math.max(2_000, job.endsAt / 10) + 100)
      expect(job.polls.length).toBeLessThanOrEqual(12)
    }))

  it.effect("a 2.0 query (BulkClient's query bounds) is seen done within 1 s of its end, for a poll a second", () =>
    Effect.gen(function*() {
      const job = fakeJob(1_010_000, 50_000, false) // 20.2 s: about the realistic profile's 1M-row query
      const seenAt = yield* waitOut(
        Bulk2.waitForQueryJob(JOB, { schedule: adaptivePollSchedule(0, QUERY_POLL_BOUNDS) }).pipe(Effect.provide(job.layer)),
        job.polls
      )
      // the ingest back-off (at least 2 s) may see it 2 s late: half the time a 20 s query gets
      expect(seenAt - job.endsAt).toBeLessThanOrEqual(1_000 + 100)
      expect(job.polls.length).toBeLessThanOrEqual(24)
    }))

  it("a query's waits without progress: 1 s from the third on, a twentieth of the time waited past 20 s, at most 5 s", () => {
    let s: Observed = { first: undefined, at: undefined, done: 0, wait: 0 }
    let now = 0
    const waits: Array<number> = []
    while (now < 200_000) {
      const wait = nextWait(s, now, 0, 0, QUERY_POLL_BOUNDS)
      waits.push(wait)
      s = { first: s.first ?? now, at: now, done: 0, wait }
      now += wait
    }
    expect(waits.slice(0, 4)).toEqual([500, 750, 1_000, 1_000])
    expect(nextWait({ first: 0, at: 40_000, done: 0, wait: 1_000 }, 40_000, 0, 0, QUERY_POLL_BOUNDS)).toBe(1_500)
    expect(waits.at(-1)).toBe(5_000)
  })

  it("without progress the waits grow by 1.5x from 0.5 s, capped at a tenth of the time waited within [2 s, 5 s]", () => {
    let s: Observed = { first: undefined, at: undefined, done: 0, wait: 0 }
    let now = 0
    const waits: Array<number> = []
    while (now < 120_000) {
      const wait = nextWait(s, now, 0, 0)
      waits.push(wait)
      s = { first: s.first ?? now, at: now, done: 0, wait }
      now += wait
    }
    expect(waits.slice(0, 5)).toEqual([500, 750, 1_125, 1_687.5, 2_000])
    for (const [k, w] of waits.entries()) if (k > 1) expect(w).toBeLessThanOrEqual(5_000)
    expect(waits.at(-1)).toBe(5_000)
  })

  it("with progress the next poll is due a little before the job should end at the observed rate", () => {
    const s: Observed = { first: 0, at: 0, done: 0, wait: 500 }
    // 10,000 records in the first second of 200,000: 19 s left, polled at 90% of it
    expect(nextWait(s, 1_000, 10_000, 200_000)).toBeCloseTo(17_100)
    // almost done: the floor (0.25 s)
    expect(nextWait({ first: 0, at: 0, done: 0, wait: 500 }, 1_000, 199_990, 200_000)).toBe(250)
  })

  it("a job that shows every record processed but is not yet complete is polled again within 0.5 s, then backs off", () => {
    // 100,000 of 100,000 at 10 s after the last poll had seen 90,000: the end is near (was the 2 s floor)
    expect(nextWait({ first: 0, at: 9_000, done: 90_000, wait: 3_000 }, 10_000, 100_000, 100_000)).toBe(500)
    // still not complete at the next poll: the waits grow again from there
    expect(nextWait({ first: 0, at: 10_000, done: 100_000, wait: 500 }, 10_500, 100_000, 100_000)).toBe(750)
  })
})
