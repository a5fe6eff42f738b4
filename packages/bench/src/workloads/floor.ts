/**
 * The floor: the same rows encoded to CSV with csv-stringify and parsed back with csv-parse, in one
 * process, streamed, nothing else. No client can spend less CPU than this on the same rows.
 */
import { parse } from "csv-parse"
import { stringify } from "csv-stringify"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { accountColumns, accountRows, matchesGenerated } from "../internal/data.js"
import { runChild } from "../child.js"
import type { RunSpec, WorkloadOutcome } from "../internal/spec.js"

export const run = async (spec: RunSpec): Promise<WorkloadOutcome> => {
  let rows = 0
  let failures = 0
  await pipeline(
    Readable.from(accountRows(0, spec.rows)),
    stringify({ header: true, columns: [...accountColumns] }),
    parse({ columns: true }),
    async function*(records: AsyncIterable<Record<string, string>>) {
      for await (const rec of records) {
        // Spot checks only: the floor should cost the CSV work and nothing else.
        if (rows % 997 === 0 && !matchesGenerated(rec)) failures++
        rows++
      }
    }
  )
  return { ok: rows === spec.rows && failures === 0, rows, failures }
}

runChild(run)
