/**
 * What the CLI prints when a command ends: a short human summary on standard output, or with
 * `--json` exactly one JSON object (one line) for scripts.
 */
import type { ResultFiles } from "./results.js"

/** Output flags shared by every command. */
export interface OutputFlags {
  readonly json: boolean
  readonly quiet: boolean
}

/** The summary of an ingest operation (also the `--json` shape). */
export interface IngestSummary {
  readonly ok: boolean
  readonly command: string
  readonly object: string
  readonly operation: string
  readonly api: string
  readonly jobIds: ReadonlyArray<string>
  readonly batchIds?: ReadonlyArray<string> | undefined
  readonly rowsRead: number
  readonly processed: number
  readonly succeeded: number
  readonly created: number
  readonly failed: number
  readonly unprocessed: number
  readonly elapsedMs: number
  readonly rowsPerSecond: number
  readonly errorsByCode: Readonly<Record<string, number>>
  /** Unprocessed rows per reason Salesforce gave (results.ts `Written`); empty when it gave none. */
  readonly unprocessedReasons?: Readonly<Record<string, number>> | undefined
  readonly files?: ResultFiles | undefined
  readonly exitCode: number
}

const n = (x: number) => x.toLocaleString("en-US")

/**
 * A duration in milliseconds as a person reads it: "412 ms", "12.3 s", "4 min 05 s", "2 h 03 min"
 * (the JSON summary carries the exact `elapsedMs`).
 */
export const elapsedText = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "-"
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`
  const totalSeconds = Math.floor(ms / 1000)
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, "0")} s`
  const totalMinutes = Math.floor(totalSeconds / 60)
  return `${Math.floor(totalMinutes / 60)} h ${String(totalMinutes % 60).padStart(2, "0")} min`
}

/** Prints one JSON line on standard output. */
export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** Prints text on standard output (nothing with `--quiet`). */
export const printText = (flags: OutputFlags, text: string): void => {
  if (!flags.quiet) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`)
}

/** Human form of an ingest summary. */
export const ingestText = (s: IngestSummary): string => {
  const lines = [
    `${s.operation} ${s.object} (Bulk API ${s.api}): ${n(s.rowsRead)} rows -> ${n(s.succeeded)} succeeded` +
    (s.operation === "insert" || s.operation === "upsert" ? ` (${n(s.created)} created)` : "") +
    `, ${n(s.failed)} failed, ${n(s.unprocessed)} unprocessed in ${elapsedText(s.elapsedMs)} (${n(s.rowsPerSecond)} rows/s)`,
    s.jobIds.length === 0
      ? "  no job was created: the input has no rows"
      : `  job${s.jobIds.length === 1 ? "" : "s"}: ${s.jobIds.join(", ")}`
  ]
  const codes = Object.entries(s.errorsByCode).sort((a, b) => b[1] - a[1])
  if (codes.length > 0) lines.push(`  failures: ${codes.map(([c, k]) => `${c} x${n(k)}`).join(", ")}`)
  const reasons = Object.entries(s.unprocessedReasons ?? {}).sort((a, b) => b[1] - a[1])
  if (reasons.length > 0) {
    const more = reasons.length > 3 ? `, and ${reasons.length - 3} more (see --json)` : ""
    lines.push(`  unprocessed because: ${reasons.slice(0, 3).map(([r, k]) => `${r} x${n(k)}`).join(", ")}${more}`)
  }
  if (s.files) {
    lines.push(`  success:     ${s.files.success}`)
    lines.push(`  failed:      ${s.files.failed}`)
    lines.push(`  unprocessed: ${s.files.unprocessed}`)
  }
  return lines.join("\n")
}

/** Renders rows as an aligned text table. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  return [tableLine(header, widths), tableLine(widths.map((w) => "-".repeat(w)), widths), ...rows.map((r) => tableLine(r, widths))].join(
    "\n"
  )
}

/** One line of a table: each cell on one line, cut to its column's width (`…` marks a cut), padded. */
export const tableLine = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  widths.map((w, i) => {
    // a line break or tab inside a value would break the alignment
    const c = (cells[i] ?? "").replace(/\r\n|[\r\n]/g, "\u21b5").replace(/[\t\u0000-\u001f]/g, " ")
    return (c.length > w ? `${c.slice(0, Math.max(0, w - 1))}\u2026` : c).padEnd(w)
  }).join("  ").trimEnd()

/**
 * Column widths that fit `total` characters (two between columns): the natural widths when they
 * fit, else the widest columns are narrowed to a common cap, never below `min` (the table may then
 * be wider than `total`).
 */
export const fitWidths = (natural: ReadonlyArray<number>, total: number, min = 8): Array<number> => {
  const budget = total - 2 * Math.max(0, natural.length - 1)
  const sum = (cap: number) => natural.reduce((s, w) => s + Math.min(w, cap), 0)
  let cap = Math.max(0, ...natural)
  while (cap > min && sum(cap) > budget) cap--
  return natural.map((w) => Math.min(w, cap))
}
