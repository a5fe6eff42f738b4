/**
 * Resume support: finish jobs left behind by a process that died (`resumeJobs`), and the opt-in
 * journal file (`withJournal`) that makes re-running the same ingest operation resume the jobs it
 * already uploaded and send only the rows they do not cover, instead of uploading everything again.
 *
 * The ingest pipelines report each piece through `notify` (a FiberRef listener, so the pipelines
 * need no journal knowledge): 2.0 "created" right after the job exists and "uploaded" once it is
 * closed; 1.0 "created" before the batch is sent and "uploaded" once it is added.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Bulk1 from "../Bulk1.js"
import { batchTerminal } from "./batchWatch.js"
import * as Bulk2 from "../Bulk2.js"
import type * as BulkClient from "../BulkClient.js"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import { parseRecords } from "./csvParse.js"
import { pollUntil } from "./poll.js"
import { isDroppedDownload, resumable } from "./resumable.js"
import { outcome1, type BatchCounts } from "./ingest1.js"
import { countResults, outcome2, type JobCounts } from "./ingest2.js"
import { currentListener, currentResumed, type JournalEvent, type Resumed } from "./journalHook.js"
import { combine, isLockFailure, orderedByParent, parentOrderOf, recordKeyOf } from "./lockRetry.js"
import { Transport } from "./transport.js"

// ---------------------------------------------------------------------------------------------
// resuming jobs by id
// ---------------------------------------------------------------------------------------------

/** Options of `resumeJobs`. */
export interface ResumeOptions extends BulkClient.CommonOptions {
  /** 1.0 only: resume just these batches of the job (default: every batch). */
  readonly batchIds?: ReadonlyArray<string> | undefined
}

const wait2 = (options: ResumeOptions) => ({ schedule: options.pollSchedule, timeout: options.timeout })

/** Finishes one 2.0 ingest job: closes it if still open, waits, counts its results. */
const resume2 = (jobId: string, options: ResumeOptions) =>
  Effect.gen(function*() {
    const first = yield* Bulk2.getIngestJob(jobId)
    if (first.state === "Open") yield* Bulk2.closeIngestJob(jobId)
    const info = yield* Bulk2.waitForIngestJob(jobId, wait2(options))
    const ro = { columnDelimiter: (info.columnDelimiter ?? "COMMA") as Bulk2.ColumnDelimiter }
    // a job that ended Failed hands its message to its unprocessed rows, as a run that waited on it does (ingest2.ts)
    const why = info.state === "Failed" && info.errorMessage ? { stateMessage: info.errorMessage } : {}
    const counts = { ...(yield* countResults(jobId, info, ro)), ...why }
    return { info, counts }
  })

/**
 * Waits until every (selected) batch of a 1.0 job is terminal, on the poll schedule and within the
 * timeout (either ending is an `InvalidInputError` telling to resume again later).
 */
const waitBatches = (jobId: string, options: ResumeOptions) => {
  const wanted = options.batchIds === undefined ? undefined : new Set(options.batchIds)
  return pollUntil(
    Effect.map(Bulk1.listBatches(jobId), (batches) => {
      const all = batches.filter((b) => wanted === undefined || wanted.has(b.id))
      return all.every((b) => batchTerminal(b.state)) ? Option.some(all) : Option.none()
    }),
    { schedule: options.pollSchedule ?? Bulk1.defaultPollSchedule, timeout: options.timeout },
    (timeoutMillis) =>
      new InvalidInputError({
        what: timeoutMillis === undefined
          ? `job ${jobId}: the poll schedule ended before its batches finished; resume it again later`
          : `job ${jobId}: its batches did not finish within the timeout; resume it again later`
      })
  )
}

