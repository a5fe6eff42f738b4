/**
 * One poller per Bulk API 1.0 job for every batch waiting on it: each poll is one
 * `GET /job/{id}/batch` (every batch's state and counters), not one request per batch (a batch
 * missing from the list is asked for by itself). Batches are
 * waited for by id; the poller runs while anyone waits and stops when nobody does.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Bulk1 from "../Bulk1.js"
import { PollTimeoutError, type BulkError } from "../BulkError.js"
import { listBatchesFor } from "./bulk1.js"
import { adaptivePollSchedule, pollUntil } from "./poll.js"
import type { Transport } from "./transport.js"

/** A terminal batch state: the batch's counters are final. */
export const batchTerminal = (state: string): boolean => state === "Completed" || state === "Failed" || state === "NotProcessed"

/** Waits for batches of one job. */
export interface BatchWatch {
  /** The batch's info once it is terminal (every answer seen on the way is passed to `onPoll`). */
  readonly wait: (batchId: string, records?: number) => Effect.Effect<Bulk1.BatchInfo, BulkError>
}

/** Polling options, as the ingest options give them. */
export interface WatchOptions {
  readonly pollSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A watcher for `jobId`; the poller fiber lives in the caller's scope. A failed poll (after the
 * transport's own retries) fails every waiter with that error; a schedule that ends fails them with
 * `PollTimeoutError`. `timeout` bounds each wait.
 */
export const make = (
  jobId: string,
  options: WatchOptions,
  onPoll: (info: Bulk1.BatchInfo) => void
): Effect.Effect<BatchWatch, never, Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Effect.context<Transport>()
    // Every wait has its own Deferred, so two waits on one batch are both completed (one map entry
    // per batch once left the earlier waiter unsettled forever: a pipeline that ended through a
    // promise that never settles).
    const waiters = new Map<string, Set<Deferred.Deferred<Bulk1.BatchInfo, BulkError>>>()
    let running = false
    // Progress for adaptive polling (no pollSchedule given): records of the batches waited for, and
    // records processed over the job's batches at the last poll.
    const sized = new Set<string>()
    const progress = { expectedRecords: 0, numberRecordsProcessed: 0 }

    // Every decision about `running` is made in one synchronous step, so a waiter that arrives
    // while the poller is deciding to stop always finds it either running or stopped, never between.
    const stopIfIdle = Effect.sync(() => {
      if (waiters.size > 0) return false
      running = false
      return true
    })
    const failAll = (error: BulkError) =>
      Effect.suspend(() => {
        const all = [...waiters.values()].flatMap((set) => [...set])
        waiters.clear()
        running = false
        return Effect.forEach(all, (d) => Deferred.fail(d, error), { discard: true })
      })

    /** Notes one answer; the waits it ends, to be completed (`undefined`: none). */
    const settle = (seen: Set<string>, info: Bulk1.BatchInfo): Effect.Effect<void> | undefined => {
      seen.add(info.id)
      const set = waiters.get(info.id)
      if (set === undefined) return undefined
      onPoll(info)
      if (!batchTerminal(info.state)) return undefined
      waiters.delete(info.id)
      return Effect.forEach(set, (d) => Deferred.succeed(d, info), { discard: true })
    }
    const take = (seen: Set<string>) => (info: Bulk1.BatchInfo) => settle(seen, info) ?? Effect.void
    /** One poll: `Some` once nobody waits any more. */
    const pollOnce = Effect.gen(function*() {
      // only the batches waited for are decoded from the list (`scanBatchInfoList`): it holds
      // every batch of the job, hundreds on a large load
      const { infos, processed } = yield* listBatchesFor(jobId, (id) => waiters.has(id)).pipe(
        Effect.withSpan("Bulk1.pollJob", { attributes: { "sfbulk.job_id": jobId, "sfbulk.batches_waited": waiters.size } })
      )
      const seen = new Set<string>()
      progress.numberRecordsProcessed = processed
      // The list (every batch of the job) is gone through synchronously, an Effect run only for a
      // wait that ends. Why: an Effect per listed batch ran past the fiber's yield budget on a
      // large job, so each poll's list lived across event-loop turns and young GCs, and V8
      // promoted it (old-generation garbage growing with every poll).
      for (const info of infos) {
        const ended = settle(seen, info)
        if (ended !== undefined) yield* ended
      }
      // a batch the list does not show (yet) is asked for by itself
      for (const id of [...waiters.keys()]) {
        if (!seen.has(id)) yield* Effect.flatMap(Bulk1.batchInfo(jobId, id), take(seen))
      }
      return (yield* stopIfIdle) ? Option.some(undefined) : Option.none()
    })
    const poller = pollUntil(
      pollOnce,
      { schedule: options.pollSchedule ?? adaptivePollSchedule(0) },
      () => new PollTimeoutError({ jobId }),
      () => ({ ...progress })
    ).pipe(
      Effect.catchAll(failAll),
      Effect.onInterrupt(() => Effect.sync(() => (running = false)))
    )

    const start = Effect.suspend(() => {
      if (running) return Effect.void
      running = true
      return Effect.asVoid(Effect.forkIn(Effect.provide(poller, context), scope))
    })

    const wait = (batchId: string, records?: number): Effect.Effect<Bulk1.BatchInfo, BulkError> => {
      if (records !== undefined && !sized.has(batchId)) {
        sized.add(batchId)
        progress.expectedRecords += records
      }
      const waiting = Effect.acquireUseRelease(
        Effect.tap(Deferred.make<Bulk1.BatchInfo, BulkError>(), (d) =>
          Effect.sync(() => {
            const set = waiters.get(batchId)
            if (set === undefined) waiters.set(batchId, new Set([d]))
            else set.add(d)
          })),
        (d) => Effect.zipRight(start, Deferred.await(d)),
        // a wait that ended (timeout, interruption) stops being polled for
        (d) =>
          Effect.sync(() => {
            const set = waiters.get(batchId)
            if (set === undefined) return
            set.delete(d)
            if (set.size === 0) waiters.delete(batchId)
          })
      )
      const timeout = options.timeout
      if (timeout === undefined) return waiting
      return Effect.timeoutFail(waiting, {
        duration: timeout,
        onTimeout: () => new PollTimeoutError({ jobId, batchId, timeoutMillis: Duration.toMillis(Duration.decode(timeout)) })
      })
    }
    return { wait }
  })
