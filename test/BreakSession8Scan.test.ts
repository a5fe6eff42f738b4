/**
 * Break session 8, MEM6's batch-list scan (`scanBatchInfoList`): on any list Salesforce could send
 * (pretty-printed or not, states spelled either way, messages holding escaped markup that looks
 * like the elements scanned for, counters absent), the batches wanted come out exactly as the whole
 * list's decode gives them, and the processed records are summed over every batch.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { parseBatchInfoList, scanBatchInfoList } from "../packages/client/src/internal/bulk1.js"

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const batch = fc.record({
  id: fc.stringMatching(/^751[0-9A-Za-z]{15}$/),
  state: fc.constantFrom("Queued", "InProgress", "Completed", "Failed", "NotProcessed", "Not Processed"),
  message: fc.option(
    fc.constantFrom(
      "</batchInfo>",
      "<id>751000000000000XXX</id>",
      "<numberRecordsProcessed>99</numberRecordsProcessed>",
      "a & b",
      "Zoë 東京 🚀"
    ),
    { nil: undefined }
  ),
  processed: fc.option(fc.nat(10_000), { nil: undefined })
})

/** Whitespace between tags: none, or as a pretty-printer writes it. */
const gap = fc.constantFrom("", "\n", "\n    ", "\r\n  ")

describe("scanBatchInfoList against the whole list's decode", () => {
  it.effect("any list, any batches wanted: the same infos, the same processed sum", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(fc.array(batch, { maxLength: 12 }), gap, fc.func(fc.boolean()), (batches, ws, want) => {
          const unique = batches.filter((b, i) => batches.findIndex((o) => o.id === b.id) === i)
          const body = unique.map((b) =>
            `${ws}<batchInfo>${ws}<id>${b.id}</id>${ws}<jobId>750x</jobId>${ws}<state>${b.state}</state>` +
            (b.message === undefined ? "" : `${ws}<stateMessage>${escape(b.message)}</stateMessage>`) +
            `${ws}<createdDate>2026-12-05T10:00:00.000Z</createdDate>` +
            (b.processed === undefined ? "" : `${ws}<numberRecordsProcessed>${b.processed}</numberRecordsProcessed>`) +
            `${ws}<numberRecordsFailed>0</numberRecordsFailed>${ws}</batchInfo>`
          ).join("")
          const xml = `<?xml version="1.0" encoding="UTF-8"?>${ws}<batchInfoList${
            ws === "" ? " " : ws
          }xmlns="http://www.force.com/2009/06/asyncapi/dataload">${body}${ws}</batchInfoList>`
          const wanted = (id: string) => want(id)
          const all = Effect.runSync(parseBatchInfoList(xml))
          const scanned = Effect.runSync(scanBatchInfoList(xml, wanted))
          expect(scanned.infos).toEqual(all.filter((b) => wanted(b.id)))
          expect(scanned.processed).toBe(all.reduce((n, b) => n + b.numberRecordsProcessed, 0))
        }),
        { numRuns: 300 }
      )
    ))
})
