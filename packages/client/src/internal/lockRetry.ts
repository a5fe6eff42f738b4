/**
 * Lock contention: rows that failed `UNABLE_TO_LOCK_ROW` (parallel batches writing children of the
 * same parent) are re-submitted in serial follow-up rounds (1.0: a `Serial` job; 2.0: one job at a
 * time, each no larger than one internal batch), up to `retryLockedRows` rounds. A round's rows are
 * split into groups that share no contended record (`disjointGroups`), re-submitted side by side,
 * each group serially: batches writing children of different parents do not contend. The outcome of the
 * whole operation is merged so that `succeeded + failed + unprocessed === rowsRead` still holds and
 * each row's outcome is its last attempt's: a retried row's lock failure is replaced by what its
 * retry did. A round's rows go through a private temp file (`spoolRound`), so a round of any size
 * runs in bounded memory. Optionally the rows are first ordered by their parent reference (`orderByParent`),
 * Salesforce's own advice for reducing contention, by a spooled sort in bounded memory (spoolSort.ts).
 *
 * Under a journal, each round is journaled (journalHook.ts `notifyRound`, pieces marked with
 * `currentRound`), and a re-run carries on from what the journal resumed (`currentResumed`, see
 * journal.ts `withJournal`).
 *
 * `withLockRetry` is the wrapper every ingest pipeline runs in, so it also counts the operation's
 * requests (`summary.apiRequests`, requestCount.ts) and applies the limits preflight (preflight.ts).
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import type * as BulkClient from "../BulkClient.js"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import * as Describe from "./describe.js"
import { currentResumed, currentRound, notifyRound, type Resumed } from "./journalHook.js"
import { adaptivePollSchedule, type AdaptiveBounds } from "./poll.js"
import { preflighted } from "./preflight.js"
import { counting } from "./requestCount.js"
import { mapChunksOrFail } from "./chunkStage.js"
import { forEachRecord, recordsOf, RecordWriter, sortedBy } from "./spoolSort.js"
import { schemaColumns, schemaRenames } from "./rows.js"
import { tempDir } from "./split.js"
import type { Transport } from "./transport.js"

/** The code Salesforce gives a record it could not lock. */
export const LOCK_CODE = "UNABLE_TO_LOCK_ROW"

/** Whether a failure is a lock failure (any of its errors). */
export const isLockFailure = (f: BulkClient.Failure): boolean => f.code === LOCK_CODE || f.errors.some((e) => e.code === LOCK_CODE)

/** The field a re-submitted row cannot do without: the record's key for anything but an insert. */
export const keyFieldOf = (operation: BulkClient.Operation, externalIdFieldName: string | undefined): string | undefined =>
  operation === "insert" ? undefined : operation === "upsert" ? externalIdFieldName : "Id"

/**
 * Whether a lock failure can be re-submitted from the row its outcome carries. On 2.0 that row is
 * Salesforce's echo in `failedResults`, and Salesforce may leave the values out of the echo (a known
 * issue when the header's case differs from the field names: protocol reference §4.11). A row with
 * no value at all, or without the key its operation needs, is left failed (its lock error stands)
 * rather than re-sent blank, which would create or touch a record without its data.
 */
export const resendable = (f: BulkClient.Failure, keyField: string | undefined): boolean => {
  const filled = (v: unknown) => v !== undefined && v !== null && String(v) !== ""
  const row = (f.row ?? {}) as Record<string, unknown>
  const entries = Object.entries(row).filter(([k]) => !k.startsWith("sf__"))
  if (!entries.some(([, v]) => filled(v))) return false
  if (keyField === undefined) return true
  const key = keyField.toLowerCase()
  return entries.some(([k, v]) => k.toLowerCase() === key && filled(v))
}

interface Params<A, E, R> {
  readonly object: string
  readonly operation: BulkClient.Operation
  readonly externalIdFieldName?: string | undefined
  readonly rows: Stream.Stream<A, E, R>
  readonly options: BulkClient.IngestOptions<A>
}

type Pipeline = <A, E, R>(params: Params<A, E, R>) => Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport>

/** Records per follow-up 2.0 job: one Salesforce internal batch, so a job cannot contend with itself. */
const FOLLOW_UP_JOB_RECORDS = 10_000

/**
 * How many groups a follow-up round asks `disjointGroups` for: at least `width` (the concurrency
 * asked for), and enough for each group to fit one follow-up job (2.0: `FOLLOW_UP_JOB_RECORDS`) or
 * one batch (1.0: records and CSV bytes). A bigger group runs as several jobs one after another
 * while the org has batch slots to spare: with 4 groups, a 2.0 round of 75,000 rows took two
 * 10-second jobs per group where 8 groups take one (and the parents, not this count, bound how
 * many groups there can be).
 */
export const followUpGroupCount = (
  rows: number,
  bytes: number,
  perGroup: { readonly records: number; readonly bytes: number },
  width: number
): number =>
  Math.max(
    1,
    width,
    Math.ceil(rows / Math.max(1, perGroup.records)),
    Number.isFinite(perGroup.bytes) ? Math.ceil(bytes / Math.max(1, perGroup.bytes)) : 1
  )

/**
 * Polling of a follow-up job when the caller set no `pollSchedule`: the adaptive schedule, its
 * waits capped at 2 s. A follow-up job is small (one batch), so its rate is estimated from the first
 * polls, a fraction of a second apart, while Salesforce reports progress in whole transactions (200
 * records): an estimate 30% low made a 9-second follow-up batch seen done 2.5 s late, and the
 * round waits for its slowest group. A few more polls per follow-up job (about one every 2 s).
 */
const FOLLOW_UP_POLL: AdaptiveBounds = { firstMs: 500, minMs: 250, maxMs: 2_000 }

