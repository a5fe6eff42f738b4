/**
 * `sfbulk limits`: the org's bulk-relevant limits (used, remaining, max) from the REST API Limits
 * resource, as a table or with `--json` one JSON object; `--all` lists every limit the org reports.
 */
import { Limits } from "@sfbulk/client"
import * as Effect from "effect/Effect"
import { type OutputFlags, printJson, printText, table } from "../report.js"

/** The flags of `limits`, parsed. */
export interface LimitsArgs extends OutputFlags {
  readonly all: boolean
}

/** One row of the output (also the `--json` shape of each limit). */
export interface LimitRow {
  readonly name: string
  readonly used: number
  readonly remaining: number
  readonly max: number
}

/** The rows to show: the bulk-relevant limits in a fixed order, then (with `all`) the rest by name. */
export const rows = (limits: Limits.OrgLimits, all: boolean): ReadonlyArray<LimitRow> => {
  const names = [
    ...Limits.bulkRelevant.filter((n) => n in limits),
    ...(all ? Object.keys(limits).filter((n) => !Limits.bulkRelevant.includes(n)).sort() : [])
  ]
  return names.map((name) => {
    const l = limits[name]!
    return { name, used: Math.max(0, l.Max - l.Remaining), remaining: l.Remaining, max: l.Max }
  })
}

const n = (x: number) => x.toLocaleString("en-US")

/** Runs `limits`. */
export const run = (a: LimitsArgs) =>
  Effect.gen(function*() {
    const limits = yield* Limits.get
    const shown = rows(limits, a.all)
    if (a.json) return printJson({ ok: true, command: "limits", limits: shown, exitCode: 0 })
    const missing = a.all ? [] : Limits.bulkRelevant.filter((name) => !(name in limits))
    const pct = (r: LimitRow) => (r.max > 0 ? `${Math.round((r.used * 100) / r.max)}%` : "-")
    printText(
      a,
      table(
        ["LIMIT", "USED", "REMAINING", "MAX", "USED %"],
        shown.map((r) => [r.name, n(r.used), n(r.remaining), n(r.max), pct(r)])
      ) +
        (missing.length > 0 ? `\n(not reported by this org: ${missing.join(", ")})` : "") +
        (a.all ? "" : "\n(--all lists every limit of the org)")
    )
  })
