/**
 * Column storage for one sObject type. Rows live in slots (creation order == id order); each field
 * is a lazily allocated column: numbers/dates/datetimes in a `Float64Array` (NaN = null, dates as
 * epoch days, datetimes as epoch ms), booleans in a `Uint8Array`, text and ids in an array. A
 * column that was never written costs nothing, so a million narrow rows stay small.
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

class TextColumn implements Column {
  data: Array<string | null>
  constructor(capacity: number) {
    this.data = new Array<string | null>(capacity).fill(null)
  }
  get(slot: number): Value {
    return this.data[slot] ?? null
  }
  set(slot: number, v: Value): void {
    this.data[slot] = v as string | null
  }
  grow(capacity: number): void {
    const old = this.data.length
    this.data.length = capacity
    this.data.fill(null, old)
  }
}

class NumberColumn implements Column {
  data: Float64Array
  constructor(capacity: number) {
    this.data = new Float64Array(capacity).fill(NaN)
  }
  get(slot: number): Value {
    const v = this.data[slot]!
    return v !== v ? null : v
  }
  set(slot: number, v: Value): void {
    this.data[slot] = v === null ? NaN : (v as number)
  }
  grow(capacity: number): void {
    const next = new Float64Array(capacity).fill(NaN)
    next.set(this.data)
    this.data = next
  }
}

class BooleanColumn implements Column {
  data: Uint8Array
  constructor(capacity: number) {
    this.data = new Uint8Array(capacity)
  }
  get(slot: number): Value {
    return this.data[slot] === 1
  }
  set(slot: number, v: Value): void {
    this.data[slot] = v === true ? 1 : 0
  }
  grow(capacity: number): void {
    const next = new Uint8Array(capacity)
    next.set(this.data)
    this.data = next
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
  readonly index: Map<number, number | Set<number>> | undefined
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
    this.index = this.storage !== "id" && (def.unique || def.externalId || def.idLookup) ? new Map() : undefined
  }
}

const fnv = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h | 0
}

/** Case-insensitive 32-bit FNV-1a hash of a stored value: `fnv(lower-case text)` (consistent with `sameKey`). */
export const hashKey = (v: Value): number => {
  const text = typeof v === "string" ? v : String(v)
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c > 127) return fnv(text.toLowerCase())
    if (c >= 65 && c <= 90) c += 32
    h = Math.imul(h ^ c, 16777619)
  }
  return h | 0
}

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
    this.compoundName =
      name && last && !name.createable ? { name, first: this.byName.get("firstname"), last } : undefined
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
      c = f.storage === "number" ? new NumberColumn(this.capacity) : f.storage === "boolean" ? new BooleanColumn(this.capacity) : new TextColumn(this.capacity)
      this.cols[f.position] = c
    }
    c.set(slot, v)
  }

  /** A new slot for a 15-character id (ids must arrive in ascending order). */
  allocate(id15: string): number {
    if (this.size === this.capacity) {
      this.capacity *= 2
      const state = new Uint8Array(this.capacity)
      state.set(this.state)
      this.state = state
      for (const c of this.cols) c?.grow(this.capacity)
    }
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
    if (v === null) return
    const key = hashKey(v)
    const index = f.index!
    const hit = index.get(key)
    if (hit === undefined) index.set(key, slot)
    else if (typeof hit === "number") index.set(key, new Set([hit, slot]))
    else hit.add(slot)
  }

  indexRemove(f: FieldInfo, v: Value, slot: number): void {
    if (v === null) return
    const key = hashKey(v)
    const index = f.index!
    const hit = index.get(key)
    if (hit === undefined) return
    if (typeof hit === "number") {
      if (hit === slot) index.delete(key)
      return
    }
    hit.delete(slot)
    if (hit.size === 1) index.set(key, hit.values().next().value!)
    else if (hit.size === 0) index.delete(key)
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
