/**
 * jsforce 3 workloads, written the way a jsforce user moving millions of rows would: records
 * streamed through csv-stringify into `bulk2` uploads (one job per million rows, under the 150 MB
 * upload limit), Bulk 1.0 batches of 10,000 records with several in flight, `bulk2.query` /
 * `bulk.query` record streams. jsforce has no parallel result download and no PK chunking: those
 * workloads run its only query path and say so in `detail`.
 */
import { stringify } from "csv-stringify"
import jsforce from "jsforce"
import type { Connection } from "jsforce"
import { Readable } from "node:stream"
import { accountColumns, accountRow, accountRows, contactColumns, contactRows, querySoql } from "../internal/data.js"
import { Digest, queryRowKey } from "../internal/digest.js"
import { onStall, runChild } from "../child.js"
import type { RunSpec, WorkloadOutcome } from "../internal/spec.js"

const connect = (spec: RunSpec): Connection => {
  const conn = new jsforce.Connection({
    instanceUrl: spec.instanceUrl,
    accessToken: spec.accessToken,
    version: spec.apiVersion
  })
  conn.bulk.pollInterval = spec.pollMs
  conn.bulk.pollTimeout = 3_600_000
  conn.bulk2.pollInterval = spec.pollMs
  conn.bulk2.pollTimeout = 3_600_000
  return conn
}

const ingest2 = async (conn: Connection, spec: RunSpec): Promise<WorkloadOutcome> => {
  const digest = new Digest()
  let failures = 0
  const perJob = 1_000_000
  for (let lo = 0; lo < spec.rows; lo += perJob) {
    const hi = Math.min(spec.rows, lo + perJob)
    const input = Readable.from(accountRows(lo, hi)).pipe(stringify({ header: true, columns: [...accountColumns] }))
    const res = await conn.bulk2.loadAndWaitForResults({
      object: "Account",
      operation: "insert",
      lineEnding: "LF",
      input,
      pollInterval: spec.pollMs,
      pollTimeout: 3_600_000
    })
    for (const r of res.successfulResults) digest.add(String(r.sf__Id).slice(0, 15))
    failures += res.failedResults.length + res.unprocessedRecords.length
  }
  return { ok: failures === 0 && digest.count === spec.rows, rows: digest.count, digest: digest.toString(), failures }
}

const ingest1 = async (conn: Connection, spec: RunSpec): Promise<WorkloadOutcome> => {
  const digest = new Digest()
  let failures = 0
  const job = conn.bulk.createJob("Account", "insert")
  await job.open()
  let next = 0
  const worker = async () => {
    for (;;) {
      const lo = next
      if (lo >= spec.rows) return
      next = Math.min(spec.rows, lo + spec.batchRows)
      const records: Array<Record<string, string>> = []
      for (let i = lo; i < next; i++) records.push({ ...accountRow(i) })
      const batch = job.createBatch()
      batch.on("queue", () => batch.poll(spec.pollMs, 3_600_000))
      const results = await batch.execute(records)
      for (const r of results) {
        if (r.success && r.id) digest.add(r.id.slice(0, 15))
        else failures++
      }
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, worker))
  await job.close()
  return { ok: failures === 0 && digest.count === spec.rows, rows: digest.count, digest: digest.toString(), failures }
}

/**
 * Counts and digests the records. jsforce feeds every 2.0 result page (and every 1.0 result file)
 * into one CSV parser, so the header line of each page after the first comes out as a record:
 * those are counted apart (`leaked`) so the cell can say exactly what went wrong.
 */
const drain = (stream: NodeJS.EventEmitter): Promise<{ digest: Digest; leaked: number }> =>
  new Promise((resolve, reject) => {
    const digest = new Digest()
    let leaked = 0
    onStall(
      () =>
        `${digest.count + leaked} records received; jsforce's record stream also pipes into an internal PassThrough ` +
        `(highWaterMark 500,000 objects) that nothing reads, so it stops near 1M records (jsforce/jsforce#697)`
    )
    stream.on("record", (r: Record<string, string>) => {
      if (r["Id"] === "Id") leaked++
      else digest.add(queryRowKey(r))
    })
    stream.on("end", () => resolve({ digest, leaked }))
    stream.on("error", reject)
  })

