/**
 * Adding one Bulk API 1.0 batch so that it lands exactly once, even when the answer to its POST is
 * lost (connection reset, timeout, 5xx after the server acted).
 *
 * A POST is never re-sent blindly. After an ambiguous failure the job's batches are listed and
 * every batch created since shortly before the POST is compared, by the SHA-256 of its original
 * request, with what was sent. Two rules keep identical content (the same rows in two pieces)
 * from fooling that comparison:
 *
 * - **Claims.** Every batch id handed to a caller is claimed in a ledger kept per job (per
 *   transport); a claimed batch is never handed to anyone else. A batch whose POST was answered is
 *   claimed before the next check can run.
 * - **One check at a time, with no POST in flight.** A check lists the job's batches while no POST
 *   of that job is in flight: a batch in the list is either claimed (answered) or came from a POST
 *   whose answer was lost. Batches with the same content are interchangeable, so any unanswered
 *   piece may take any unclaimed one: what matters is that each is taken once. POSTs share the job's
 *   gate; a check takes it whole, and a check waiting for it holds back new POSTs, so it is never
 *   starved.
 *
 * A check that cannot be made (the list or a request cannot be read) fails with that error rather
 * than sending the body again: a duplicate cannot be undone, a failure can be retried.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import type { AddBatchOptions, BatchBody, BatchInfo, JobInfo, Records } from "../Bulk1.js"
import { type BulkError, InvalidInputError } from "../BulkError.js"
import type * as Csv from "../Csv.js"
import { bodyOf, encodeRecords, parseBatchInfo, parseBatchInfoList } from "./bulk1.js"
import { isDroppedDownload } from "./resumable.js"
import { spoolToFile, tempDir } from "./split.js"
import * as Transport from "./transport.js"
import { checkCsv, checkedCsvStream, toUtf8, withoutBom } from "./validate.js"

// ---------------------------------------------------------------------------------------------
// the per-job ledger
// ---------------------------------------------------------------------------------------------

/** More permits than POSTs can ever be in flight: a check takes them all. */
const ALL = 1_000_000

interface Ledger {
  /** Batch ids handed to a caller of this transport. */
  readonly claimed: Set<string>
  /** SHA-256 of each batch's original request, once read (a batch's request never changes). */
  readonly hashes: Map<string, string>
  /** Passed by every POST and held by a waiting check, so that a check is never starved. */
  readonly turnstile: Effect.Semaphore
  /** One permit per POST in flight; a check takes them all. */
  readonly posts: Effect.Semaphore
}

/** Ledgers by transport (so that they go with it) and job id. */
const ledgers = globalValue(
  Symbol.for("@sfbulk/client/internal/addBatch/ledgers"),
  () => new WeakMap<object, Map<string, Ledger>>()
)

const ledgerOf = (t: Transport.Transport["Type"], jobId: string): Ledger => {
  let jobs = ledgers.get(t)
  if (jobs === undefined) ledgers.set(t, jobs = new Map())
  let ledger = jobs.get(jobId)
  if (ledger === undefined) {
    ledger = {
      claimed: new Set(),
      hashes: new Map(),
      turnstile: Effect.unsafeMakeSemaphore(1),
      posts: Effect.unsafeMakeSemaphore(ALL)
    }
    jobs.set(jobId, ledger)
  }
  return ledger
}

/** Drops a job's ledger once no batch can be added to it any more (closed or aborted). */
export const forgetJob = (t: Transport.Transport["Type"], jobId: string): void => {
  ledgers.get(t)?.delete(jobId)
}

// ---------------------------------------------------------------------------------------------
// bodies
// ---------------------------------------------------------------------------------------------

const INGEST = new Set<string>(["insert", "update", "upsert", "delete", "hardDelete"])
type IngestOperation = "insert" | "update" | "upsert" | "delete" | "hardDelete"

const fileBytes = (path: string): Stream.Stream<Uint8Array, BulkError> =>
  NodeStream.fromReadable(
    () => Fs.createReadStream(path, { highWaterMark: 256 * 1024 }),
    (e) => new InvalidInputError({ what: `cannot read the spool file ${path}: ${String(e)}` })
  )

/** Whether a value is an Effect `Stream`. */
export const isStream = (u: unknown): u is Stream.Stream<unknown, unknown> => Predicate.hasProperty(u, Stream.StreamTypeId)

