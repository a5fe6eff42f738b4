/**
 * Column storage for one sObject type. Rows live in slots (creation order == id order); each field
 * is a lazily allocated column: numbers/dates/datetimes in a `Float64Array` (NaN = null, dates as
 * epoch days, datetimes as epoch ms), booleans in a `Uint8Array`, text and ids in an array, each
 * in pages of 16,384 slots. A column that was never written costs nothing, so a million narrow rows
 * stay small.
 */
import { checksum, decodeBase62 } from "./ids.js"
import type { FieldDef, FieldType, ObjectDef, QueryValue } from "./model.js"

/** A stored value: text, ids (15 chars), numbers, epoch days (date), epoch ms (datetime), booleans. */
export type Value = string | number | boolean | null

/** Slot states. */
export const LIVE = 0
export const DELETED = 1
export const GONE = 2

interface Column {
  get(slot: number): Value
  set(slot: number, v: Value): void
  grow(capacity: number): void
}

/**
 * Columns are paged (16,384 slots a page): growing appends pages instead of copying the column, so
 * a million-row insert never re-copies its columns as the table doubles.
 */
const PAGE_BITS = 14
const PAGE = 1 << PAGE_BITS
const PAGE_MASK = PAGE - 1

class TextColumn implements Column {
  readonly pages: Array<Array<string | null>> = []
  constructor(capacity: number) {
    this.grow(capacity)
  }
  get(slot: number): Value {
    return this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] ?? null
  }
  set(slot: number, v: Value): void {
    this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] = v as string | null
  }
  grow(capacity: number): void {
    while (this.pages.length * PAGE < capacity) this.pages.push(new Array<string | null>(PAGE).fill(null))
  }
}

class NumberColumn implements Column {
  readonly pages: Array<Float64Array> = []
  constructor(capacity: number) {
    this.grow(capacity)
  }
  get(slot: number): Value {
    const v = this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK]!
    return v !== v ? null : v
  }
  set(slot: number, v: Value): void {
    this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] = v === null ? NaN : (v as number)
  }
  grow(capacity: number): void {
    while (this.pages.length * PAGE < capacity) this.pages.push(new Float64Array(PAGE).fill(NaN))
  }
}

class BooleanColumn implements Column {
  readonly pages: Array<Uint8Array> = []
  constructor(capacity: number) {
    this.grow(capacity)
  }
  get(slot: number): Value {
    return this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] === 1
  }
  set(slot: number, v: Value): void {
    this.pages[slot >>> PAGE_BITS]![slot & PAGE_MASK] = v === true ? 1 : 0
  }
  grow(capacity: number): void {
    while (this.pages.length * PAGE < capacity) this.pages.push(new Uint8Array(PAGE))
  }
}

/** How a field is stored. */
export type Storage = "id" | "deleted" | "text" | "number" | "boolean"

const storageOf = (def: FieldDef): Storage => {
  if (def.name === "Id" || def.type === "id") return "id"
  if (def.name === "IsDeleted") return "deleted"
  switch (def.type) {
    case "boolean":
      return "boolean"
    case "int":
    case "double":
    case "currency":
    case "percent":
    case "date":
    case "datetime":
      return "number"
    default:
      return "text"
  }
}

const EMPTY = 0
const TOMBSTONE = -1

/**
 * A hash index for a lookup field: 32-bit key hash -> slot, or -> set of slots when several rows
 * share a hash (equal values, or the rare collision; `Table.lookup` weeds those out). Open
 * addressing with linear probing over one `Int32Array` of (hash, entry) pairs, so a million keys
 * cost 16 MB and a probe touches one cache line. Entry: `slot + 1`, `-(set + 2)`, EMPTY or TOMBSTONE.
 */
export class KeyIndex {
  private table = new Int32Array(2 * 1024)
  private mask = 1023
  /** Entries in use, tombstones included (they lengthen probes until the next rehash). */
  private used = 0
  private readonly sets: Array<Set<number> | undefined> = []
  private readonly freeSets: Array<number> = []

  /** The first probe position of a key: its low bits, so neighbouring keys stay neighbours. */
  private home(hash: number): number {
    return hash & this.mask
  }

  /** The table position holding `hash`, or -1. */
  private find(hash: number): number {
    const t = this.table
    for (let i = this.home(hash);; i = (i + 1) & this.mask) {
      const e = t[2 * i + 1]!
      if (e === EMPTY) return -1
      if (e !== TOMBSTONE && t[2 * i] === hash) return i
    }
  }