const query = async (conn: Connection, spec: RunSpec): Promise<WorkloadOutcome> => {
  const stream = spec.workload === "query-1.0-pk"
    ? await conn.bulk.query(querySoql)
    : await conn.bulk2.query(querySoql, { pollInterval: spec.pollMs, pollTimeout: 3_600_000 })
  const { digest, leaked } = await drain(stream)
  const ok = digest.count === spec.rows && leaked === 0
  const what = spec.workload === "query-1.0-pk" ? "result file" : "result page"
  const detail = ok
    ? undefined
    : leaked > 0
    ? `returned ${leaked} bogus records: the header line of every ${what} after the first (jsforce feeds them all to one CSV parser); ${digest.count} real rows`
    : `returned ${digest.count} rows`
  return { ok, rows: digest.count + leaked, digest: digest.toString(), ...(detail ? { detail } : {}) }
}

/** Contention: the same Contacts through `bulk2.loadAndWaitForResults`; jsforce has no lock handling. */
const contention = async (conn: Connection, spec: RunSpec): Promise<WorkloadOutcome> => {
  const input = Readable.from(contactRows(0, spec.rows, spec.parentIds ?? [])).pipe(
    stringify({ header: true, columns: [...contactColumns] })
  )
  const res = await conn.bulk2.loadAndWaitForResults({
    object: "Contact",
    operation: "insert",
    lineEnding: "LF",
    input,
    pollInterval: spec.pollMs,
    pollTimeout: 3_600_000
  })
  const lockFailuresLeft = res.failedResults.filter((r) => String(r.sf__Error).startsWith("UNABLE_TO_LOCK_ROW")).length
  const failures = res.failedResults.length + res.unprocessedRecords.length
  return {
    ok: res.successfulResults.length + failures === spec.rows,
    rows: res.successfulResults.length,
    failures,
    lockFailuresLeft,
    ...(failures > 0
      ? { detail: `${res.failedResults.length} failed (${lockFailuresLeft} on locks), ${res.unprocessedRecords.length} unprocessed` }
      : {})
  }
}

/**
 * 1.0 contention: the same Contacts through one Parallel Job/Batch job, batches of `batchRows`
 * with `concurrency` in flight (as `ingest1`); jsforce has no lock handling.
 */
const contention1 = async (conn: Connection, spec: RunSpec): Promise<WorkloadOutcome> => {
  const parents = spec.parentIds ?? []
  const job = conn.bulk.createJob("Contact", "insert")
  await job.open()
  let saved = 0
  let failed = 0
  let lockFailuresLeft = 0
  let next = 0
  const worker = async () => {
    for (;;) {
      const lo = next
      if (lo >= spec.rows) return
      next = Math.min(spec.rows, lo + spec.batchRows)
      const records: Array<Record<string, string>> = []
      for (const row of contactRows(lo, next, parents)) records.push({ ...row })
      const batch = job.createBatch()
      batch.on("queue", () => batch.poll(spec.pollMs, 3_600_000))
      const results = await batch.execute(records)
      for (const r of results) {
        if (r.success) saved++
        else {
          failed++
          if ((r.errors ?? []).some((e) => String(e).startsWith("UNABLE_TO_LOCK_ROW"))) lockFailuresLeft++
        }
      }
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, worker))
  await job.close()
  return {
    ok: saved + failed === spec.rows,
    rows: saved,
    failures: failed,
    lockFailuresLeft,
    ...(failed > 0 ? { detail: `${failed} failed (${lockFailuresLeft} on locks)` } : {})
  }
}

export const run = async (spec: RunSpec): Promise<WorkloadOutcome> => {
  const conn = connect(spec)
  switch (spec.workload) {
    case "ingest-2.0":
      return ingest2(conn, spec)
    case "ingest-1.0":
      return ingest1(conn, spec)
    case "ingest-2.0-contention":
      return contention(conn, spec)
    case "ingest-1.0-contention":
      return contention1(conn, spec)
    case "query-2.0":
    case "query-2.0-parallel":
    case "query-1.0-pk":
      return query(conn, spec)
    case "ingest-2.0-contention-ordered":
    case "ingest-1.0-contention-ordered":
    case "ingest-2.0-contention-auto":
    case "ingest-1.0-contention-auto":
      // jsforce has no ordering option (see README, "Contention")
      throw new Error(`${spec.workload} is an sfbulk workload: jsforce cannot order rows by parent`)
    case "floor":
      throw new Error("the floor is not a jsforce workload")
  }
}

runChild(run)