/**
 * Reference fields whose parent a child's write does not lock: owner, record type and audit
 * fields (the emulator's rule, processing.ts `referenceFields`). Salesforce: when a child record is
 * created or updated its parent is locked for the transaction, so batches writing children of one
 * parent at once contend, and the remedy is to "sort main records based on their parent record"
 * (Bulk API 2.0 Developer Guide, "Organize Data to Minimize Lock Contention",
 * developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_organize_data.htm;
 * Bulk API 1.0: "General Guidelines for Data Loads", "Organize Batches to Minimize Lock
 * Contention"; "Record-Level Locking" in "Best Practices for Deployments with Large Data Volumes").
 */
const NOT_LOCKING: ReadonlySet<string> = new Set(["ownerid", "recordtypeid", "createdbyid", "lastmodifiedbyid"])

/** A lookup of the object whose parent its write locks: its field name and relationship name. */
export interface LockingReference {
  readonly name: string
  readonly relationshipName: string | undefined
}

/**
 * What `orderByParent` orders rows by (and lock rounds group them by), before the rows' columns
 * are known: one field the caller named, or (`"auto"`) the object's lookups that lock their
 * parent, read from its describe.
 */
export type ParentOrder =
  | { readonly _tag: "Field"; readonly field: string }
  | {
    readonly _tag: "Auto"
    readonly references: ReadonlyArray<LockingReference>
    /**
     * The columns the caller declared (the `columns` option, or the Schema's fields): they decide
     * the parent columns, since a row may leave out a property it has no value for.
     */
    readonly declared?: ReadonlyArray<string> | undefined
    /** The typed row's property of a column the row Schema renames (`Schema.fromKey`). */
    readonly renamed?: ReadonlyMap<string, string> | undefined
  }

/** The lookups of a describe answer whose parent a child's write locks, in describe order. */
export const lockingReferences = (d: { readonly fields: ReadonlyArray<typeof Describe.Field.Type> }): ReadonlyArray<LockingReference> =>
  d.fields
    .filter((f) => f.type === "reference" && !NOT_LOCKING.has(f.name.toLowerCase()))
    .map((f) => ({ name: f.name, relationshipName: f.relationshipName }))

/** The `orderByParent` value that reads the parent fields off the object's describe. */
export const AUTO = "auto"

/**
 * The `orderByParent` option resolved for `object`: `"auto"` reads the object's describe (one
 * request; an unknown object is an `InvalidInputError`), anything else is the field it names.
 */
export const parentOrderOf = (
  object: string,
  options: Pick<BulkClient.IngestOptions<any>, "orderByParent" | "columns" | "schema">
): Effect.Effect<ParentOrder | undefined, BulkError, Transport> => {
  const option = options.orderByParent
  if (option === undefined) return Effect.succeed(undefined)
  if (option !== AUTO) return Effect.succeed({ _tag: "Field", field: option })
  const schema = options.schema
  return Effect.gen(function*() {
    // a Schema that is not a Struct is refused here as the upload would refuse it (typed)
    const declared = options.columns ?? (schema === undefined ? undefined : yield* Effect.try({
      try: () => schemaColumns(schema),
      catch: (e) => e instanceof InvalidInputError ? e : new InvalidInputError({ what: `the row Schema cannot be read: ${String(e)}` })
    }))
    const renamed = schema === undefined ? undefined : schemaRenames(schema)
    const d = yield* Describe.sObject(object)
    return {
      _tag: "Auto",
      references: lockingReferences(d),
      ...(declared === undefined ? {} : { declared }),
      ...(renamed === undefined || renamed.size === 0 ? {} : { renamed })
    } satisfies ParentOrder
  })
}

/** A column of the rows holding a parent: an id (compared in its 15-char form) or a relationship column's external id. */
export interface ParentColumn {
  readonly column: string
  readonly id: boolean
}

/** The relationship a `Relationship.Field` (or polymorphic `Type:Relationship.Field`) column goes through, lower case. */
const relationshipOfColumn = (column: string): string | undefined => /^(?:[^:.]+:)?([^:.]+)\.[^:.]+$/.exec(column)?.[1]?.toLowerCase()

/**
 * The columns of rows with these `columns` that hold a parent under `order`: the named field as is;
 * under `"auto"`, each locking lookup's column (its name matched case-insensitively, as Salesforce
 * matches header names) or relationship columns (`Account.External_Id__c`), in describe order.
 */
export const parentColumns = (order: ParentOrder, columns: ReadonlyArray<string>): ReadonlyArray<ParentColumn> => {
  if (order._tag === "Field") return [{ column: order.field, id: relationshipOfColumn(order.field) === undefined }]
  const out: Array<ParentColumn> = []
  // matched by the column's name; read from the typed row's property where a Schema renames it
  const key = (c: string) => order.renamed?.get(c) ?? c
  for (const ref of order.references) {
    const name = ref.name.toLowerCase()
    const rel = ref.relationshipName?.toLowerCase()
    for (const c of columns) {
      if (c.toLowerCase() === name) out.push({ column: key(c), id: true })
      else if (rel !== undefined && relationshipOfColumn(c) === rel) out.push({ column: key(c), id: false })
    }
  }
  return out
}

/** A parent column's value in `row`, normalized: an id's 15-char form, an external id in lower case (prefixed by its column). */
const parentValue = (row: unknown, c: ParentColumn): string => {
  if (row === null || typeof row !== "object") return ""
  let v = (row as Record<string, unknown>)[c.column]
  // a typed row holds a relationship column as a nested struct: `{ Account: { External_Id__c } }`
  if (v === undefined && c.column.includes(".")) v = nestedValue(row as Record<string, unknown>, c.column)
  if (v === undefined || v === null || v === "") return ""
  const text = String(v)
  return c.id ? idKey(text) : `${c.column.toLowerCase()}=${text.toLowerCase()}`
}

/** The value at a dotted path (`Account.External_Id__c`) of nested objects, if any. */
const nestedValue = (row: Record<string, unknown>, path: string): unknown => {
  let at: unknown = row
  for (const part of path.split(".")) {
    if (at === null || typeof at !== "object") return undefined
    at = (at as Record<string, unknown>)[part]
  }
  return at
}