/** Finishes one 1.0 ingest job: waits for its batches, closes it if open, counts every batch. */
const resume1 = (jobId: string, firstRow: number, options: ResumeOptions) =>
  Effect.gen(function*() {
    const job = yield* Bulk1.jobInfo(jobId)
    const batches = yield* waitBatches(jobId, options)
    if (job.state === "Open") yield* Bulk1.closeJob(jobId)
    const counts: Array<BatchCounts> = []
    let row = firstRow
    for (const b of batches) {
      const records = yield* Stream.runCount(resumable(() =>
        parseRecords(Bulk1.batchRequest(jobId, b.id), ",").pipe(
          Stream.mapError((
            e
          ) => (e._tag === "CsvParseFailure" ? new InvalidInputError({ what: `batch ${b.id} request: ${e.message}` }) : e))
        )
      ))
      let succeeded = 0
      let created = 0
      let failed = 0
      if (b.state !== "NotProcessed" && !(b.state === "Failed" && b.numberRecordsProcessed === 0)) {
        yield* Stream.runForEach(Bulk1.batchResults(job, b.id), (r) =>
          Effect.sync(() => {
            if (r.success) {
              succeeded++
              if (r.created) created++
            } else failed++
          }))
      }
      // a batch that ended Failed hands its message to its unprocessed rows, as a run that waited on it does (ingest1.ts)
      const why = b.state === "Failed" && b.stateMessage ? { stateMessage: b.stateMessage } : {}
      counts.push({
        jobId,
        batchId: b.id,
        firstRow: row,
        records,
        succeeded,
        created,
        failed,
        unprocessed: records - succeeded - failed,
        ...why
      })
      row += records
    }
    return { job, counts }
  })

/**
 * Finishes ingest jobs left behind (by a killed process, or an operation that failed part way)
 * without uploading anything: open jobs are closed, running ones waited on, and every record's
 * outcome is read back. `api` must be the one the jobs were created with.
 */
export const resumeJobs = (
  jobIds: ReadonlyArray<string>,
  options: ResumeOptions = {}
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError, Transport> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const context = yield* Effect.context<Transport>()
    if (jobIds.length === 0) return yield* new InvalidInputError({ what: "resume needs at least one job id" })
    if (options.api === "1.0") {
      const all: Array<BatchCounts> = []
      let object = ""
      let operation: BulkClient.Operation = "insert"
      for (const id of jobIds) {
        const first = all.reduce((n, b) => n + b.records, 0)
        const { counts, job } = yield* resume1(id, first, options)
        object = job.object
        operation = job.operation as BulkClient.Operation
        all.push(...counts)
      }
      const ended = yield* Clock.currentTimeMillis
      return outcome1(object, operation, all, all.reduce((n, b) => n + b.records, 0), Duration.millis(ended - started), context)
    }
    const jobs: Array<JobCounts> = []
    let object = ""
    let operation: BulkClient.Operation = "insert"
    let delimiter: Bulk2.ColumnDelimiter = "COMMA"
    for (const id of jobIds) {
      const { counts, info } = yield* resume2(id, options)
      object = info.object
      operation = info.operation as BulkClient.Operation
      delimiter = (info.columnDelimiter ?? "COMMA") as Bulk2.ColumnDelimiter
      jobs.push(counts)
    }
    const ended = yield* Clock.currentTimeMillis
    return outcome2(object, operation, jobs, jobs.reduce((n, j) => n + j.records, 0), Duration.millis(ended - started), delimiter, context)
  }).pipe(Effect.withSpan("BulkClient.resume", { attributes: { "sfbulk.api": options.api ?? "2.0" } }))

// ---------------------------------------------------------------------------------------------
// the journal file
// ---------------------------------------------------------------------------------------------

type Range = readonly [number, number]

interface Header {
  readonly v: 1
  readonly object: string
  readonly operation: string
  readonly api: "1.0" | "2.0"
  readonly externalIdFieldName?: string | undefined
}

interface PieceLine {
  readonly stage: "created" | "uploaded"
  readonly jobId: string
  readonly batchId?: string | undefined
  /** Input positions (of the original input) the piece holds. */
  readonly ranges: ReadonlyArray<Range>
  /** 1.0 "created": SHA-256 of the batch body. */
  readonly sha256?: string | undefined
  /** A lock follow-up round's piece (its ranges are positions in the round's rows). */
  readonly round?: number | undefined
}

/** Fetches of a batch's request to hash it, after the first was cut off. */
const REHASH = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(6)))

