/**
 * Breaking session 6's 1.0 changes around lock follow-ups: batch bodies detached once added
 * (ingest1.ts `freeNow`) while adds lose or cut their answers, `verifyResults` and successes paired
 * with the request re-read from Salesforce, follow-up rounds (lockRetry.ts `followUpGroupCount`,
 * rounds with no failure skipping the failure streams): every row once, each outcome at its row.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import { clientLayer, collect, type Emu, fast, interleavedContacts, landedBy, pacedEmulator, seedParents } from "./EmulatorSupport.js"

let emu: Emu
const parents: Array<string> = []
beforeAll(async () => {
  emu = await pacedEmulator({ insertsPerSecond: 3_000, parallelBatches: 4 })
  for (const id of seedParents(emu, 5, "b6 lock parent")) parents.push(id)
})
afterAll(async () => {
  await emu?.close()
})

const ADDS = "^POST /services/async/[^/]+/job/[^/]+/batch$"

describe("1.0 lock follow-ups with adds losing their answers", () => {
  const cases: ReadonlyArray<readonly [string, BulkClient.IngestOptions<{ LastName: string }>]> = [
    ["verifyResults, full successes", { verifyResults: true }],
    ["lean successes", { successRows: false }],
    ["orderByParent", { orderByParent: "AccountId" }]
  ]
  for (const [name, extra] of cases) {
    it.live(`${name}: every contact once, every outcome once at its row`, () =>
      Effect.gen(function*() {
        const tag = `b6lk${Object.keys(extra)[0]}`
        const given = interleavedContacts(tag, parents)
        // with orderByParent, 1.0 positions are positions in the (stable) sorted order (README, Lock contention)
        const input = "orderByParent" in extra
          ? [...given].sort((a, b) => (a.AccountId < b.AccountId ? -1 : a.AccountId > b.AccountId ? 1 : 0))
          : given
        const f0 = emu.stats().faults
        emu.setFaults("lost-answer=0.3,reset=0.2", { seed: 9, match: ADDS })
        const outcome = yield* BulkClient.insert("Contact", given, {
          ...fast,
          api: "1.0",
          batchSize: 50,
          retryLockedRows: 6,
          ...extra
        }).pipe(Effect.ensuring(Effect.sync(() => emu.setFaults("", { seed: 9 }))))
        const f1 = emu.stats().faults
        expect(f1["lost-answer"] + f1.reset - f0["lost-answer"] - f0.reset).toBeGreaterThan(0)
        const failures = yield* collect(outcome.failures)
        const unprocessed = yield* collect(outcome.unprocessed)
        const ok = yield* collect(outcome.successes)
        expect({ ...outcome.summary, failures: failures.length, unprocessed: unprocessed.length }).toMatchObject({
          rowsRead: 600,
          succeeded: ok.length,
          failed: failures.length,
          unprocessed: unprocessed.length
        })
        const landed = landedBy(emu, "Contact", "LastName", tag)
        expect([...landed.values()].filter((n) => n !== 1)).toEqual([])
        expect(landed.size).toBe(ok.length)
        // every row's outcome exactly once, at its position (1.0 outcomes carry the input position)
        const positions = [...ok, ...failures, ...unprocessed].map((o) => o.position).sort((a, b) => a! - b!)
        expect(positions).toEqual(input.map((_, i) => i))
        for (const s of ok) expect(emu.org.get(s.id)?.values.LastName).toBe(input[s.position!]!.LastName)
        if (!("successRows" in extra)) { for (const s of ok) expect(s.row.LastName).toBe(input[s.position!]!.LastName) }
        expect(ok.length).toBeGreaterThan(500)
        // unordered, rows failed on locks and follow-up jobs ran
        if (!("orderByParent" in extra)) expect(outcome.summary.jobIds.length).toBeGreaterThan(1)
      }).pipe(Effect.provide(clientLayer(emu))), 180_000)
  }
})