/**
 * The column names to resolve parent columns from: the caller's declared columns when given, else
 * every property of the sample rows (a plain row leaves out a property it has no value for, so
 * the first row alone can miss the parent column), a nested struct's properties as dotted names.
 */
export const sampleColumns = (order: ParentOrder, sample: Iterable<unknown>): ReadonlyArray<string> => {
  if (order._tag === "Auto" && order.declared !== undefined) return order.declared
  const seen = new Set<string>()
  const add = (row: unknown, prefix: string, depth: number) => {
    if (row === null || typeof row !== "object" || Array.isArray(row) || row instanceof Date) return
    for (const [k, v] of Object.entries(row)) {
      if (depth === 0 && v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) add(v, `${k}.`, 1)
      else seen.add(`${prefix}${k}`)
    }
  }
  let n = 0
  for (const row of sample) {
    add(row, "", 0)
    // enough rows to see the columns of rows of different shapes, few enough to cost nothing
    if (++n === SAMPLE_ROWS) break
  }
  return [...seen]
}

/** Rows looked at to resolve the parent columns when the caller declared none. */
const SAMPLE_ROWS = 1_000

/** Per row, under one `ParentOrder`: its sort key and the parents it writes under. */
export interface ParentKeys {
  /** The columns resolved (`known`, else from the first row seen); empty: nothing to order by. */
  readonly columns: (row: unknown) => ReadonlyArray<ParentColumn>
  /** The sort key: the parent values in column order ("" first when the row has none). */
  readonly sortKey: (row: unknown) => string
  /** The parents, for `contendedRecords`. */
  readonly parents: (row: unknown) => ReadonlyArray<string>
}

/**
 * The `ParentKeys` of `order`: its columns resolved once, from `known` column names when given
 * (`sampleColumns`), else from the first row (or failure row) it is given.
 */
export const parentKeys = (order: ParentOrder, known?: ReadonlyArray<string>): ParentKeys => {
  let resolved: ReadonlyArray<ParentColumn> | undefined = known === undefined ? undefined : parentColumns(order, known)
  const columns = (row: unknown) => resolved ??= parentColumns(order, sampleColumns(order, [row]))
  return {
    columns,
    sortKey: (row) => {
      const cs = columns(row)
      if (cs.length === 1) return parentValue(row, cs[0]!)
      const values = cs.map((c) => parentValue(row, c))
      return values.every((v) => v === "") ? "" : values.join("\u0000")
    },
    parents: (row) => columns(row).map((c) => parentValue(row, c)).filter((v) => v !== "")
  }
}

/**
 * The records a lock failure says it could not lock: Salesforce names them at the end of its
 * message ("unable to obtain exclusive access to this record or 1 records: 001…"). Empty when the
 * message names none.
 */
export const lockedIds = (f: BulkClient.Failure): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (const message of [f.message, ...f.errors.map((e) => e.message)]) {
    const m = /records?:\s*([A-Za-z0-9]{15,18}(?:\s*,\s*[A-Za-z0-9]{15,18})*)\s*$/.exec(message ?? "")
    if (m !== null) { for (const id of m[1]!.split(",")) out.add(id.trim().slice(0, 15)) }
  }
  return [...out]
}

/**
 * Lock failures split into at most `groups` groups that share no contended record, so the groups
 * can be re-submitted at the same time without contending with each other (Salesforce's locks are
 * per record: batches that write children of different parents do not wait on each other). The
 * records of a failure are `keysOf(f)` (its parent reference and the records its message names);
 * failures that share one go in the same group (union-find), and the groups are balanced by rows
 * (largest first into the smallest group). Undefined when a failure has no known record (it could
 * contend with any group): the round then stays serial. Each group keeps the failures' order.
 */
export const disjointGroups = <X>(
  xs: ReadonlyArray<X>,
  keysOf: (x: X) => ReadonlyArray<string>,
  groups: number
): Array<Array<X>> | undefined => {
  const components = new Components()
  const first: Array<string> = []
  for (const x of xs) {
    const k = components.add(keysOf(x))
    if (k === undefined) return undefined
    first.push(k)
  }
  const { count, binOf } = components.bins(groups)
  const bins = Array.from({ length: count }, () => [] as Array<X>)
  xs.forEach((x, i) => bins[binOf(first[i]!)]!.push(x))
  return bins
}

/**
 * The union-find behind `disjointGroups`, fed one failure at a time (a round's failures are read
 * from its spool file, never all held): memory per distinct contended record, not per row.
 */
class Components {
  private readonly parent = new Map<string, string>()
  /** Rows per failure's first key, in the order the keys first came. */
  private readonly sizes = new Map<string, number>()
  find(k: string): string {
    let r = k
    while (this.parent.get(r) !== r) r = this.parent.get(r)!
    for (let c = k; c !== r;) {
      const next = this.parent.get(c)!
      this.parent.set(c, r)
      c = next
    }
    return r
  }
  /** Notes a failure whose records are `keys`: its first key, or undefined when it has none. */
  add(keys: ReadonlyArray<string>): string | undefined {
    const ks = keys.filter((k) => k !== "")
    if (ks.length === 0) return undefined
    for (const k of ks) if (!this.parent.has(k)) this.parent.set(k, k)
    for (const k of ks.slice(1)) {
      const a = this.find(ks[0]!)
      const b = this.find(k)
      if (a !== b) this.parent.set(b, a)
    }
    this.sizes.set(ks[0]!, (this.sizes.get(ks[0]!) ?? 0) + 1)
    return ks[0]!
  }
  /**
   * At most `groups` bins of whole components, balanced by rows (largest component first into the
   * smallest bin): how many, and the bin of a failure given its first key.
   */
  bins(groups: number): { readonly count: number; readonly binOf: (key: string) => number } {
    const components = new Map<string, number>()
    for (const [k, rows] of this.sizes) {
      const r = this.find(k)
      components.set(r, (components.get(r) ?? 0) + rows)
    }
    const count = Math.max(1, Math.min(groups, components.size))
    const load = Array.from({ length: count }, () => 0)
    const binOfRoot = new Map<string, number>()
    for (const [root, rows] of [...components].sort((a, b) => b[1] - a[1])) {
      let smallest = 0
      for (let b = 1; b < count; b++) if (load[b]! < load[smallest]!) smallest = b
      load[smallest]! += rows
      binOfRoot.set(root, smallest)
    }
    return { count, binOf: (key) => binOfRoot.get(this.find(key)) ?? 0 }
  }
}