const readLines = (path: string): Array<unknown> => {
  if (!Fs.existsSync(path)) return []
  const out: Array<unknown> = []
  for (const line of Fs.readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue
    try {
      out.push(JSON.parse(line))
    } catch {
      // a line cut short by a kill is ignored: the piece it described is found again below
    }
  }
  return out
}

/** Maps positions of the filtered input (covered rows removed) back to the original input. */
const positionMapper = (covered: ReadonlyArray<Range>) => {
  const sorted = [...covered].sort((a, b) => a[0] - b[0])
  const toOriginal = (k: number): number => {
    let orig = k
    for (const [s, e] of sorted) {
      if (s <= orig) orig += e - s
      else break
    }
    return orig
  }
  /** The original ranges of the filtered positions [first, first + n). */
  const ranges = (first: number, n: number): Array<Range> => {
    const out: Array<[number, number]> = []
    for (let k = first; k < first + n; k++) {
      const o = toOriginal(k)
      const last = out[out.length - 1]
      if (last !== undefined && last[1] === o) last[1] = o + 1
      else out.push([o, o + 1])
    }
    return out
  }
  const isCovered = (i: number) => sorted.some(([s, e]) => i >= s && i < e)
  return { ranges, isCovered }
}

/** The journal line naming the columns an `orderByParent` sort ordered the input by (none: unsorted). */
interface SortedLine {
  readonly orderedBy: ReadonlyArray<string>
}

/**
 * The check of the columns an `orderByParent` sort resolved (`OrderContext.onColumns`): the first
 * run records them (a `SortedLine`), a re-run must resolve the same, since the journal's positions
 * are positions in that order (`"auto"` reads the describe again, and the columns declared may
 * have changed). A journal that lists pieces but no such line was written by an unsorted run.
 */
const sameOrder =
  (recorded: SortedLine | undefined, started: boolean, path: string, append: (line: unknown) => void) =>
  (columns: ReadonlyArray<string>): Either.Either<void, InvalidInputError> => {
    const before = recorded?.orderedBy ?? (started ? [] : undefined)
    if (before === undefined) {
      append({ orderedBy: columns } satisfies SortedLine)
      return Either.void
    }
    if (before.length === columns.length && before.every((c, i) => c === columns[i])) {
      if (recorded === undefined) append({ orderedBy: columns } satisfies SortedLine)
      return Either.void
    }
    return Either.left(reordered(path, before, columns))
  }

/** A re-run that would order the input otherwise than the journal's positions (`[]`: unsorted). */
const reordered = (path: string, before: ReadonlyArray<string>, now: ReadonlyArray<string>) => {
  const list = (cs: ReadonlyArray<string>) => (cs.length === 0 ? "nothing (unsorted)" : cs.join(", "))
  return new InvalidInputError({
    what: `the journal ${path} lists rows by their positions after sorting by ${list(before)}, but this run ` +
      `sorts by ${list(now)} (another orderByParent or none, orderByParent "auto" reading a different describe, or other ` +
      "columns declared): the positions would name other rows. Re-run with the options of the first run, or delete the " +
      "journal to start over (the jobs it lists stay in Salesforce: check them before loading again)"
  })
}

/**
 * Runs `run` (the ingest) journaled in `path`. A fresh journal records each piece as it is
 * uploaded; a journal left by an earlier run of the same operation makes this run resume the jobs
 * it lists and send only the input rows none of them holds; a finished journal just reads the
 * outcomes back. The journal is kept afterwards (delete it to start over).
 *
 * Lock follow-up rounds (lockRetry.ts) are journaled too: a `{"round":n,"rows":k}` line when round
 * n starts, then its pieces marked `"round":n` (their ranges are positions in the round's list of
 * re-submitted rows). A resume finishes the follow-up jobs, merges their outcomes in place of the
 * lock failures they re-submitted (matched by the rows' values, which both results carry), and
 * hands the rest to `withLockRetry` (`currentResumed`): the lock failures still pending and the
 * rounds already done, so the remaining rounds go on. `run` must be a `withLockRetry` pipeline.
 *
 * With `orderByParent`, the whole input is ordered here (the same stable order every run), so the
 * journal's positions are positions in that order: the journal records the columns sorted by
 * (`sameOrder`), and a re-run that would order the input otherwise is refused before anything is
 * sent (`"auto"` reads the describe again each run).
 */