const toBytes = (
  contentType: string,
  body: BatchBody
): string | Uint8Array | Stream.Stream<Uint8Array, BulkError> => {
  if (typeof body === "string" || body instanceof Uint8Array) return body
  if (isStream(body)) return body as Stream.Stream<Uint8Array, BulkError>
  const recs: Records = Predicate.hasProperty(body, "_tag") && (body as Records)._tag === "Records"
    ? body as Records
    : { _tag: "Records", records: body as Iterable<Csv.Row> }
  const source = isStream(recs.records)
    ? recs.records as Stream.Stream<Csv.Row, BulkError>
    : Stream.fromIterable(recs.records as Iterable<Csv.Row>)
  return encodeRecords(contentType, source, recs.columns)
}

const concat = (chunks: Iterable<Uint8Array>): Uint8Array => {
  const all = [...chunks]
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of all) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/**
 * The bytes to send: raw CSV of an ingest job checked first (a `Stream` while it is spooled to a
 * temp file, sent and re-sent from there); records encoded up front (a batch is at most 10 MB) so
 * that the body can be sent again after a session renewal or a lost answer; a caller's own byte
 * `Stream` is pulled again for each attempt.
 */
const prepare = (
  info: JobInfo,
  body: BatchBody,
  options: AddBatchOptions | undefined
): Effect.Effect<string | Uint8Array | Stream.Stream<Uint8Array, BulkError>, BulkError, Scope.Scope> =>
  Effect.gen(function*() {
    const isBytes = typeof body === "string" || body instanceof Uint8Array || isStream(body)
    if (!isBytes && info.contentType.startsWith("ZIP_")) {
      return yield* new InvalidInputError({
        what: `job ${info.id} takes ${info.contentType} batches: give the zip file as bytes, not records`
      })
    }
    const given = toBytes(info.contentType, body)
    // what Salesforce reads: UTF-8 without a byte-order mark
    const raw = isBytes && info.contentType === "CSV" ? withoutBom(yield* toUtf8(given, options?.encoding)) : given
    const checkRaw = isBytes && options?.check !== false && info.contentType === "CSV" && INGEST.has(info.operation)
    const ctx = { operation: info.operation as IngestOperation, externalIdFieldName: info.externalIdFieldName }
    if (typeof raw === "string" || raw instanceof Uint8Array) {
      if (checkRaw) yield* checkCsv(raw, ctx)
      return raw
    }
    if (checkRaw) {
      const { path } = yield* spoolToFile(checkedCsvStream(raw, ctx), yield* tempDir, "batch.csv")
      return fileBytes(path)
    }
    if (isStream(body)) return raw
    return concat(yield* Stream.runCollect(raw))
  })

// ---------------------------------------------------------------------------------------------
// adding, with lost answers looked for
// ---------------------------------------------------------------------------------------------

const sha256 = (data: string | Uint8Array): string => Crypto.createHash("sha256").update(data).digest("hex")

const hashStream = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runFold(stream, Crypto.createHash("sha256"), (h, chunk) => h.update(chunk)).pipe(
    Effect.map((h) => h.digest("hex"))
  )

/** Clock skew tolerated between this machine and Salesforce when matching a lost batch. */
const SKEW_MILLIS = 5 * 60 * 1000