/** A record id in the form every comparison uses: an 18-char id's first 15 characters (case kept: 15-char ids are case-sensitive). */
const idKey = (v: string): string => (/^[A-Za-z0-9]{18}$/.test(v) ? v.slice(0, 15) : v)

/**
 * The records a lock failure's re-submission writes or waits on, for `disjointGroups`: its parent
 * references (`parentKeys(order).parents` of the `orderByParent` order: the same columns the input
 * is sorted by), the records its message names, and, for anything
 * but an insert, the record itself (its `Id`, or its external id: two rows writing one record must
 * stay in one group, in input order, or the older value could be written last). Ids are compared in
 * their 15-char form (a row may give the 18-char form of an id the message or another row gives in
 * 15); external id values case-insensitively, as Salesforce matches them by default (merging two
 * keys only makes a group bigger, never lets contending rows run side by side).
 */
export const contendedRecords = (
  operation: BulkClient.Operation,
  externalIdFieldName: string | undefined,
  order: ParentOrder | undefined
) => {
  const recordOf = recordKeyOf(operation, externalIdFieldName)
  const parents = order === undefined ? undefined : parentKeys(order).parents
  return (f: BulkClient.Failure): ReadonlyArray<string> => {
    const keys: Array<string> = parents === undefined ? [] : [...parents(f.row)]
    for (const id of lockedIds(f)) keys.push(id)
    // none known: the row could contend with any group (its own key does not tell what it waits on)
    if (keys.length === 0) return keys
    const record = recordOf?.(f.row ?? {}) ?? ""
    if (record !== "") keys.push(record)
    return keys
  }
}

/**
 * An upper bound of the bytes a row of these CSV values takes in a batch (UTF-8, every value quoted, its
 * quotes doubled, separators, a CRLF): what decides whether a follow-up group fits one batch.
 */
const csvBytes = (values: ReadonlyArray<unknown>): number => {
  let n = 2
  for (const v of values) {
    const text = v === undefined || v === null ? "" : String(v)
    n += Buffer.byteLength(text, "utf8") + 3
    for (let i = text.indexOf("\""); i >= 0; i = text.indexOf("\"", i + 1)) n++
  }
  return n
}

/** Rounds asked for: `false`/`undefined`/0 = none. */
export const roundsOf = (option: number | false | undefined): number => (option === undefined || option === false ? 0 : option)

/** Rejects a bad `retryLockedRows`/`orderByParent` before anything is sent. */
export const validateLockOptions = (options: BulkClient.IngestOptions<any>): Effect.Effect<void, InvalidInputError> => {
  const n = options.retryLockedRows
  if (n !== undefined && n !== false && !(Number.isInteger(n) && n >= 0 && n <= 20)) {
    return Effect.fail(
      new InvalidInputError({ what: `retryLockedRows must be false or a whole number of rounds from 0 to 20 (got ${String(n)})` })
    )
  }
  if (options.orderByParent !== undefined && (typeof options.orderByParent !== "string" || options.orderByParent === "")) {
    return Effect.fail(
      new InvalidInputError({
        what:
          `orderByParent must be "${AUTO}" (the object's parent fields, from its describe) or the name of the parent reference field, e.g. "AccountId"`
      })
    )
  }
  return Effect.void
}

/** Positions of a follow-up round's outcomes mapped back to the input (1.0; 2.0 has none). */
const repositioned = <X extends BulkClient.Origin, E>(stream: Stream.Stream<X, E>, positions: ReadonlyArray<number>) =>
  Stream.map(stream, (x): X => {
    if (x.position === undefined) return x
    const p = positions[x.position]
    return { ...x, position: p === undefined || p < 0 ? undefined : p }
  })

const plus = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a + b)

/** One follow-up run of a round: its outcome and, per row it sent, the row's input position. */
interface Part {
  readonly next: BulkClient.Outcome<BulkError>
  /** Per row sent, its input position (-1: none, as on 2.0). */
  readonly positions: ReadonlyArray<number>
}

/**
 * A round's follow-up runs merged into the outcome so far: `retried` are the lock failures of the
 * latest round that the runs re-submitted (now replaced by the runs' outcomes).
 */
const merge = (
  before: BulkClient.Outcome<BulkError>,
  retried: number,
  parts: ReadonlyArray<Part>,
  wasRetried: (f: BulkClient.Failure) => boolean
): BulkClient.Outcome<BulkError> => {
  const a = before.summary
  const total = (f: (s: BulkClient.Summary) => number) => parts.reduce((n, p) => n + f(p.next.summary), 0)
  const succeeded = a.succeeded + total((b) => b.succeeded)
  const failed = a.failed - retried + total((b) => b.failed)
  const streams = <X extends BulkClient.Origin>(pick: (o: BulkClient.Outcome<BulkError>) => Stream.Stream<X, BulkError>) =>
    parts.map((p) => repositioned(pick(p.next), p.positions))
  return {
    summary: {
      ...a,
      jobIds: [...a.jobIds, ...parts.flatMap((p) => p.next.summary.jobIds)],
      batchIds: [...a.batchIds, ...parts.flatMap((p) => p.next.summary.batchIds)],
      succeeded,
      failed,
      processed: succeeded + failed,
      unprocessed: a.unprocessed + total((b) => b.unprocessed),
      created: parts.reduce<number | undefined>((n, p) => plus(n, p.next.summary.created), a.created),
      elapsed: a.elapsed
    },
    successes: Stream.concatAll(Chunk.fromIterable([before.successes, ...streams((o) => o.successes)])),
    // Every lock failure of the outcome so far was re-submitted: only its retry's outcome stays.
    failures: Stream.concatAll(
      Chunk.fromIterable([Stream.filter(before.failures, (f) => !wasRetried(f)), ...streams((o) => o.failures)])
    ),
    unprocessed: Stream.concatAll(Chunk.fromIterable([before.unprocessed, ...streams((o) => o.unprocessed)]))
  }
}