export const withJournal = <A, E, R>(
  path: string,
  header: Omit<Header, "v">,
  rows: Stream.Stream<A, E, R>,
  options: BulkClient.IngestOptions<any>,
  run: (rows: Stream.Stream<A, E | InvalidInputError, R>) => Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport>
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> =>
  Effect.gen(function*() {
    const lines = readLines(path)
    const head = lines[0] as Partial<Header> | undefined
    const order = options.orderByParent
    const expected: Header = { v: 1, ...header }
    if (head !== undefined) {
      const same = head.v === 1 && head.object === header.object && head.operation === header.operation && head.api === header.api &&
        (head.externalIdFieldName ?? undefined) === (header.externalIdFieldName ?? undefined)
      if (!same) {
        return yield* new InvalidInputError({
          what: `the journal ${path} belongs to another operation (${head.api ?? "?"} ${head.operation ?? "?"} ${head.object ?? "?"}): ` +
            `use a new journal file for ${header.api} ${header.operation} ${header.object}, or delete it to start over`
        })
      }
    } else {
      // the journal names the jobs of a load: readable by its owner only
      yield* Effect.sync(() => Fs.writeFileSync(path, JSON.stringify(expected) + "\n", { mode: 0o600 }))
    }
    const done = lines.some((l) => (l as { done?: boolean }).done === true)
    // the columns the first run sorted by (its positions are positions in that order): a re-run
    // that does not sort would skip other rows than those landed, sending some twice, losing others
    const sortedLine = lines.find((l): l is SortedLine => Array.isArray((l as Partial<SortedLine> | null)?.orderedBy))
    if (order === undefined && sortedLine !== undefined && sortedLine.orderedBy.length > 0) {
      return yield* reordered(path, sortedLine.orderedBy, [])
    }
    // the latest stage of each piece of the first pass; the follow-up rounds apart
    const pieces = new Map<string, PieceLine>()
    const rounds = new Map<number, { announced?: number; pieces: Map<string, PieceLine> }>()
    const roundOf = (n: number) => rounds.get(n) ?? rounds.set(n, { pieces: new Map() }).get(n)!
    for (const l of lines.slice(1)) {
      const p = l as Partial<PieceLine> & { readonly rows?: number }
      if (typeof p.round === "number" && p.round > 0) {
        if (typeof p.jobId === "string") {
          roundOf(p.round).pieces.set(`${p.jobId}/${p.batchId ?? `@${p.ranges?.[0]?.[0] ?? ""}`}`, p as PieceLine)
        } else if (typeof p.rows === "number") {
          roundOf(p.round).announced = p.rows
        }
        continue
      }
      // a 1.0 batch is first recorded "created" (before its POST) under its first row, then "uploaded"
      if (typeof p.jobId === "string" && Array.isArray(p.ranges)) {
        pieces.set(`${p.jobId}/${p.batchId ?? `@${p.ranges[0]?.[0] ?? ""}`}`, p as PieceLine)
      }
    }
    // 2.0 jobs created but not known to be closed: closed anyway (the process died after closing)
    // or still open (the upload never finished: abort it, its rows are sent again)
    const covered: Array<PieceLine> = []
    const sending1: Array<PieceLine> = []
    for (const p of pieces.values()) {
      if (p.stage === "uploaded") {
        covered.push(p)
        continue
      }
      if (header.api === "1.0") {
        sending1.push(p)
        continue
      }
      if (yield* landed2(p.jobId)) covered.push(p)
    }
    covered.push(...(yield* arrivedBatches(sending1, covered)))
    const first = covered.length === 0 ? undefined : yield* resumeFromPieces(covered, header.api, options)
    const resumed = yield* resumeRounds(first, rounds, header.api, options)
    if (done) {
      if (resumed.outcome === undefined) return yield* new InvalidInputError({ what: `the journal ${path} is finished but lists no job` })
      return withPending(resumed.outcome, resumed.pending)
    }
    const mapper = positionMapper(covered.flatMap((p) => p.ranges))
    // resolved once (memoized), by withLockRetry first (handed over below: inside the operation's
    // request count, a failure typed there before the input is read), then the input's sort reads
    // the same result (a failure cannot reach it: hence orDie)
    const append = (line: unknown) => Fs.appendFileSync(path, JSON.stringify(line) + "\n")
    const parents = yield* Effect.cached(parentOrderOf(header.object, options))
    const sorting = Effect.provideService(Effect.orDie(parents), Transport, yield* Transport)
    const context = {
      recordOf: recordKeyOf(header.operation as BulkClient.Operation, header.externalIdFieldName),
      onColumns: sameOrder(sortedLine, pieces.size + rounds.size > 0, path, append)
    }
    const input = order === undefined
      ? rows
      : Stream.unwrap(Effect.map(sorting, (o) => (o === undefined ? rows : orderedByParent(rows, o, context))))
    const remaining = input.pipe(
      Stream.zipWithIndex,
      Stream.filter(([, i]) => !mapper.isCovered(i)),
      Stream.map(([row]) => row)
    )
    const listener = (e: JournalEvent) =>
      e.stage === "round"
        ? append({ round: e.round, rows: e.rows })
        : append({
          stage: e.stage,
          jobId: e.jobId,
          ...(e.batchId ? { batchId: e.batchId } : {}),
          // a follow-up round's positions are in its own list of rows
          ranges: e.round === undefined ? mapper.ranges(e.firstRow, e.records) : [[e.firstRow, e.firstRow + e.records]],
          ...(e.sha256 ? { sha256: e.sha256 } : {}),
          ...(e.round === undefined ? {} : { round: e.round })
        })
    const handOver: Resumed = {
      outcome: resumed.outcome === undefined ? undefined : withPending(resumed.outcome, resumed.pending),
      pending: resumed.pending,
      rounds: resumed.rounds,
      ordered: true,
      parents
    }
    const fresh = yield* run(remaining).pipe(
      Effect.locally(currentListener, listener),
      Effect.locally(currentResumed, handOver)
    )
    yield* Effect.sync(() => append({ done: true }))
    return fresh
  })

/**
 * Whether a 2.0 job recorded "created" (not known closed) holds its rows: closed anyway (the process
 * died after closing) it does; still open (the upload never finished) it is aborted and does not.
 */
const landed2 = (jobId: string) =>
  Effect.gen(function*() {
    const info = yield* Bulk2.getIngestJob(jobId)
    if (info.state === "Open") yield* Effect.ignore(Bulk2.abortIngestJob(jobId))
    return info.state !== "Open" && info.state !== "Aborted"
  })

/** `outcome` with `pending` (lock failures held apart) at the end of its failures. */
const withPending = (outcome: BulkClient.Outcome<BulkError>, pending: ReadonlyArray<BulkClient.Failure>): BulkClient.Outcome<BulkError> =>
  pending.length === 0 ? outcome : {
    ...outcome,
    summary: { ...outcome.summary, failed: outcome.summary.failed + pending.length, processed: outcome.summary.processed + pending.length },
    failures: Stream.concat(outcome.failures, Stream.fromIterable(pending))
  }

/** `outcome` without its `locks` lock failures (held apart as pending). */
const withoutLocks = (outcome: BulkClient.Outcome<BulkError>, locks: number): BulkClient.Outcome<BulkError> => ({
  ...outcome,
  summary: { ...outcome.summary, failed: outcome.summary.failed - locks, processed: outcome.summary.processed - locks },
  failures: Stream.filter(outcome.failures, (f) => !isLockFailure(f))
})

/** The values of a row, as the key that finds the row again among the results of a follow-up. */
const rowKey = (row: Record<string, unknown>): string =>
  JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k] === undefined || row[k] === null ? "" : String(row[k])]))

