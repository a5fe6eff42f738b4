/**
 * The long kill-anywhere run (`pnpm soak:kill -- --trials 60 --seed 1`): trials of the real
 * `sfbulk import` on both APIs, stopped at seeded random moments (SIGKILL, SIGINT, SIGTERM,
 * `--wait` running out; the resume runs stopped too), then finished by following the printed
 * advice. Prints each trial and the totals (lost, duplicated, altered, misfiled rows, journals
 * left over); exits 1 when any is not zero. Replay one trial with `--seed <its seed> --trials 1`.
 */
import { Emulator } from "@sfbulk/emulator"
import { random, runTrial, type Stop } from "../packages/cli/test/killAnywhere.js"

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const trials = flag("trials", 40)
const seed0 = flag("seed", 1)
const stops: ReadonlyArray<Stop> = ["SIGKILL", "SIGINT", "SIGTERM", "wait"]
// --lock: Contacts under shared parents against the realistic profile with lock contention,
// imported with --retry-locked-rows and --order-by-parent
const lockMode = process.argv.includes("--lock")
const emu = lockMode
  ? await Emulator.start({
    latencyMs: 0,
    profile: "realistic",
    seed: seed0,
    processing: {
      recordsPerSecond: { insert: flag("rps", 3_000) },
      parallelBatches: 4,
      transactionRows: 25,
      requestLatencyMs: 0,
      lockFailureRate: flag("lock-rate", 0.5),
      // --time-limit <ms>: batches that run out of time (their rest comes back unprocessed)
      ...(process.argv.includes("--time-limit")
        ? { batchTimeLimitMs: flag("time-limit", 300_000), batchRetries: flag("batch-retries", 2) }
        : {})
    }
  })
  : await Emulator.start({ latencyMs: flag("latency", 300) })
const parents: Array<string> = []
if (lockMode) {
  for (let i = 0; i < 6; i++) {
    const out = emu.org.apply("insert", "Account", { Name: `KA lock parent ${i}` })
    if (!out.success) throw new Error("seeding parents failed")
    parents.push(out.id)
  }
}
const totals = { trials: 0, failed: 0, lost: 0, duplicated: 0, altered: 0, misfiled: 0, leftovers: 0, errors: 0 }
try {
  for (let k = 0; k < trials; k++) {
    const seed = seed0 + k
    const next = random(seed * 7919)
    const trial = {
      api: next() < 0.5 ? "1.0" as const : "2.0" as const,
      stop: stops[Math.floor(next() * stops.length)]!,
      seed,
      rows: 200 + Math.floor(next() * 1800),
      piece: 50 + Math.floor(next() * 400),
      stdin: next() < 0.3,
      minDelayMs: 50,
      maxDelayMs: 500 + Math.floor(next() * 4000),
      restops: Math.floor(next() * 3),
      lock: lockMode ? { parents, rounds: 1 + Math.floor(next() * 4), orderByParent: next() < 0.7 } : undefined
    }
    totals.trials++
    try {
      const r = await runTrial(emu, trial)
      for (const key of ["lost", "duplicated", "altered", "misfiled", "leftovers"] as const) totals[key] += r[key]
      if (!r.ok) totals.failed++
      console.log(
        `${r.ok ? "ok  " : "FAIL"} seed ${seed} ${trial.api} ${trial.stop} rows ${trial.rows}/${trial.piece}${
          trial.stdin ? " stdin" : ""
        }: ` +
          `lost ${r.lost} dup ${r.duplicated} altered ${r.altered} misfiled ${r.misfiled} left ${r.leftovers} tmp ${r.tempLeft} | ${
            r.steps.join("; ")
          }`
      )
    } catch (e) {
      totals.errors++
      totals.failed++
      console.log(`ERR  seed ${seed} ${trial.api} ${trial.stop}: ${String(e).slice(0, 2000)}`)
    }
  }
} finally {
  await emu.close()
}
console.log(JSON.stringify(totals))
process.exit(totals.failed === 0 ? 0 : 1)
