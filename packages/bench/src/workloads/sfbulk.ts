/**
 * sfbulk workloads: the public `BulkClient` API as its README shows it, rows given as a lazy
 * iterable, query rows consumed as a `Stream`. Same poll interval and concurrency as jsforce.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { BulkClient, SalesforceAuth } from "@sfbulk/client"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { mark, runChild } from "../child.js"
import { accountColumns, accountRows, contactColumns, contactRows, querySoql } from "../internal/data.js"
import { Digest, queryRowKey } from "../internal/digest.js"
import { apiOf, isContention, isOrdered, orderByParentOf, type RunSpec, type WorkloadOutcome } from "../internal/spec.js"

const layerFor = (spec: RunSpec) =>
  BulkClient.layer().pipe(
    Layer.provide(
      SalesforceAuth.fromSession({ instanceUrl: spec.instanceUrl, accessToken: spec.accessToken, apiVersion: spec.apiVersion })
    ),
    Layer.provide(NodeHttpClient.layerUndici)
  )

const ingest = (spec: RunSpec) =>
  Effect.gen(function*() {
    const outcome = yield* BulkClient.insert("Account", accountRows(0, spec.rows), {
      api: spec.workload === "ingest-1.0" ? "1.0" : "2.0",
      columns: [...accountColumns],
      concurrency: spec.concurrency,
      // realistic org: sfbulk's default polling (adaptive on 2.0), the API economy being measured
      ...(spec.org === "realistic" ? {} : { pollSchedule: Schedule.spaced(Duration.millis(spec.pollMs)) }),
      // 1.0: ids only, like jsforce's results (no re-read of each batch's request to pair rows)
      ...(spec.workload === "ingest-1.0" ? { maxBatchRecords: spec.batchRows, successRows: false } : {})
    })
    // The ids, as a user who keeps them would read them: one pass over the successes, chunk by
    // chunk as the README advises for millions of rows (jsforce hands them over in memory). With
    // readIds off, only the summary counts are used.
    mark("insert returned")
    const digest = new Digest()
    if (spec.readIds) {
      yield* Stream.runForEachChunk(outcome.successes, (chunk) => {
        for (const s of chunk) digest.add(s.id.slice(0, 15))
        return Effect.void
      })
    }
    const s = outcome.summary
    const failures = s.failed + s.unprocessed
    const out: WorkloadOutcome = {
      ok: failures === 0 && s.succeeded === spec.rows && (!spec.readIds || digest.count === spec.rows),
      rows: spec.readIds ? digest.count : s.succeeded,
      ...(spec.readIds ? { digest: digest.toString() } : {}),
      failures,
      ...(failures > 0 ? { detail: `${s.failed} failed, ${s.unprocessed} unprocessed` } : {})
    }
    return out
  })

/**
 * Contention: Contacts whose parents are shared across batches (2.0: internal batches; 1.0: the
 * job's parallel batches of `batchRows`), with sfbulk's lock handling on (`retryLockedRows`), and in
 * the `-ordered` workloads the input sorted by parent (`orderByParent: "AccountId"`), in the `-auto`
 * ones by the parent lookups the describe names (`orderByParent: "auto"`). Reports the rows still
 * failed on locks.
 */
const contention = (spec: RunSpec) =>
  Effect.gen(function*() {
    const v1 = apiOf(spec.workload) === "1.0"
    const outcome = yield* BulkClient.insert("Contact", contactRows(0, spec.rows, spec.parentIds ?? []), {
      api: v1 ? "1.0" : "2.0",
      ...(v1 ? { maxBatchRecords: spec.batchRows } : {}),
      columns: [...contactColumns],
      concurrency: spec.concurrency,
      retryLockedRows: 5,
      ...(isOrdered(spec.workload) ? { orderByParent: orderByParentOf(spec.workload) } : {}),
      ...(spec.org === "realistic" ? {} : { pollSchedule: Schedule.spaced(Duration.millis(spec.pollMs)) })
    })
    const s = outcome.summary
    let lockFailuresLeft = 0
    if (s.failed > 0) {
      yield* Stream.runForEachChunk(outcome.failures, (chunk) => {
        for (const f of chunk) if (f.code === "UNABLE_TO_LOCK_ROW") lockFailuresLeft++
        return Effect.void
      })
    }
    return {
      ok: s.succeeded + s.failed + s.unprocessed === spec.rows,
      rows: s.succeeded,
      failures: s.failed + s.unprocessed,
      lockFailuresLeft,
      ...(s.failed + s.unprocessed > 0 ? { detail: `${s.failed} failed (${lockFailuresLeft} on locks), ${s.unprocessed} unprocessed` } : {})
    } satisfies WorkloadOutcome
  })

const query = (spec: RunSpec) =>
  Effect.gen(function*() {
    const digest = new Digest()
    const options = spec.workload === "query-1.0-pk"
      ? { api: "1.0" as const, pkChunking: spec.chunkSize }
      : { api: "2.0" as const, concurrency: spec.workload === "query-2.0-parallel" ? spec.concurrency : 1 }
    yield* Stream.runForEachChunk(
      BulkClient.query(querySoql, {
        ...options,
        ...(spec.org === "realistic" ? {} : { pollSchedule: Schedule.spaced(Duration.millis(spec.pollMs)) })
      }),
      (rows) => {
        for (const row of rows) digest.add(queryRowKey(row))
        return Effect.void
      }
    )
    return { ok: digest.count === spec.rows, rows: digest.count, digest: digest.toString() } satisfies WorkloadOutcome
  })

export const run = (spec: RunSpec): Promise<WorkloadOutcome> => {
  const program = isContention(spec.workload)
    ? contention(spec)
    : spec.workload.startsWith("ingest-")
    ? ingest(spec)
    : query(spec)
  return Effect.runPromise(
    program.pipe(
      Effect.provide(layerFor(spec)),
      Effect.catchAll((e) => Effect.succeed<WorkloadOutcome>({ ok: false, rows: 0, detail: `${e._tag}: ${e.message}`.slice(0, 600) }))
    )
  )
}

runChild(run)