/** What the journal's follow-up rounds come to (see `withJournal`). */
interface RoundsResumed {
  /** Every job the journal lists, merged, without `pending`. */
  readonly outcome: BulkClient.Outcome<BulkError> | undefined
  readonly pending: ReadonlyArray<BulkClient.Failure>
  readonly rounds: number
}

/**
 * Finishes the jobs of the journaled follow-up rounds, in round order, and merges each round's
 * outcome in place of the pending lock failures it carried. A round's carried rows are found by
 * value among its results (a round stopped while its pieces were being sent carried only some);
 * a round that carried fewer rows than it announced is counted as not done, so the resumed run
 * sends the rest in it again (its rows then get at most one round more than asked, never fewer).
 */
const resumeRounds = (
  first: BulkClient.Outcome<BulkError> | undefined,
  rounds: ReadonlyMap<number, { readonly announced?: number; readonly pieces: ReadonlyMap<string, PieceLine> }>,
  api: "1.0" | "2.0",
  options: BulkClient.CommonOptions
): Effect.Effect<RoundsResumed, BulkError, Transport> =>
  Effect.gen(function*() {
    if (first === undefined) return { outcome: undefined, pending: [], rounds: 0 }
    const locksOf = (o: BulkClient.Outcome<BulkError>) =>
      Effect.map(Stream.runCollect(Stream.filter(o.failures, isLockFailure)), Chunk.toReadonlyArray)
    let pending = yield* locksOf(first)
    let outcome = withoutLocks(first, pending.length)
    const last = Math.max(0, ...rounds.keys())
    let done = 0
    for (let r = 1; r <= last; r++) {
      const round = rounds.get(r)
      const jobs: Array<string> = []
      for (const p of round?.pieces.values() ?? []) {
        if (jobs.includes(p.jobId)) continue
        // 1.0: a round's Serial job is its own, so every batch it holds is the round's
        if (api === "1.0" || p.stage === "uploaded" || (yield* landed2(p.jobId))) jobs.push(p.jobId)
      }
      if (jobs.length === 0) continue
      const next = yield* resumeJobs(jobs, { ...options, api })
      const rowsOf = <X extends { readonly row: Record<string, unknown> }>(s: Stream.Stream<X, BulkError>) =>
        Effect.map(Stream.runCollect(s), (c) => Chunk.toReadonlyArray(c).map((x) => rowKey(x.row)))
      const sent = [...(yield* rowsOf(next.successes)), ...(yield* rowsOf(next.failures)), ...(yield* rowsOf(next.unprocessed))]
      const waiting = new Map<string, Array<number>>()
      pending.forEach((f, i) => {
        const k = rowKey(f.row)
        ;(waiting.get(k) ?? waiting.set(k, []).get(k)!).push(i)
      })
      const carried = new Set<number>()
      let unmatched = 0
      for (const k of sent) {
        const i = waiting.get(k)?.shift()
        if (i === undefined) unmatched++
        else carried.add(i)
      }
      // a row the results echo differently than it was sent: accounted for all the same (the
      // outcome of one pending row is replaced), so no row is counted twice
      for (let i = 0; i < pending.length && unmatched > 0; i++) {
        if (!carried.has(i)) {
          carried.add(i)
          unmatched--
        }
      }
      const locks = yield* locksOf(next)
      const rest = withoutLocks(next, locks.length)
      const before = outcome.summary
      const merged = combine(outcome, rest)
      outcome = { ...merged, summary: { ...merged.summary, rowsRead: before.rowsRead, elapsed: before.elapsed } }
      pending = [...pending.filter((_, i) => !carried.has(i)), ...locks]
      done = round?.announced !== undefined && carried.size < round.announced ? r - 1 : r
    }
    return { outcome, pending, rounds: done }
  })