/** Concatenates two outcomes (summary counts added, streams one after the other). */
export const combine = (a: BulkClient.Outcome<BulkError>, b: BulkClient.Outcome<BulkError>): BulkClient.Outcome<BulkError> => ({
  summary: {
    ...b.summary,
    jobIds: [...new Set([...a.summary.jobIds, ...b.summary.jobIds])],
    batchIds: [...a.summary.batchIds, ...b.summary.batchIds],
    rowsRead: a.summary.rowsRead + b.summary.rowsRead,
    processed: a.summary.processed + b.summary.processed,
    succeeded: a.summary.succeeded + b.summary.succeeded,
    created: a.summary.created === undefined || b.summary.created === undefined ? undefined : a.summary.created + b.summary.created,
    failed: a.summary.failed + b.summary.failed,
    unprocessed: a.summary.unprocessed + b.summary.unprocessed,
    elapsed: Duration.sum(a.summary.elapsed, b.summary.elapsed)
  },
  successes: Stream.concat(a.successes, b.successes),
  failures: Stream.concat(a.failures, b.failures),
  unprocessed: Stream.concat(a.unprocessed, b.unprocessed)
})

/**
 * `rows` stably ordered by their parent references under `order` (`parentKeys`: rows without one
 * first), in bounded memory (spoolSort.ts).
 *
 * A named field: when no row has a property `field` at all (a misspelt or differently cased
 * column), the sort would silently keep the input order and the contention it was asked to
 * avoid: that is an `InvalidInputError` naming the rows' fields, raised before any row is emitted
 * (the sort has read the whole input by then).
 *
 * `"auto"`: the columns are resolved from the declared columns or the first rows (`autoOrdered`);
 * when none holds a locking parent, the rows pass through as they come (no sort, no temp file),
 * which is not an error.
 */
export const orderedByParent = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  order: ParentOrder,
  context: OrderContext = {}
): Stream.Stream<A, E | InvalidInputError, R> =>
  order._tag === "Auto" ? autoOrdered(rows, order, context) : fieldOrdered(rows, order.field, context)

/** What `orderedByParent` is told besides the order. */
export interface OrderContext {
  /**
   * The record a row writes (`recordKeyOf`: update, upsert, delete), so that the rows of one record
   * keep their input order (`parentOrdered`).
   */
  readonly recordOf?: ((row: unknown) => string) | undefined
  /**
   * Told the parent columns once they are known, before any row is emitted (a journal records
   * them, and refuses a re-run whose columns differ: its positions are positions in that order).
   */
  readonly onColumns?: ((columns: ReadonlyArray<string>) => Either.Either<void, InvalidInputError>) | undefined
}

/**
 * The record a row writes, for `orderedByParent`'s check and the lock rounds' grouping: its `Id`
 * (15-char form) or, for an upsert, its external id (lower case, as Salesforce matches them by
 * default; prefixed: not a record id); "" when the row has none. Undefined for an insert (every
 * row a new record). The column is found case-insensitively once, then read directly.
 */
export const recordKeyOf = (
  operation: BulkClient.Operation,
  externalIdFieldName: string | undefined
): ((row: unknown) => string) | undefined => {
  const keyField = keyFieldOf(operation, externalIdFieldName)?.toLowerCase()
  if (keyField === undefined) return undefined
  let column: string | undefined
  return (row) => {
    if (row === null || typeof row !== "object") return ""
    const r = row as Record<string, unknown>
    if (column === undefined || !(column in r)) column = Object.keys(r).find((k) => k.toLowerCase() === keyField) ?? column
    const v = column === undefined ? undefined : r[column]
    if (v === undefined || v === null || v === "") return ""
    const text = String(v)
    return keyField === "id" ? idKey(text) : `ext:${text.toLowerCase()}`
  }
}

const fieldOrdered = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  field: string,
  context: OrderContext
): Stream.Stream<A, E | InvalidInputError, R> =>
  Stream.suspend(() => {
    const told = context.onColumns?.([field]) ?? Either.void
    if (Either.isLeft(told)) return Stream.fail(told.left)
    let first: object | undefined
    let found = false
    const keys = parentKeys({ _tag: "Field", field })
    const note = (row: A) => {
      if (row !== null && typeof row === "object") {
        first ??= row
        // (a typed row holds a relationship column as a nested struct: `{ Account: { External_Id__c } }`)
        if (!found && (field in row || (field.includes(".") && nestedValue(row as Record<string, unknown>, field) !== undefined))) {
          found = true
        }
      }
    }
    // called for every row (by `parentOrdered`'s sort by parent, waves or not)
    const keyOf = (row: A): string => {
      note(row)
      return keys.sortKey(row)
    }
    // a synchronous stage: an Effect per chunk holding the chunk has every row promoted (chunkStage.ts)
    return mapChunksOrFail(parentOrdered(rows, keyOf, context.recordOf), (chunk) => {
      if (found || first === undefined) return Either.right(chunk)
      const fields = Object.keys(first)
      const near = fields.find((f) => f.toLowerCase() === field.toLowerCase())
      return Either.left(
        new InvalidInputError({
          what: `orderByParent names the field "${field}", which no row has` +
            (near === undefined ? "" : ` (did you mean "${near}"?)`) +
            `: the rows' fields are ${fields.join(", ")} (or pass orderByParent: "auto" to take the object's parent fields)`
        })
      )
    })
  })

