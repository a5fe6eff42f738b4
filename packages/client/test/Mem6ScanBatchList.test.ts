/**
 * MEM6: the 1.0 batch watcher decodes only the batches it waits for from a job's batch list
 * (`scanBatchInfoList`); those come out exactly as the whole list's decode gives them, and the
 * records processed are summed over every batch listed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { parseBatchInfoList, scanBatchInfoList } from "../src/internal/bulk1.js"

const info = (id: string, state: string, processed: number, extra = "") =>
  `<batchInfo><id>${id}</id><jobId>750x</jobId><state>${state}</state>${extra}<createdDate>2026-12-05T10:00:00.000Z</createdDate>` +
  `<numberRecordsProcessed>${processed}</numberRecordsProcessed><numberRecordsFailed>1</numberRecordsFailed>` +
  `<totalProcessingTime>5</totalProcessingTime></batchInfo>`

const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<batchInfoList xmlns="http://www.force.com/2009/06/asyncapi/dataload">\n` +
  info("751a", "Completed", 10) + "\n" +
  info("751b", "Failed", 0, "<stateMessage>InvalidBatch : a &lt;bad&gt; &amp; row</stateMessage>") + "\n" +
  info("751c", "Not Processed", 0) + "\n" +
  info("751d", "InProgress", 7) + "\n</batchInfoList>"

describe("scanBatchInfoList", () => {
  it.effect("decodes the batches wanted as the whole list does, and sums every batch's processed records", () =>
    Effect.gen(function*() {
      const all = yield* parseBatchInfoList(xml)
      const wanted = new Set(["751b", "751c", "751zz"])
      const { infos, processed } = yield* scanBatchInfoList(xml, (id) => wanted.has(id))
      expect(infos).toEqual(all.filter((b) => wanted.has(b.id)))
      expect(infos.map((b) => [b.id, b.state, b.stateMessage])).toEqual([
        ["751b", "Failed", "InvalidBatch : a <bad> & row"],
        ["751c", "NotProcessed", undefined]
      ])
      expect(processed).toBe(17)
      const none = yield* scanBatchInfoList(xml, () => false)
      expect(none).toEqual({ infos: [], processed: 17 })
    }))

  it.effect("a JSON list and an empty list", () =>
    Effect.gen(function*() {
      const json = JSON.stringify({
        batchInfo: [
          { id: "751a", jobId: "750x", state: "Completed", numberRecordsProcessed: 4, numberRecordsFailed: 0 },
          { id: "751b", jobId: "750x", state: "Queued", numberRecordsProcessed: 0, numberRecordsFailed: 0 }
        ]
      })
      const { infos, processed } = yield* scanBatchInfoList(json, (id) => id === "751a")
      expect(infos.map((b) => [b.id, b.state, b.numberRecordsProcessed])).toEqual([["751a", "Completed", 4]])
      expect(processed).toBe(4)
      const empty = yield* scanBatchInfoList(
        `<?xml version="1.0" encoding="UTF-8"?><batchInfoList xmlns="http://www.force.com/2009/06/asyncapi/dataload"/>`,
        () => true
      )
      expect(empty).toEqual({ infos: [], processed: 0 })
    }))

  it.effect("an answer that is no batch list fails typed, as the whole list's decode does", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(scanBatchInfoList("<html>gateway error</html>", () => true))
      expect(e._tag).toBe("TransportError")
    }))
})