/**
 * 1.0 batches recorded "created" but never "uploaded": the process died while their POST was in
 * flight, so each may or may not have arrived. The job's batches that no uploaded piece claims are
 * the ones that did; each is matched to a piece by the SHA-256 of its request (recorded in the
 * piece's "created" line), each batch claimed by at most one piece. Pieces with the same hash hold
 * the same rows, so whichever of them a batch is given, the rows it holds are the right ones.
 * Pieces no batch matches did not arrive (their rows are sent again). Journals written before the
 * hash was recorded fall back to matching by record count, and stop when counts cannot tell.
 */
const arrivedBatches = (sending: ReadonlyArray<PieceLine>, uploaded: ReadonlyArray<PieceLine>) =>
  Effect.gen(function*() {
    const out: Array<PieceLine> = []
    const rangeSize = (p: PieceLine) => p.ranges.reduce((n, [s, e]) => n + e - s, 0)
    const byJob = new Map<string, Array<PieceLine>>()
    for (const p of sending) {
      if (uploaded.some((u) => u.jobId === p.jobId && u.ranges[0]?.[0] === p.ranges[0]?.[0])) continue
      ;(byJob.get(p.jobId) ?? byJob.set(p.jobId, []).get(p.jobId)!).push(p)
    }
    for (const [jobId, pending] of byJob) {
      const claimed = new Set(uploaded.filter((u) => u.jobId === jobId).map((u) => u.batchId))
      const unclaimed = (yield* Bulk1.listBatches(jobId)).filter((b) => !claimed.has(b.id))
      if (unclaimed.length === 0) continue
      const left = [...pending]
      if (pending.every((p) => typeof p.sha256 === "string")) {
        for (const b of unclaimed) {
          // a download cut midway is hashed again from the start (a resume would skip byte chunks,
          // which a new answer may cut differently); before, a cut answer failed the resume
          const hash = yield* Effect.retry(
            Effect.suspend(() =>
              Stream.runFold(Bulk1.batchRequest(jobId, b.id), Crypto.createHash("sha256"), (h, chunk) => h.update(chunk)).pipe(
                Effect.map((h) => h.digest("hex"))
              )
            ),
            { schedule: REHASH, while: isDroppedDownload }
          )
          const piece = left.find((p) => p.sha256 === hash)
          if (piece === undefined) {
            return yield* new InvalidInputError({
              what: `batch ${b.id} of job ${jobId} holds rows this journal did not send (its request matches no piece): ` +
                `check it with Bulk1.batchRequest, then resume the job by id`
            })
          }
          left.splice(left.indexOf(piece), 1)
          out.push({ stage: "uploaded", jobId, batchId: b.id, ranges: piece.ranges })
        }
        continue
      }
      const sized = yield* Effect.forEach(unclaimed, (b) =>
        Stream.runCount(resumable(() =>
          parseRecords(Bulk1.batchRequest(jobId, b.id), ",").pipe(
            Stream.mapError((e) =>
              e._tag === "CsvParseFailure"
                ? new InvalidInputError({ what: `the request of batch ${b.id} of job ${jobId} is not readable CSV: ${e.message}` })
                : e
            )
          )
        )).pipe(Effect.map((records) => ({ id: b.id, records }))))
      const ambiguous = () =>
        new InvalidInputError({
          what: `the journal cannot tell which rows batches ${
            sized.map((b) => b.id).join(", ")
          } of job ${jobId} hold ` +
            `(the process stopped while they were being sent): check them with Bulk1.batchRequest, then resume the job by id`
        })
      for (const b of sized) {
        const same = left.filter((p) => rangeSize(p) === b.records)
        if (same.length === 0) return yield* ambiguous()
        // several pieces of the same size: only safe when every one of them arrived
        if (same.length > 1 && sized.filter((x) => x.records === b.records).length !== same.length) return yield* ambiguous()
        const piece = same[0]!
        left.splice(left.indexOf(piece), 1)
        out.push({ stage: "uploaded", jobId, batchId: b.id, ranges: piece.ranges })
      }
    }
    return out
  })

const resumeFromPieces = (pieces: ReadonlyArray<PieceLine>, api: "1.0" | "2.0", options: BulkClient.CommonOptions) =>
  Effect.gen(function*() {
    if (api === "2.0") return yield* resumeJobs([...new Set(pieces.map((p) => p.jobId))], { ...options, api })
    const byJob = new Map<string, Array<string>>()
    for (const p of pieces) if (p.batchId) (byJob.get(p.jobId) ?? byJob.set(p.jobId, []).get(p.jobId)!).push(p.batchId)
    let out: BulkClient.Outcome<BulkError> | undefined
    for (const [jobId, batchIds] of byJob) {
      const o = yield* resumeJobs([jobId], { ...options, api, batchIds })
      out = out === undefined ? o : combine(out, o)
    }
    return out!
  })