/**
 * `"auto"`: the first rows (`SAMPLE_ROWS`, however many chunks that takes) are pulled to resolve the
 * columns (`sampleColumns`: the declared columns, else the properties of those rows), then the rows
 * (those first) are sorted, or passed through when no column holds a parent.
 */
const autoOrdered = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  order: ParentOrder,
  context: OrderContext
): Stream.Stream<A, E | InvalidInputError, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const pull = yield* Stream.toPull(rows)
    // the first rows, up to SAMPLE_ROWS (an AsyncIterable or a CSV reader may give them one per
    // chunk; none: an empty input, passed on as such)
    let head = Chunk.empty<A>()
    let ended = false
    while (head.length < SAMPLE_ROWS && !ended) {
      const next = yield* Effect.either(pull)
      if (Either.isRight(next)) head = Chunk.appendAll(head, next.right)
      else if (next.left._tag === "None") ended = true
      else return Stream.fail(next.left.value)
    }
    const rest: Stream.Stream<A, E, R> = ended
      ? Stream.fromChunk(head)
      : Stream.concat(Stream.fromChunk(head), Stream.repeatEffectChunkOption(pull))
    const keys = parentKeys(order, sampleColumns(order, head))
    const columns = keys.columns(undefined)
    const told = context.onColumns?.(columns.map((c) => c.column)) ?? Either.void
    if (Either.isLeft(told)) return Stream.fail(told.left)
    if (columns.length === 0) return rest
    return parentOrdered(rest, keys.sortKey, context.recordOf)
  }))

/**
 * `rows` stably sorted by parent (`parentOf`, spoolSort.ts). With `recordOf` (update, upsert,
 * delete: the record a row writes), the rows of one record must keep their input order, or the
 * older value could be the one saved: a sort by parent alone would put a record's row under a
 * lower parent before its earlier row under a higher one. Nor may they end up side by side:
 * Salesforce fails a batch's second row for a record the batch already holds ("Duplicate Id
 * Specified"), and a sort by parent would bring two rows of one record under one parent together.
 * So the rows are sorted in waves: each record's first row in the first wave, its second row in
 * the second, and so on, each wave sorted by parent. A record's rows stay in input order, each
 * under its own parent, a wave apart (only where one wave ends and the next begins can two of them
 * share a batch). The waves come from a first stable sort by record (a record's rows adjacent, in
 * input order, counted as they pass); rows without a record key are all in the first wave. Cost:
 * a second spooled sort, for those operations only.
 */
export const parentOrdered = <A, E, R>(
  rows: Stream.Stream<A, E, R>,
  parentOf: (row: A) => string,
  recordOf: ((row: A) => string) | undefined
): Stream.Stream<A, E | InvalidInputError, R> => {
  if (recordOf === undefined) return sortedBy(rows, parentOf)
  return Stream.suspend(() => {
    let record: string | undefined
    let wave = 0
    // called once per row, in the order of the sort by record (spoolSort.ts reads its keys in order);
    // the wave number fixed-width, so that string order is wave order
    const waveKey = (row: A): string => {
      const r = recordOf(row)
      if (r === "" || r !== record) {
        record = r
        wave = 0
      } else wave++
      return `${String(wave).padStart(10, "0")}\u0000${parentOf(row)}`
    }
    return sortedBy(sortedBy(rows, recordOf), waveKey)
  })
}

/**
 * Runs `once` on the input (ordered by parent when asked), then re-submits lock failures serially
 * for up to `retryLockedRows` rounds. A round's rows are spooled to a private temp file, not held
 * in memory (`spoolRound`). Follow-up rounds report no progress; a journal records each round (its row
 * count) and its pieces marked with the round, so a resume knows the follow-up jobs.
 *
 * Under a journaled resume (`currentResumed`), the outcome resumed from the journal comes first,
 * its pending lock failures are re-submitted with the new ones, and the rounds already done count.
 */
