/**
 * Bulk API 1.0 jobInfo/batchInfo answers are decoded with a Schema: counters become numbers,
 * "Not Processed" is spelled NotProcessed, and an answer that does not fit (an unknown state, a
 * counter that is not a number) is a typed TransportError instead of a value cast into shape.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Scheduler from "effect/Scheduler"
import { parseBatchInfo, parseBatchInfoList, parseJobInfo } from "../src/internal/bulk1.js"

const job = (inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><id>750x00000000001AAA</id><operation>insert</operation><object>Account</object>${inner}<contentType>CSV</contentType><apiVersion>66.0</apiVersion><numberRecordsProcessed>7</numberRecordsProcessed></jobInfo>`

describe("1.0 info documents", () => {
  it.effect("decodes jobInfo XML and JSON alike, with Salesforce's defaults for absent fields", () =>
    Effect.gen(function*() {
      const xml = yield* parseJobInfo(job("<state>Closed</state>"))
      expect(xml).toMatchObject({
        id: "750x00000000001AAA",
        state: "Closed",
        contentType: "CSV",
        numberRecordsProcessed: 7,
        numberBatchesTotal: 0,
        concurrencyMode: "Parallel"
      })
      const json = yield* parseJobInfo(
        JSON.stringify({
          id: "750x00000000001AAA",
          operation: "upsert",
          object: "Account",
          state: "Open",
          apiVersion: 66,
          numberRecordsFailed: 2,
          externalIdFieldName: "Ext__c"
        })
      )
      expect(json).toMatchObject({ operation: "upsert", apiVersion: "66.0", numberRecordsFailed: 2, externalIdFieldName: "Ext__c" })
    }))

  it.effect("an unknown state or a counter that is not a number is a typed TransportError", () =>
    Effect.gen(function*() {
      const state = yield* Effect.flip(parseJobInfo(job("<state>Exploded</state>")))
      expect(state).toMatchObject({ _tag: "TransportError", unparseable: true })
      expect(state.description).toContain("Exploded")
      const count = yield* Effect.flip(
        parseBatchInfo(
          `<batchInfo><id>751x</id><jobId>750x</jobId><state>Completed</state><numberRecordsProcessed>many</numberRecordsProcessed></batchInfo>`
        )
      )
      expect(count).toMatchObject({ _tag: "TransportError", unparseable: true })
    }))

  it.effect("batchInfoList: every batch decoded, Not Processed spelled NotProcessed", () =>
    Effect.gen(function*() {
      const list = yield* parseBatchInfoList(
        `<batchInfoList><batchInfo><id>751a</id><jobId>750x</jobId><state>Not Processed</state></batchInfo><batchInfo><id>751b</id><jobId>750x</jobId><state>Completed</state><numberRecordsProcessed>3</numberRecordsProcessed></batchInfo></batchInfoList>`
      )
      expect(list.map((b) => [b.id, b.state, b.numberRecordsProcessed])).toEqual([["751a", "NotProcessed", 0], ["751b", "Completed", 3]])
    }))

  it.effect("a job's list of a thousand batches is decoded without giving up the thread (memory: the list dies young)", () =>
    Effect.gen(function*() {
      let b = ""
      for (let i = 0; i < 1_000; i++) {
        b += `<batchInfo><id>751${String(i).padStart(15, "0")}</id><jobId>750x</jobId><state>${
          i % 2 === 0 ? "Completed" : "InProgress"
        }</state><numberRecordsProcessed>${i}</numberRecordsProcessed></batchInfo>`
      }
      // a scheduler that counts the fiber's yields (an Effect per batch ran past the yield budget:
      // the list then lived across event-loop turns and young GCs)
      let yields = 0
      const scheduler: Scheduler.Scheduler = {
        scheduleTask: (task, priority) => {
          yields++
          Scheduler.defaultScheduler.scheduleTask(task, priority)
        },
        shouldYield: (fiber) => Scheduler.defaultScheduler.shouldYield(fiber)
      }
      const list = yield* parseBatchInfoList(`<batchInfoList>${b}</batchInfoList>`).pipe(Effect.withScheduler(scheduler))
      expect(yields).toBe(0)
      expect(list.length).toBe(1_000)
      expect(list[999]).toMatchObject({ id: "751000000000000999", state: "InProgress", numberRecordsProcessed: 999 })
      const bad = yield* Effect.flip(
        parseBatchInfoList(`<batchInfoList>${b}<batchInfo><id>751b</id><state>Sleeping</state></batchInfo></batchInfoList>`)
      )
      expect(bad).toMatchObject({ _tag: "TransportError", unparseable: true })
      expect(bad.message).toContain("batchInfoList")
    }))
})