  /** The slot (number) or slots (set) under a hash. */
  get(hash: number): number | ReadonlySet<number> | undefined {
    const i = this.find(hash)
    if (i < 0) return undefined
    const e = this.table[2 * i + 1]!
    return e > 0 ? e - 1 : this.sets[-e - 2]!
  }

  add(hash: number, slot: number): void {
    const i = this.find(hash)
    if (i >= 0) {
      const e = this.table[2 * i + 1]!
      if (e > 0) {
        const set = new Set([e - 1, slot])
        const k = this.freeSets.length > 0 ? this.freeSets.pop()! : this.sets.length
        this.sets[k] = set
        this.table[2 * i + 1] = -k - 2
      } else {
        this.sets[-e - 2]!.add(slot)
      }
      return
    }
    if (2 * (this.used + 1) > this.mask + 1) this.rehash(0)
    const t = this.table
    let j = this.home(hash)
    while (t[2 * j + 1] !== EMPTY && t[2 * j + 1] !== TOMBSTONE) j = (j + 1) & this.mask
    if (t[2 * j + 1] === EMPTY) this.used++
    t[2 * j] = hash
    t[2 * j + 1] = slot + 1
  }

  remove(hash: number, slot: number): void {
    const i = this.find(hash)
    if (i < 0) return
    const e = this.table[2 * i + 1]!
    if (e > 0) {
      if (e - 1 === slot) this.table[2 * i + 1] = TOMBSTONE
      return
    }
    const k = -e - 2
    const set = this.sets[k]!
    set.delete(slot)
    if (set.size > 1) return
    this.sets[k] = undefined
    this.freeSets.push(k)
    this.table[2 * i + 1] = set.size === 1 ? set.values().next().value! + 1 : TOMBSTONE
  }

  /** Makes room for `more` keys at once (one rebuild instead of several as they arrive). */
  reserve(more: number): void {
    if (2 * (this.used + more) > this.mask + 1) this.rehash(more)
  }

  /** Rebuilds the table without tombstones, doubling it until the live keys (plus `more`) fill at most a quarter. */
  private rehash(more: number): void {
    const old = this.table
    let live = 0
    for (let i = 1; i < old.length; i += 2) if (old[i] !== EMPTY && old[i] !== TOMBSTONE) live++
    let size = this.mask + 1
    while (4 * (live + more + 1) > size) size *= 2
    const t = new Int32Array(2 * size)
    this.table = t
    this.mask = size - 1
    this.used = live
    for (let i = 0; i < old.length; i += 2) {
      const e = old[i + 1]!
      if (e === EMPTY || e === TOMBSTONE) continue
      let j = this.home(old[i]!)
      while (t[2 * j + 1] !== EMPTY) j = (j + 1) & this.mask
      t[2 * j] = old[i]!
      t[2 * j + 1] = e
    }
  }
}

/** A field of a table, with everything the hot paths need precomputed. */
export class FieldInfo {
  readonly name: string
  readonly lower: string
  readonly label: string
  readonly type: FieldType
  readonly storage: Storage
  readonly createable: boolean
  readonly updateable: boolean
  readonly required: boolean
  readonly unique: boolean
  readonly length: number | undefined
  readonly picklist: ReadonlySet<string> | undefined
  /**
   * Lookup index (unique, external id or idLookup fields): case-insensitive hash -> slot(s). Keys are
   * numbers so a million external ids cost no extra strings; `Table.lookup` weeds out collisions.
   */
  readonly index: KeyIndex | undefined
  /** Reference targets, resolved once every table exists. */
  refTables: Array<Table> = []
  constructor(readonly def: FieldDef, readonly position: number) {
    this.name = def.name
    this.lower = def.name.toLowerCase()
    this.label = def.label ?? def.name
    this.type = def.name === "Id" ? "id" : def.type
    this.storage = storageOf(def)
    const system = this.storage === "id" || this.storage === "deleted"
    this.createable = !system && def.createable !== false
    this.updateable = !system && def.updateable !== false
    this.required = def.required === true && def.type !== "boolean"
    this.unique = def.unique === true
    this.length = def.length
    this.picklist = def.picklistValues && def.type === "picklist" ? new Set(def.picklistValues) : undefined
    this.index = this.storage !== "id" && (def.unique || def.externalId || def.idLookup) ? new KeyIndex() : undefined
  }
}

