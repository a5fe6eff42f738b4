/**
 * Progress display on standard error: a redrawn bar on a terminal, plain lines (at most one a
 * second, plus every state change) when standard error is not a terminal or `--json` is set, so
 * logs and CI output stay readable and standard output stays clean for data.
 */
import type { BulkClient } from "@sfbulk/client"

/** How progress is shown. */
export type Mode = "bar" | "lines" | "off"

/** Picks the mode: bar on a TTY, lines otherwise or with `--json`, nothing with `--quiet`. */
export const modeFor = (options: { readonly json: boolean; readonly quiet: boolean }): Mode =>
  options.quiet ? "off" : options.json || !process.stderr.isTTY ? "lines" : "bar"

const n = (x: number) => x.toLocaleString("en-US")

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

const rate = (count: number, ms: number) => (ms <= 0 ? "-" : `${n(Math.round((count * 1000) / ms))} rows/s`)

const bar = (ratio: number, width = 24) => {
  const r = Math.max(0, Math.min(1, ratio))
  const full = Math.round(r * width)
  return "█".repeat(full) + "░".repeat(width - full)
}

/** A live progress line for one operation. */
export interface Reporter {
  /** Ingest progress from the client's `onProgress`. */
  readonly ingest: (p: BulkClient.Progress) => void
  /** Rows exported so far. */
  readonly rows: (count: number, state?: string) => void
  /** Ends the display (clears the bar; prints a last line in lines mode). */
  readonly done: () => void
}

/** A reporter for an operation called `label` (e.g. `insert Account`). */
export const reporter = (mode: Mode, label: string): Reporter => {
  const started = Date.now()
  let lastDraw = 0
  let lastState = ""
  let lastText = ""
  let lastKey = ""
  let printedKey = ""
  let drawn = false
  // `core` is the text without timings: the last line is repeated at the end only if it moved.
  const draw = (core: string, state: string, speed: string, force: boolean) => {
    if (mode === "off") return
    const now = Date.now()
    const elapsed = now - started
    const text = `${core} · ${seconds(elapsed)} · ${speed}`
    lastText = text
    lastKey = core
    if (mode === "bar") {
      if (!force && now - lastDraw < 100) return
      lastDraw = now
      const width = process.stderr.columns ?? 100
      process.stderr.write(`\r\x1b[K${text.length > width - 1 ? text.slice(0, width - 1) : text}`)
      drawn = true
      return
    }
    if (!force && state === lastState && now - lastDraw < 1000) return
    lastDraw = now
    lastState = state
    printedKey = core
    process.stderr.write(`${text}\n`)
  }
  return {
    ingest: (p) => {
      const elapsed = Date.now() - started
      const state = p.last?.state ?? "Reading"
      const total = Math.max(p.rowsUploaded, p.recordsProcessed)
      const text = p.recordsProcessed === 0 && p.piecesDone === 0
        ? `${label}  ${bar(0)}  read ${n(p.rowsRead)} · uploaded ${n(p.rowsUploaded)} · ${state}`
        : `${label}  ${bar(total === 0 ? 0 : p.recordsProcessed / total)}  ${n(p.recordsProcessed)}/${n(total)} processed · ${
          n(p.recordsFailed)
        } failed · ${state}`
      draw(text, state, rate(p.recordsProcessed === 0 ? p.rowsRead : p.recordsProcessed, elapsed), false)
    },
    rows: (count, state) => {
      const elapsed = Date.now() - started
      draw(`${label}  ${n(count)} rows · ${state ?? "Downloading"}`, state ?? "Downloading", rate(count, elapsed), false)
    },
    done: () => {
      if (mode === "bar" && drawn) process.stderr.write(`\r\x1b[K`)
      else if (mode === "lines" && lastText !== "" && lastKey !== printedKey) process.stderr.write(`${lastText}\n`)
    }
  }
}