export const withLockRetry = <A, E, R>(
  params: Params<A, E, R>,
  once: Pipeline
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> =>
  Effect.gen(function*() {
    const { options } = params
    yield* validateLockOptions(options)
    const resumed = yield* FiberRef.get(currentResumed)
    const rounds = roundsOf(options.retryLockedRows)
    const requests = { n: 0 }
    const result = yield* counting(
      requests,
      Effect.gen(function*() {
        // read once per operation (`"auto"`: the describe, counted here): a journaled run hands over
        // the order it sorted the input by
        const order = yield* (resumed?.parents ?? parentOrderOf(params.object, options))
        // a journaled run orders the input itself (its positions are positions in that order)
        const ordered = order === undefined || resumed?.ordered === true
          ? params.rows
          : orderedByParent(params.rows, order, { recordOf: recordKeyOf(params.operation, params.externalIdFieldName) })
        const rows = preflighted(ordered, options)
        return yield* Effect.locally(allRounds(params, rows, rounds, order, once, resumed), currentResumed, undefined)
      })
    )
    return { ...result, summary: { ...result.summary, apiRequests: requests.n } }
  })

/**
 * A lock failure on its way to a round's spool file (through the sort by parent, when asked): its
 * group key, parent key, input position (-1: none), CSV bytes (1.0) and row (JSON text). The file
 * keeps the group key and the row; positions and bytes stay in memory, in the file's order.
 */
interface SpooledFailure {
  readonly k: string
  readonly s: string
  readonly p: number
  readonly b: number
  readonly r: string
  /** The record the row writes (`recordKeyOf`; "" for an insert). */
  readonly w: string
}

/** One follow-up group of a round: its spool file, rows, CSV bytes and, per row, its input position (-1: none). */
interface SpooledGroup {
  readonly path: string
  readonly rows: number
  readonly bytes: number
  readonly positions: ReadonlyArray<number>
}

const spoolWriteError = (path: string) => (e: unknown) =>
  new InvalidInputError({
    what: `cannot write the spool file ${path} (retryLockedRows): ${String(e)}. ` +
      "The lock failures of a round take about their rows' size in the temp directory: free space there or point TMPDIR at a larger disk"
  })

/** A spool file written in the scope (its writer closed however the scope ends). */
const writerIn = (path: string, blockBytes?: number) =>
  Effect.acquireRelease(
    Effect.try({ try: () => new RecordWriter(path, blockBytes), catch: spoolWriteError(path) }),
    (w) =>
      Effect.sync(() => {
        try {
          w.close()
        } catch {
          // the temp dir's removal deletes the file
        }
      })
  )

/**
 * A round's lock failures written to `dir` (spoolSort.ts records; the directory is the round's
 * private temp dir, removed with its scope), never held in memory all at once: they are read once,
 * ordered by parent when `order` is set (spoolSort.ts, bounded memory), and spooled while
 * `Components` notes what each contends on; then, when the round is split (`keysOf`), the file is
 * read again and each failure written to its group's file. What stays in memory is per contended
 * record (the union-find) and per row one input position. Undefined when there is no failure.
 */
const spoolRound = <E>(
  failures: Stream.Stream<BulkClient.Failure, E>,
  dir: string,
  o: {
    readonly order: ParentOrder | undefined
    /** The record a row writes (update, upsert, delete): its rows keep their order (`parentOrdered`). */
    readonly recordOf: ((row: unknown) => string) | undefined
    readonly keysOf: ((f: BulkClient.Failure) => ReadonlyArray<string>) | undefined
    readonly bytesOf: (row: Readonly<Record<string, string>>) => number
    readonly groupsFor: (rows: number, bytes: number, columns: ReadonlyArray<string>) => number
  }
) =>
  Effect.gen(function*() {
    const components = new Components()
    const sortKey = o.order === undefined ? undefined : parentKeys(o.order).sortKey
    let splittable = o.keysOf !== undefined
    let rows = 0
    let bytes = 0
    let columns: ReadonlyArray<string> | undefined
    const spooled = Stream.map(failures, (f): SpooledFailure => {
      const b = o.bytesOf(f.row)
      rows++
      bytes += b
      columns ??= Object.keys(f.row)
      let k = ""
      if (splittable) {
        const first = components.add(o.keysOf!(f))
        // a failure with no known record could contend with any group: the round stays serial
        if (first === undefined) splittable = false
        else k = first
      }
      const s = sortKey === undefined ? "" : sortKey(f.row)
      // the record is only read by the sort (`parentOrdered`)
      const w = sortKey === undefined ? "" : o.recordOf?.(f.row) ?? ""
      return { k, s, p: f.position ?? -1, b, r: JSON.stringify(f.row), w }
    })
    const path = Path.join(dir, "locked.bin")
    const writer = yield* writerIn(path)
    const positions: Array<number> = []
    const sizes: Array<number> = []
    // written by a synchronous stage: no Effect per chunk holding it (chunkStage.ts)
    yield* Stream.runDrain(mapChunksOrFail(
      sortKey === undefined ? spooled : parentOrdered(spooled, (e) => e.s, o.recordOf === undefined ? undefined : (e) => e.w),
      (chunk): Either.Either<Chunk.Chunk<never>, InvalidInputError> => {
        try {
          for (const e of chunk) {
            writer.addJson(e.k, e.r)
            positions.push(e.p)
            sizes.push(e.b)
          }
          return Either.right(Chunk.empty())
        } catch (e) {
          return Either.left(spoolWriteError(path)(e))
        }
      }
    ))
    yield* Effect.try({ try: () => writer.close(), catch: spoolWriteError(path) })
    if (rows === 0 || columns === undefined) return undefined
    const bins = splittable ? components.bins(o.groupsFor(rows, bytes, columns)) : undefined
    if (bins === undefined || bins.count === 1) {
      return { rows, columns, groups: [{ path, rows, bytes, positions }] as ReadonlyArray<SpooledGroup> }
    }
    const groups = Array.from({ length: bins.count }, (_, i) => ({
      path: Path.join(dir, `locked-${i}.bin`),
      rows: 0,
      bytes: 0,
      positions: [] as Array<number>
    }))
    const writers: Array<RecordWriter> = []
    // (a group's writer buffers 128 KiB: a round may have dozens of groups)
    for (const g of groups) writers.push(yield* writerIn(g.path, 128 * 1024))
    // each failure to its group's file, in the round's order (groups keep it), its record copied as is
    let at = 0
    yield* forEachRecord(path, (key, record) => {
      const i = bins.binOf(key)
      const g = groups[i]!
      try {
        writers[i]!.add(record)
      } catch (e) {
        throw spoolWriteError(g.path)(e)
      }
      g.rows++
      g.bytes += sizes[at]!
      g.positions.push(positions[at]!)
      at++
    }, positions.length)
    for (const [i, w] of writers.entries()) yield* Effect.try({ try: () => w.close(), catch: spoolWriteError(groups[i]!.path) })
    return { rows, columns, groups: groups as ReadonlyArray<SpooledGroup> }
  })

/** The first round and the follow-ups, merged. */
const allRounds = <A, E, R>(
  params: Params<A, E, R>,
  rows: Stream.Stream<A, E | InvalidInputError, R>,
  rounds: number,
  order: ParentOrder | undefined,
  once: Pipeline,
  resumed: Resumed | undefined
): Effect.Effect<BulkClient.Outcome<BulkError>, BulkError | E, R | Transport> =>
  Effect.gen(function*() {
    const { options } = params
    const started = yield* Clock.currentTimeMillis
    const first = yield* once({ ...params, rows })
    let outcome = resumed?.outcome === undefined ? first : combine(resumed.outcome, first)
    // where the lock failures still to re-submit are: the latest round's failures (and, resumed, the pending ones)
    let candidates = resumed === undefined || resumed.pending.length === 0
      ? first.failures
      : Stream.concat(Stream.fromIterable(resumed.pending), first.failures)
    // how many failures the candidates hold, from the summaries: with none, their streams are not
    // read (2.0 would download each job's empty failedResults: a request, and time, per job)
    let failedSoFar = (resumed?.pending.length ?? 0) + first.summary.failed
    let followed = false
    const keyField = keyFieldOf(params.operation, params.externalIdFieldName)
    // the lock failures a round re-submits (and whose outcome its retry then replaces)
    const retriable = (f: BulkClient.Failure) => isLockFailure(f) && resendable(f, keyField)
    const keysOf = contendedRecords(params.operation, params.externalIdFieldName, order)
    // Rounds run their groups in parallel while that leaves no lock failure; after one that does (or
    // under a journal, whose resume knows one follow-up run per round) the rounds are serial.
    let parallel = options.journal === undefined && resumed === undefined && options.serial !== true
    const width = Math.max(1, options.concurrency ?? 4)
    // 1.0 records per batch (as ingest1 cuts them)
    const batchRecords1 = Math.min(options.batchSize ?? 10_000, options.maxBatchRecords ?? 10_000)
    // and bytes per batch: a group over it would be cut into batches of one Parallel job, which
    // write the same parents at once and contend with each other
    const batchBytes1 = options.maxBatchChars ?? 10_000_000
    for (let round = resumed?.rounds ?? 0; round < rounds; round++) {
      if (failedSoFar === 0) break
      const header = (columns: ReadonlyArray<string>) => csvBytes(columns)
      // the round in a scope of its own: its spool files are removed once its runs are done (or it
      // fails, or is interrupted)
      const done = yield* Effect.scoped(Effect.gen(function*() {
        const spooled = yield* spoolRound(Stream.filter(candidates, retriable), yield* tempDir, {
          order,
          recordOf: recordKeyOf(params.operation, params.externalIdFieldName),
          keysOf: parallel ? keysOf : undefined,
          // 1.0: each row's CSV bytes, for enough groups to each fit one batch (a bigger group has to be a Serial job, see below)
          bytesOf: options.api === "1.0" ? (row) => csvBytes(Object.values(row)) : () => 0,
          groupsFor: (rows, bytes, columns) =>
            options.api === "1.0"
              ? followUpGroupCount(rows, bytes, { records: batchRecords1, bytes: batchBytes1 - header(columns) }, width)
              : followUpGroupCount(rows, 0, { records: FOLLOW_UP_JOB_RECORDS, bytes: Infinity }, width)
        })
        if (spooled === undefined) return undefined
        const { columns, groups } = spooled
        const fitsOneBatch = (group: SpooledGroup) => group.rows <= batchRecords1 && header(columns) + group.bytes <= batchBytes1
        const followUp: BulkClient.IngestOptions<Record<string, string>> = {
          ...(options as BulkClient.IngestOptions<any>),
          schema: undefined,
          columns: [...columns],
          serial: true,
          concurrency: 1,
          onProgress: undefined,
          journal: undefined,
          allowEmpty: true,
          ...(options.api === "1.0" ? {} : { batchSize: FOLLOW_UP_JOB_RECORDS })
        }
        // journaled before anything of the round is sent: a resume then knows how many rows it carries
        yield* notifyRound(round + 1, spooled.rows)
        // Each group serially, the groups side by side. 2.0: one job at a time per group. 1.0: Salesforce
        // runs the batches of all Serial jobs one at a time, so side-by-side groups are Parallel jobs of
        // one batch each (their parents disjoint, so they do not contend); a group too big for one
        // batch, or a round that is not split, is a Serial job.
        // A group that fails does not cut its siblings short: each runs to its end (its jobs finished,
        // not left running unseen nor, on 1.0, aborted part way), and then the round fails with every
        // failed group's error (each naming its job), so no job of the round is in flight unreported.
        const exits = yield* Effect.forEach(
          groups,
          (group) =>
            Effect.exit(Effect.map(
              Effect.locally(
                once({
                  object: params.object,
                  operation: params.operation,
                  externalIdFieldName: params.externalIdFieldName,
                  rows: recordsOf(group.path, (_, row) => row as Record<string, string>, group.rows),
                  options: {
                    ...followUp,
                    ...(options.api === "1.0" && groups.length > 1 && fitsOneBatch(group) ? { serial: false } : {}),
                    pollSchedule: options.pollSchedule ?? adaptivePollSchedule(group.rows, FOLLOW_UP_POLL)
                  }
                }),
                currentRound,
                round + 1
              ),
              (next): Part => ({ next, positions: group.positions })
            )),
          { concurrency: groups.length }
        )
        const failed = exits.flatMap((e) => (Exit.isFailure(e) ? [e.cause] : []))
        if (failed.length > 0) return yield* Effect.failCause(failed.reduce((a, b) => Cause.parallel(a, b)))
        return { rows: spooled.rows, parts: exits.flatMap((e) => (Exit.isSuccess(e) ? [e.value] : [])) }
      }))
      if (done === undefined) break
      const { parts } = done
      outcome = merge(outcome, done.rows, parts, retriable)
      // at their input positions (a follow-up's own are positions in what it was sent): the next
      // round maps its outcomes back through these
      candidates = Stream.concatAll(Chunk.fromIterable(parts.map((p) => repositioned(p.next.failures, p.positions))))
      failedSoFar = parts.reduce((n, p) => n + p.next.summary.failed, 0)
      if (parts.some((p) => p.next.summary.failed > 0)) parallel = false
      followed = true
    }
    if (!followed) return outcome
    // the whole operation's time, follow-up rounds included
    const now = yield* Clock.currentTimeMillis
    return { ...outcome, summary: { ...outcome.summary, elapsed: Duration.max(outcome.summary.elapsed, Duration.millis(now - started)) } }
  })