/** Whether a batch may be the one a POST sent at `sentAt` created (judged by its createdDate). */
const mayBeFrom = (b: BatchInfo, sentAt: number): boolean => {
  if (b.createdDate === undefined) return true
  const created = Date.parse(b.createdDate.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"))
  return Number.isNaN(created) || created >= sentAt - SKEW_MILLIS
}

/** An attempt whose answer was lost: the SHA-256 of what it sent, and when it was sent. */
interface Unanswered {
  readonly hash: string
  readonly sentAt: number
}

/**
 * Adds `body` as one batch of the job `info` (see the module comment for how a lost answer is
 * handled). Needs a scope for the temp file a checked `Stream` body is spooled to.
 */
export const addBatch = (
  info: JobInfo,
  body: BatchBody,
  options: AddBatchOptions | undefined
): Effect.Effect<BatchInfo, BulkError, Transport.Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const jobId = info.id
    const t = yield* Transport.Transport
    const data = yield* prepare(info, body, options)
    const base = `/services/async/${t.apiVersion}/job/${jobId}/batch`
    const ledger = ledgerOf(t, jobId)
    const unanswered: Array<Unanswered> = []
    // The hash of a body given whole, taken only once an answer was lost (at most once): most
    // batches are answered, and hashing every megabyte body cost ~1 ms a batch for nothing.
    let known: string | undefined
    const fixedHash = () => (known ??= sha256(data as string | Uint8Array))

    const claim = (b: BatchInfo) => Effect.sync(() => ledger.claimed.add(b.id))
    const shared = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.zipRight(ledger.turnstile.withPermits(1)(Effect.void), ledger.posts.withPermits(1)(self))
    const exclusive = <A, E, R>(self: Effect.Effect<A, E, R>) => ledger.turnstile.withPermits(1)(ledger.posts.withPermits(ALL)(self))

    const hashOf = (batchId: string) =>
      Effect.suspend(() => {
        const known = ledger.hashes.get(batchId)
        if (known !== undefined) return Effect.succeed(known)
        const request = Transport.requestStream(t, { method: "GET", path: `${base}/${batchId}/request`, api: "1.0", jobId, batchId })
        // a download cut midway is hashed again from the start
        const hashed = Effect.retry(Effect.suspend(() => hashStream(request)), {
          schedule: t.retrySchedule ?? Transport.defaultRetrySchedule(),
          while: isDroppedDownload
        })
        return Effect.tap(hashed, (h) => Effect.sync(() => ledger.hashes.set(batchId, h)))
      })

    // Did an unanswered attempt arrive after all? Only batches nobody claimed, created since it was sent.
    const arrived: Effect.Effect<Option.Option<BatchInfo>, BulkError> = Effect.suspend(() => {
      if (unanswered.length === 0) return Effect.succeed(Option.none())
      const since = Math.min(...unanswered.map((u) => u.sentAt))
      return exclusive(Effect.gen(function*() {
        const list = yield* Transport.requestText(t, { method: "GET", path: base, api: "1.0", jobId })
        for (const b of yield* parseBatchInfoList(list.text)) {
          if (ledger.claimed.has(b.id) || !mayBeFrom(b, since)) continue
          const h = yield* hashOf(b.id)
          if (unanswered.some((u) => u.hash === h)) {
            yield* claim(b)
            return Option.some(b)
          }
        }
        return Option.none<BatchInfo>()
      }))
    }).pipe(Effect.withSpan("Bulk1.findLostBatch", { attributes: { "sfbulk.job_id": jobId } }))

    const post = Effect.gen(function*() {
      // checked again on every retry, after the backoff: a slow request may land late
      const landed = yield* arrived
      if (Option.isSome(landed)) return landed.value
      const sentAt = yield* Effect.clockWith((c) => c.currentTimeMillis)
      // the hash of what was sent, computed while it streams out
      let digest: Crypto.Hash | undefined
      let complete = false
      const fixed = typeof data === "string" || data instanceof Uint8Array
      const sent = fixed ? data : Stream.suspend(() => {
        digest = Crypto.createHash("sha256")
        complete = false
        return (data as Stream.Stream<Uint8Array, BulkError>).pipe(
          Stream.tap((chunk) => Effect.sync(() => digest!.update(chunk))),
          Stream.ensuring(Effect.sync(() => {
            complete = true
          }))
        )
      })
      // a body not sent whole cannot have made a batch
      const hash = () => fixed ? fixedHash() : complete && digest !== undefined ? digest.copy().digest("hex") : undefined
      const request = Effect.flatMap(
        Transport.requestText(t, {
          method: "POST",
          path: base,
          api: "1.0",
          jobId,
          body: bodyOf(info.contentType, sent as string | Uint8Array | Stream.Stream<Uint8Array, unknown>),
          ...(options?.gzip !== undefined ? { gzip: options.gzip } : {})
        }),
        (r) => parseBatchInfo(r.text)
      )
      // claimed while the POST still holds the gate: no check can run before
      const attempt = shared(Effect.tap(request, claim))
      return yield* Effect.catchIf(attempt, (e) => e.isRetryable, (error) =>
        Effect.gen(function*() {
          const h = hash()
          if (h !== undefined) unanswered.push({ hash: h, sentAt })
          const found = yield* arrived
          return Option.isSome(found) ? found.value : yield* Effect.fail(error)
        }))
    })
    // once the check has found nothing, a re-send is as safe as any retry: the same budget applies
    const schedule = options?.resendSchedule ?? t.retrySchedule ?? Transport.defaultRetrySchedule()
    return yield* Effect.retry(post, { schedule, while: (e: BulkError) => e.isRetryable })
  })