/**
 * The index key of a text (`hashKey`): FNV-1a of all but its last two characters, mixed, plus those
 * two characters (`c[-2] * 128 + c[-1]`). Keys that differ only at the end (`EXT-1000`, `EXT-1001`,
 * ...) land next to each other in the index table, so inserting or probing sequential keys stays in
 * cache instead of costing a memory miss per row. `fold` lower-cases ASCII letters on the way.
 */
const keyOf = (text: string, fold: boolean): number => {
  const n = text.length
  let h = 0x811c9dc5
  let i = 0
  for (; i < n - 2; i++) {
    let c = text.charCodeAt(i)
    if (fold) {
      if (c > 127) return keyOf(text.toLowerCase(), false)
      if (c >= 65 && c <= 90) c += 32
    }
    h = Math.imul(h ^ c, 16777619)
  }
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
  h ^= h >>> 12
  let tail = 0
  for (; i < n; i++) {
    let c = text.charCodeAt(i)
    if (fold) {
      if (c > 127) return keyOf(text.toLowerCase(), false)
      if (c >= 65 && c <= 90) c += 32
    }
    tail = tail * 128 + c
  }
  return (h + tail) | 0
}

/** Case-insensitive 32-bit key of a stored value for the lookup indexes (consistent with `sameKey`). */
export const hashKey = (v: Value): number => keyOf(typeof v === "string" ? v : String(v), true)

/** Index equality: text case-insensitively, other values exactly. */
const sameKey = (a: Value, b: Value): boolean => {
  if (typeof a !== "string" || typeof b !== "string") return a === b || String(a) === String(b)
  if (a.length !== b.length) return a.toLowerCase() === b.toLowerCase()
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x > 127 || y > 127) return a.toLowerCase() === b.toLowerCase()
    if (x >= 65 && x <= 90) x += 32
    if (y >= 65 && y <= 90) y += 32
    if (x !== y) return false
  }
  return true
}

const DAY = 86_400_000
const NONE: ReadonlyArray<number> = []

/** The query value of a stored value. */
export const render = (f: FieldInfo, v: Value): QueryValue => {
  if (v === null) return null
  switch (f.type) {
    case "id":
    case "reference":
      return (v as string) + checksum(v as string)
    case "date":
      return new Date((v as number) * DAY).toISOString().slice(0, 10)
    case "datetime":
      return new Date(v as number).toISOString()
    default:
      return v
  }
}

/** One sObject type's rows. */
export class Table {
  readonly name: string
  readonly lower: string
  readonly prefix: string
  readonly fields: ReadonlyArray<FieldInfo>
  readonly byName = new Map<string, FieldInfo>()
  readonly byRelationship = new Map<string, FieldInfo>()
  readonly indexed: ReadonlyArray<FieldInfo>
  readonly requiredFields: ReadonlyArray<FieldInfo>
  readonly defaulted: ReadonlyArray<FieldInfo>
  readonly idField: FieldInfo
  /** Audit fields (absent on objects that declare a subset). */
  readonly audit: {
    readonly createdDate: FieldInfo | undefined
    readonly createdById: FieldInfo | undefined
    readonly lastModifiedDate: FieldInfo | undefined
    readonly lastModifiedById: FieldInfo | undefined
    readonly systemModstamp: FieldInfo | undefined
    readonly ownerId: FieldInfo | undefined
  }
  /** Ingest column specs by header text, owned by the org. */
  readonly columnCache = new Map<string, unknown>()
  /** Compound `Name` (Contact, Lead, User): read-only, computed from FirstName + LastName. */
  readonly compoundName: { readonly name: FieldInfo; readonly first: FieldInfo | undefined; readonly last: FieldInfo } | undefined
  readonly cols: Array<Column | undefined>
  /** 15-character ids by slot (ascending). */
  readonly ids: Array<string> = []
  state = new Uint8Array(1024)
  capacity = 1024
  size = 0
  live = 0
  /** Hard-deleted slots. */
  gone = 0

