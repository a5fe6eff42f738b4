/**
 * Soak run (issue 7; not in CI): loops the mixed-fault scenario (5xx, resets, slow answers, limits,
 * session expiry at ~10% of requests) against a local emulator for N minutes, on both APIs, and
 * reports runs, rows, retries, renewals, resumes, rows lost and rows duplicated (both must be 0).
 *
 *   pnpm soak -- --minutes 5 --rows 5000 --seed 1
 *
 * Exits 1 if any row was lost or duplicated, or a run ended with an error it could not resume.
 */
import { type BulkError, BulkClient } from "../packages/client/src/index.js"
import type * as Stream from "effect/Stream"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { accounts, clientLayer, collect, injected, poll, SCENARIOS, startEmulator, storedByKey } from "../test/FaultsSupport.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`)
  return v
}
const minutes = arg("minutes", 2)
const rowsPerRun = Math.floor(arg("rows", 5_000))
const seed = Math.floor(arg("seed", 1))

const main = async () => {
  const emu = await startEmulator(seed)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-soak-"))
  const layer = clientLayer(emu)
  const totals = { runs: 0, rowsMoved: 0, retries: 0, renewals: 0, resumes: 0, rowsLost: 0, rowsDuplicated: 0, unresumable: 0, queriesIncomplete: 0 }
  const deadline = Date.now() + minutes * 60_000
  emu.setFaults(SCENARIOS.mix, { seed })
  console.log(`soak: ${minutes} min, ${rowsPerRun} rows per run, faults "${SCENARIOS.mix}", seed ${seed}`)
  try {
    while (Date.now() < deadline) {
      const run = totals.runs + 1
      const api = run % 2 === 0 ? "1.0" as const : "2.0" as const
      const tag = `soak${seed}r${run}`
      const rows = accounts(tag, rowsPerRun)
      const journal = Path.join(dir, `${tag}.jsonl`)
      const t0 = Date.now()
      const before = injected(emu)
      const result = await Effect.runPromise(Effect.gen(function*() {
        let resumes = 0
        let outcome: BulkClient.Outcome | undefined
        while (outcome === undefined) {
          const r = yield* Effect.either(BulkClient.insert("Account", rows, { ...poll, api, concurrency: 4, batchSize: api === "1.0" ? 1_000 : 2_500, journal }))
          if (r._tag === "Right") outcome = r.right
          else if (++resumes > 10) return { error: r.left.message, resumes }
        }
        let queried: ReadonlyArray<BulkClient.QueryRow> | undefined
        for (let attempt = 0; queried === undefined && attempt < 10; attempt++) {
          const q = yield* Effect.either(collect(BulkClient.query(`SELECT ExternalId__c FROM Account WHERE Name LIKE '${tag} %' ORDER BY ExternalId__c`, { ...poll, api })))
          if (q._tag === "Right") queried = q.right
        }
        // every input row must end exactly once as a success, failure or unprocessed record
        const ends = new Map<string, number>()
        for (const s of [outcome.successes, outcome.failures, outcome.unprocessed] as const) {
          const got = yield* Effect.retry(collect(s as Stream.Stream<{ readonly row: Readonly<Record<string, string>> }, BulkError.BulkError>), { times: 10 })
          for (const o of got) ends.set(o.row.Name!, (ends.get(o.row.Name!) ?? 0) + 1)
        }
        return { summary: outcome.summary, queried: queried ?? [], resumes, ends }
      }).pipe(Effect.provide(layer)))
      const after = injected(emu)
      const stored = storedByKey(emu, tag)
      // a row stored twice, or reported twice
      const duplicated = [...stored.values()].filter((n) => n > 1).length +
        ("ends" in result ? [...result.ends.values()].filter((n) => n > 1).length : 0)
      // a row with no outcome at all, or a success that is not in the store
      const lost = "ends" in result ? rowsPerRun - result.ends.size + Math.max(0, (result.summary?.succeeded ?? 0) - stored.size) : rowsPerRun
      const landed = rows.filter((r) => stored.has(r.Name)).map((r) => r.ExternalId__c)
      const inOrder = "queried" in result && result.queried.map((r) => r.ExternalId__c).join() === landed.join()
      totals.runs++
      totals.rowsMoved += rowsPerRun + ("queried" in result ? result.queried.length : 0)
      totals.retries += after.retries - before.retries
      totals.renewals += after.renewals - before.renewals
      totals.resumes += result.resumes
      totals.rowsLost += lost
      totals.rowsDuplicated += duplicated
      if ("error" in result) totals.unresumable++
      console.log(
        `run ${run} api ${api}: ${rowsPerRun} rows (${"summary" in result ? `${result.summary.succeeded} saved, ${result.summary.unprocessed} unprocessed` : "-"}) in ${Date.now() - t0} ms, retries ${after.retries - before.retries}, ` +
          `renewals ${after.renewals - before.renewals}, resumes ${result.resumes}, lost ${lost}, duplicated ${duplicated}, ` +
          `query ${inOrder ? "complete and in order" : "INCOMPLETE"}${"error" in result ? `, ERROR ${result.error}` : ""}`
      )
      if (!inOrder) totals.queriesIncomplete++
    }
  } finally {
    emu.setFaults(undefined)
    await emu.close()
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`soak totals: ${JSON.stringify(totals)}`)
  if (totals.rowsLost > 0 || totals.rowsDuplicated > 0 || totals.unresumable > 0 || totals.queriesIncomplete > 0) process.exit(1)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
