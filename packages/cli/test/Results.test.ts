import { describe, expect, it } from "@effect/vitest"
import type { BulkClient } from "@sfbulk/client"
import { parse } from "csv-parse/sync"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Results from "../src/internal/results.js"

const summary: BulkClient.Summary = {
  api: "2.0",
  object: "Account",
  operation: "insert",
  jobIds: ["750000000000001AAA"],
  batchIds: [],
  rowsRead: 4,
  processed: 3,
  succeeded: 1,
  created: 1,
  failed: 2,
  unprocessed: 1,
  elapsed: Duration.millis(10)
}

const outcome: BulkClient.Outcome = {
  summary,
  successes: Stream.make({
    _tag: "Success" as const,
    jobId: "750000000000001AAA",
    id: "001000000000001AAA",
    created: true,
    row: { Name: "@Acme", Phone: "-12" }
  }),
  failures: Stream.make(
    {
      _tag: "Failure" as const,
      jobId: "750000000000001AAA",
      code: "REQUIRED_FIELD_MISSING",
      message: "Required fields are missing: [Name]",
      fields: ["Name"],
      errors: [{ code: "REQUIRED_FIELD_MISSING", message: "Required fields are missing: [Name]", fields: ["Name"] }],
      row: { Name: "", Phone: "1" }
    },
    {
      _tag: "Failure" as const,
      jobId: "750000000000001AAA",
      code: "STRING_TOO_LONG",
      message: "Name: data value too large",
      fields: ["Name"],
      errors: [
        { code: "STRING_TOO_LONG", message: "Name: data value too large", fields: ["Name"] },
        { code: "INVALID_FIELD", message: "bad", fields: [] }
      ],
      row: { Name: "x".repeat(300), Phone: "2" }
    }
  ),
  unprocessed: Stream.make({ _tag: "Unprocessed" as const, jobId: "750000000000001AAA", row: { Name: "=cmd()", Phone: "3" } })
}

const read = (path: string) => parse(Fs.readFileSync(path, "utf8"), { columns: true }) as Array<Record<string, string>>

describe("result files", () => {
  it.effect("writes the three files with Salesforce's columns, error text, codes counted and formulas guarded", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-results-"))
      const written = yield* Results.write(Results.fromOutcome(outcome, ["Name", "Phone"]), {
        dir,
        jobId: "750000000000001AAA",
        formulaGuard: true
      })
      expect(written).toMatchObject({ succeeded: 1, failed: 2, unprocessed: 1 })
      expect(written.errorsByCode).toEqual({ REQUIRED_FIELD_MISSING: 1, STRING_TOO_LONG: 1 })
      expect(written.files.success).toBe(Path.join(dir, "750000000000001AAA-success.csv"))
      expect(read(written.files.success)).toEqual([{ sf__Id: "001000000000001AAA", sf__Created: "true", Name: "'@Acme", Phone: "-12" }])
      const failed = read(written.files.failed)
      expect(failed.map((f) => f.sf__Error)).toEqual([
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
        "STRING_TOO_LONG:Name: data value too large:Name -- INVALID_FIELD:bad: --"
      ])
      expect(Object.keys(failed[0]!)).toEqual(["sf__Id", "sf__Error", "Name", "Phone"])
      expect(read(written.files.unprocessed)).toEqual([{ Name: "'=cmd()", Phone: "3" }])
    }))

  it.effect("empty results still get a header row; without the guard cells are written as received", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sfbulk-results-"))
      const written = yield* Results.write(
        Results.fromOutcome({ ...outcome, failures: Stream.empty, successes: Stream.empty }, ["Name", "Phone"]),
        { dir, jobId: "750000000000002AAA", formulaGuard: false }
      )
      expect(Fs.readFileSync(written.files.success, "utf8")).toBe("sf__Id,sf__Created,Name,Phone\n")
      expect(Fs.readFileSync(written.files.failed, "utf8")).toBe("sf__Id,sf__Error,Name,Phone\n")
      expect(read(written.files.unprocessed)).toEqual([{ Name: "=cmd()", Phone: "3" }])
    }))
})