  constructor(readonly def: ObjectDef) {
    this.name = def.name
    this.lower = def.name.toLowerCase()
    this.prefix = def.keyPrefix
    this.fields = def.fields.map((f, i) => new FieldInfo(f, i))
    for (const f of this.fields) {
      this.byName.set(f.lower, f)
      if (f.def.relationshipName) this.byRelationship.set(f.def.relationshipName.toLowerCase(), f)
    }
    this.idField = this.byName.get("id")!
    this.audit = {
      createdDate: this.byName.get("createddate"),
      createdById: this.byName.get("createdbyid"),
      lastModifiedDate: this.byName.get("lastmodifieddate"),
      lastModifiedById: this.byName.get("lastmodifiedbyid"),
      systemModstamp: this.byName.get("systemmodstamp"),
      ownerId: this.byName.get("ownerid")
    }
    this.indexed = this.fields.filter((f) => f.index !== undefined)
    this.requiredFields = this.fields.filter((f) => f.required && f.createable)
    this.defaulted = this.fields.filter((f) => f.def.defaultValue !== undefined)
    this.cols = this.fields.map(() => undefined)
    const name = this.byName.get("name")
    const last = this.byName.get("lastname")
    this.compoundName = name && last && !name.createable ? { name, first: this.byName.get("firstname"), last } : undefined
  }

  field(name: string): FieldInfo | undefined {
    return this.byName.get(name.toLowerCase())
  }

  /** The stored value of a field in a slot. */
  get(slot: number, f: FieldInfo): Value {
    switch (f.storage) {
      case "id":
        return this.ids[slot]!
      case "deleted":
        return this.state[slot] === DELETED
      default: {
        const c = this.cols[f.position]
        if (c === undefined) return f.storage === "boolean" ? false : null
        return c.get(slot)
      }
    }
  }

  set(slot: number, f: FieldInfo, v: Value): void {
    let c = this.cols[f.position]
    if (c === undefined) {
      if (v === null || v === false) return
      c = f.storage === "number"
        ? new NumberColumn(this.capacity)
        : f.storage === "boolean"
        ? new BooleanColumn(this.capacity)
        : new TextColumn(this.capacity)
      this.cols[f.position] = c
    }
    c.set(slot, v)
  }

  /** Grows the slot arrays to hold `capacity` rows. */
  private grow(capacity: number): void {
    this.capacity = capacity
    const state = new Uint8Array(capacity)
    state.set(this.state)
    this.state = state
    for (const c of this.cols) c?.grow(capacity)
  }

  /** Makes room for `more` new rows at once (a bulk insert grows the columns once, not a dozen times). */
  reserve(more: number): void {
    let capacity = this.capacity
    while (capacity < this.size + more) capacity *= 2
    if (capacity > this.capacity) this.grow(capacity)
    for (const f of this.indexed) f.index!.reserve(more)
  }

  /** A new slot for a 15-character id (ids must arrive in ascending order). */
  allocate(id15: string): number {
    if (this.size === this.capacity) this.grow(2 * this.capacity)
    const slot = this.size++
    this.ids.push(id15)
    this.live++
    return slot
  }

  /**
   * The slot of a 15-character id (live or soft-deleted), or undefined. Ids ascend with slots, and
   * generated ids carry their per-prefix counter, so the counter is tried first, then a binary search.
   */
  slotOf(id15: string): number | undefined {
    if (id15.length !== 15 || !id15.startsWith(this.prefix)) return undefined
    let s = decodeBase62(id15, 6) - 1
    if (!(s >= 0 && s < this.size && this.ids[s] === id15)) {
      s = this.lowerBound(id15)
      if (s >= this.size || this.ids[s] !== id15) return undefined
    }
    return this.state[s] === GONE ? undefined : s
  }

  indexAdd(f: FieldInfo, v: Value, slot: number): void {
    if (v !== null) f.index!.add(hashKey(v), slot)
  }

  indexRemove(f: FieldInfo, v: Value, slot: number): void {
    if (v !== null) f.index!.remove(hashKey(v), slot)
  }

  /**
   * Slots whose indexed field equals `v` (text case-insensitively), ascending; at most `max` of
   * them, so a value shared by a million idLookup rows costs no more than the caller needs.
   */
  lookup(f: FieldInfo, v: Value, max: number): ReadonlyArray<number> {
    const hit = f.index!.get(hashKey(v))
    if (hit === undefined) return NONE
    if (typeof hit === "number") return sameKey(this.get(hit, f), v) ? [hit] : NONE
    const out: Array<number> = []
    for (const s of hit) {
      if (sameKey(this.get(s, f), v)) out.push(s)
      if (out.length === max) break
    }
    return out.sort((a, b) => a - b)
  }

  /** First slot whose 15-character id is >= `id15` (binary search; ids ascend with slots). */
  lowerBound(id15: string): number {
    let lo = 0
    let hi = this.size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.ids[mid]! < id15) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
