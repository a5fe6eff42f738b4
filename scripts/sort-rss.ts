/**
 * Peak RSS of ordering rows by parent (`orderByParent`), the spooled sort against the in-memory
 * sort it replaced: `node --import tsx scripts/sort-rss.ts --rows 1000000 --mode spool|auto|memory|none` (`auto`: `orderByParent: "auto"`'s path, the columns resolved from the first row). Rows are
 * generated as a stream (the input itself is never held); the output is drained and checked to be
 * in order. Prints one JSON line: rows, mode, peak RSS (MB), wall time (s). `--dates`: each row also
 * holds a `Date` (typed rows, e.g. decoded by a Schema), which a flat record of text does not.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import { orderedByParent } from "../packages/client/src/internal/lockRetry.js"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}
const rows = Number(arg("rows", "1000000"))
const mode = arg("mode", "spool")
const dates = process.argv.includes("--dates")

const input = Stream.range(0, rows - 1).pipe(
  Stream.map((i) => ({
    LastName: `Contact ${i}`,
    Email: `contact${i}@example.com`,
    // parents spread over the input, so the sort moves rows far (18-char ids: the sort compares
    // their 15-char form, which the suffix only checksums)
    AccountId: `001${String((i * 7919) % 20_000).padStart(12, "0")}AAA`,
    Description: `row ${i}, "quoted", ✓`,
    ...(dates ? { Birthdate: new Date(Date.UTC(1970, 0, 1 + (i % 20_000))) } : {})
  }))
)

/** The in-memory sort `orderByParent` used before (the whole input collected, then sorted). */
const inMemory = <X extends { readonly AccountId: string }>(s: Stream.Stream<X>) =>
  Stream.unwrap(Effect.map(Stream.runCollect(s), (all) =>
    Stream.fromIterable(
      Chunk.toReadonlyArray(all).map((x, i) => ({ x, i, key: x.AccountId })).sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i
      ).map((e) => e.x)
    )))

let peak = 0
let peakHeap = 0
let peakExternal = 0
const sample = setInterval(() => {
  const m = process.memoryUsage()
  peak = Math.max(peak, m.rss)
  peakHeap = Math.max(peakHeap, m.heapUsed)
  peakExternal = Math.max(peakExternal, m.external)
}, 20)
const started = Date.now()
const sorted = mode === "memory"
  ? inMemory(input)
  : mode === "none"
  ? input
  : mode === "auto"
  ? orderedByParent(input, { _tag: "Auto", references: [{ name: "AccountId", relationshipName: "Account" }] })
  : orderedByParent(input, { _tag: "Field", field: "AccountId" })
const { n, ordered } = await Effect.runPromise(
  Stream.runFold(sorted, { n: 0, last: "", ordered: true }, (acc, row) => ({
    n: acc.n + 1,
    last: row.AccountId,
    ordered: acc.ordered && row.AccountId >= acc.last
  }))
)
clearInterval(sample)
// VmHWM, the process's own peak (not `resourceUsage().maxRSS`: Linux keeps it across execve, so it
// can report the parent's RSS at fork; packages/bench/src/child.ts)
const hwm = (() => {
  try {
    return Number(/VmHWM:\s+(\d+)\s*kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024
  } catch {
    return process.resourceUsage().maxRSS * 1024
  }
})()
peak = Math.max(peak, process.memoryUsage().rss, hwm)
console.log(
  JSON.stringify({
    rows: n,
    mode,
    ...(dates ? { dates } : {}),
    ordered,
    peakRssMB: Math.round(peak / 1e6),
    peakHeapMB: Math.round(peakHeap / 1e6),
    peakExternalMB: Math.round(peakExternal / 1e6),
    seconds: (Date.now() - started) / 1000
  })
)
