/**
 * `Csv.encode` and the ingest pipelines' writer (`rows.ts`) write the same row the same way:
 * relationship objects flattened to their columns (`Account.Ext__c`), null as `#N/A`, dates ISO.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Csv from "../src/Csv.js"
import { lineEncoder } from "../src/internal/rows.js"

const rows = [
  { Name: "Acme, Inc.", Account: { Ext__c: "A-1" }, Phone: null, Since: new Date("2024-01-02T03:04:05.000Z") },
  { Name: "Globex", Account: { Ext__c: "A-2" }, Phone: "555", Since: undefined }
]

describe("one records-to-CSV writer", () => {
  it.effect("Csv.encode flattens relationship fields and writes the cells the ingest writer writes", () =>
    Effect.gen(function*() {
      // Csv.Row does not type relationship objects; they are flattened at run time all the same
      const bytes = yield* Stream.runCollect(Csv.encode(Stream.fromIterable(rows as unknown as ReadonlyArray<Csv.Row>)))
      const text = Chunk.toReadonlyArray(bytes).map((b: Uint8Array) => new TextDecoder().decode(b)).join("")
      const lines = text.trimEnd().split("\n")
      expect(lines[0]).toBe("Name,Account.Ext__c,Phone,Since")
      const enc = yield* lineEncoder({}, rows[0])
      expect(enc.columns).toEqual(["Name", "Account.Ext__c", "Phone", "Since"])
      const cells = yield* enc.cells(rows, 0)
      expect(cells).toEqual([["Acme, Inc.", "A-1", "#N/A", "2024-01-02T03:04:05.000Z"], ["Globex", "A-2", "555", ""]])
      expect(lines.slice(1)).toEqual(["\"Acme, Inc.\",A-1,#N/A,2024-01-02T03:04:05.000Z", "Globex,A-2,555,"])
    }))
})
