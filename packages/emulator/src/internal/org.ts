/**
 * The in-memory org: tables per sObject, ingest operations with Salesforce's per-record errors, and
 * SOQL queries (see `soql.ts`). Implements the `OrgApi` contract the HTTP layers code against.
 */
import { convert, isError, recordError } from "./convert.js"
import { IdGenerator, isValidId, to15, to18 } from "./ids.js"
import type {
  HeaderCheck,
  IngestOperation,
  InputValue,
  ModelError,
  ObjectDef,
  OrgApi,
  OrgDefinition,
  QueryResult,
  QueryValue,
  RecordError,
  RowOutcome
} from "./model.js"
import { adminUser, systemFields } from "./objects.js"
import { runQuery } from "./soql.js"
import { DELETED, type FieldInfo, GONE, LIVE, render, Table, type Value } from "./store.js"

/** Key prefixes the emulator uses for things that are not records. */
const RESERVED_PREFIXES = new Map([
  ["00D", "the organization id"],
  ["750", "job ids"],
  ["751", "batch ids"],
  ["752", "query result ids"]
])

/** Matching records listed in a DUPLICATE_EXTERNAL_ID message. */
const MAX_MATCHES = 10

/** Options for a new org. */
export interface OrgOptions {
  /** The clock (ms); defaults to `Date.now`. */
  readonly now?: () => number
  /** Id generator; one per org so ids sort in creation order. */
  readonly ids?: IdGenerator
}

/** A resolved ingest column. */
interface ColumnSpec {
  /** The canonical header name (`Account.ExternalId__c`). */
  readonly canonical: string
  /** The field written (for a relationship column: the reference field). */
  readonly field: FieldInfo
  /** Relationship column: the parent table and its matching field. */
  readonly parent?: { readonly table: Table; readonly field: FieldInfo }
}

const fail = (error: RecordError): RowOutcome => ({ success: false, id: null, errors: [error] })

const noSuchColumn = (column: string, object: string): string =>
  `No such column '${column}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`

/** Adds `Id` and the audit fields to an object that does not declare them. */
const normalize = (def: ObjectDef): ObjectDef => {
  const names = new Set(def.fields.map((f) => f.name.toLowerCase()))
  const missing = systemFields.filter((f) => !names.has(f.name.toLowerCase()))
  if (missing.length === 0) return def
  const id = missing.find((f) => f.name === "Id")
  const rest = missing.filter((f) => f.name !== "Id")
  return { ...def, fields: [...(id ? [id] : []), ...def.fields, ...rest] }
}

/** The in-memory org. */
export class Org implements OrgApi {
  private readonly tables = new Map<string, Table>()
  private readonly byPrefix = new Map<string, Table>()
  private readonly order: Array<Table> = []
  private readonly ids: IdGenerator
  /** Milliseconds clock. */
  readonly now: () => number
  /** 18-character id of the admin user who owns and creates records (the first User seeded). */
  readonly userId: string
  /** 18-character organization id (`00D...`). */
  readonly orgId: string
  private readonly user15: string
  // Scratch state for `apply`, reused across rows so the hot path does not allocate: the staged
  // (field, value) pairs, their count, and the row's Id text.
  private readonly stagedFields: Array<FieldInfo> = []
  private readonly stagedValues: Array<Value> = []
  private staged = 0
  private idText: string | undefined = undefined
  /** `applyValues`' columns resolved per header array (concurrent jobs each keep theirs). */
  private readonly prepared = new WeakMap<
    ReadonlyArray<string>,
    { readonly object: string; readonly table: Table | undefined; readonly specs: ReadonlyArray<ColumnSpec | null> }
  >()

  constructor(definition: OrgDefinition, options: OrgOptions = {}) {
    this.now = options.now ?? Date.now
    this.ids = options.ids ?? new IdGenerator()
    for (const raw of definition.objects) {
      const t = new Table(normalize(raw))
      if (this.tables.has(t.lower)) throw new Error(`object ${t.name} is declared twice`)
      if (RESERVED_PREFIXES.has(t.prefix)) {
        throw new Error(`object ${t.name} uses the key prefix ${t.prefix}, reserved for ${RESERVED_PREFIXES.get(t.prefix)}`)
      }
      const clash = this.byPrefix.get(t.prefix)
      if (clash) throw new Error(`objects ${clash.name} and ${t.name} share the key prefix ${t.prefix}`)
      this.tables.set(t.lower, t)
      this.byPrefix.set(t.prefix, t)
      this.order.push(t)
    }
    for (const t of this.order) {
      for (const f of t.fields) {
        if (f.type !== "reference") continue
        f.refTables = (f.def.referenceTo ?? []).map((name) => {
          const target = this.tables.get(name.toLowerCase())
          if (!target) throw new Error(`${t.name}.${f.name} references unknown object ${name}`)
          return target
        })
      }
    }
    this.orgId = this.ids.next("00D")
    const users = this.tables.get("user")
    // The admin is the org's first user: its id is known before it exists, so it creates itself.
    this.userId = users ? to18(this.ids.peek15(users.prefix)) : this.ids.next("005")
    this.user15 = to15(this.userId)
    const seeds = Object.entries(definition.records ?? {})
    const userSeeds = seeds.filter(([name]) => name.toLowerCase() === "user")
    if (users && userSeeds.length === 0) userSeeds.push(["User", [adminUser]])
    for (const [name, rows] of [...userSeeds, ...seeds.filter(([name]) => name.toLowerCase() !== "user")]) {
      for (const row of rows) {
        const out = this.apply("insert", name, row)
        if (!out.success) {
          throw new Error(
            `seed ${name} record ${JSON.stringify(row)} failed: ${out.errors.map((e) => `${e.statusCode}: ${e.message}`).join("; ")}`
          )
        }
      }
    }
  }

  /** The table for an object name (case-insensitive). */
  table(object: string): Table | undefined {
    return this.tables.get(object.toLowerCase())
  }

  /** The table owning an id's key prefix. */
  tableForId(id: string): Table | undefined {
    return this.byPrefix.get(id.slice(0, 3))
  }

  describe(object: string): ObjectDef | undefined {
    return this.table(object)?.def
  }

  objectNames(): ReadonlyArray<string> {
    return this.order.map((t) => t.name)
  }

  /** A new 18-character id with a key prefix (`750` job, `751` batch, `752` result). */
  newId(prefix: string): string {
    return this.ids.next(prefix)
  }

  // ---------------------------------------------------------------------------------------------
  // Ingest

  /** Resolves an ingest column (case-insensitive), caching per table. */
  private column(t: Table, column: string): ColumnSpec | null {
    const cache = t.columnCache as Map<string, ColumnSpec | null>
    let spec = cache.get(column)
    if (spec === undefined) {
      spec = this.resolveColumn(t, column)
      cache.set(column, spec)
    }
    return spec
  }

  private resolveColumn(t: Table, column: string): ColumnSpec | null {
    const dot = column.indexOf(".")
    if (dot < 0) {
      const f = t.field(column)
      return f ? { canonical: f.name, field: f } : null
    }
    const colon = column.indexOf(":")
    const typeName = colon >= 0 && colon < dot ? column.slice(0, colon) : undefined
    const relationship = column.slice(colon >= 0 && colon < dot ? colon + 1 : 0, dot)
    const fieldName = column.slice(dot + 1)
    if (fieldName.includes(".")) return null
    const ref = t.byRelationship.get(relationship.toLowerCase())
    if (!ref || ref.refTables.length === 0) return null
    let parent: Table | undefined
    if (ref.refTables.length > 1) {
      if (typeName === undefined) return null
      parent = ref.refTables.find((p) => p.lower === typeName.toLowerCase())
    } else {
      if (typeName !== undefined) return null
      parent = ref.refTables[0]
    }
    if (!parent) return null
    const pf = parent.field(fieldName)
    if (!pf || (pf.storage !== "id" && pf.index === undefined)) return null
    const prefix = typeName !== undefined ? `${parent.name}:` : ""
    return { canonical: `${prefix}${ref.def.relationshipName}.${pf.name}`, field: ref, parent: { table: parent, field: pf } }
  }

  checkHeader(object: string, _operation: IngestOperation, columns: ReadonlyArray<string>): HeaderCheck {
    const t = this.table(object)
    if (!t) return { ok: false, message: `Unable to find object: ${object}` }
    const out: Array<string> = []
    const seen = new Set<string>()
    for (const c of columns) {
      const spec = this.column(t, c)
      if (!spec) return { ok: false, message: `Field name not found : ${c}` }
      const key = spec.canonical.toLowerCase()
      if (seen.has(key)) return { ok: false, message: `Duplicate field name found : ${c}` }
      seen.add(key)
      out.push(spec.canonical)
    }
    return { ok: true, columns: out }
  }

  /** The parent's 15-character id for a relationship column value, or an error. */
  private resolveParent(spec: ColumnSpec, input: string | number | boolean): string | RecordError {
    const { table, field } = spec.parent!
    const text = String(input)
    if (field.storage === "id") return this.reference(spec.field, text)
    const key = convert(field, input)
    const slots = isError(key) ? [] : table.lookup(field, key, MAX_MATCHES)
    if (slots.length === 1) return table.ids[slots[0]!]!
    if (slots.length === 0) {
      return recordError("INVALID_FIELD", `Foreign key external ID: ${text} not found for field ${field.name} in entity ${table.name}`)
    }
    return recordError(
      "DUPLICATE_EXTERNAL_ID",
      `${field.name}: more than one record found for external id field: [${slots.map((s) => to18(table.ids[s]!)).join(", ")}]`
    )
  }

  /** A reference field's 15-character id, checked for format, type and existence. */
  private reference(f: FieldInfo, text: string): string | RecordError {
    const target = isValidId(text) ? f.refTables.find((t) => t.prefix === text.slice(0, 3)) : undefined
    if (!target) return recordError("MALFORMED_ID", `${f.label}: id value of incorrect type: ${text}`, [f.name])
    const id15 = to15(text)
    const slot = target.slotOf(id15)
    if (slot === undefined) return recordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if (target.state[slot] === DELETED) return recordError("ENTITY_IS_DELETED", "entity is deleted")
    return id15
  }

  /** The live-or-deleted slot of a record id given in an input row, or an error. */
  private recordSlot(t: Table, text: string): number | RecordError {
    if (!isValidId(text) || text.slice(0, 3) !== t.prefix) {
      return recordError("MALFORMED_ID", `${t.name} ID: id value of incorrect type: ${text}`, ["Id"])
    }
    const slot = t.slotOf(to15(text))
    return slot === undefined ? recordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id") : slot
  }

  apply(
    operation: IngestOperation,
    object: string,
    row: Readonly<Record<string, InputValue>>,
    options?: { readonly externalIdField?: string }
  ): RowOutcome {
    const t = this.table(object)
    if (!t) return fail(recordError("INVALID_TYPE", `sObject type '${object}' is not supported.`))
    const removing = operation === "delete" || operation === "hardDelete"
    this.staged = 0
    this.idText = undefined
    for (const key in row) {
      const input = row[key]
      if (input === undefined || input === "") continue
      const failed = this.stage(t, this.column(t, key), key, input, removing)
      if (failed) return failed
    }
    return this.applyStaged(operation, t, options)
  }

  reserve(object: string, rows: number): void {
    this.table(object)?.reserve(Math.max(0, rows))
  }

  applyValues(
    operation: IngestOperation,
    object: string,
    columns: ReadonlyArray<string>,
    values: ReadonlyArray<InputValue>,
    options?: { readonly externalIdField?: string }
  ): RowOutcome {
    let p = this.prepared.get(columns)
    if (p === undefined || p.object !== object) {
      const t = this.table(object)
      p = { object, table: t, specs: t ? columns.map((c) => this.column(t, c)) : [] }
      this.prepared.set(columns, p)
    }
    const t = p.table
    if (!t) return fail(recordError("INVALID_TYPE", `sObject type '${object}' is not supported.`))
    const removing = operation === "delete" || operation === "hardDelete"
    const specs = p.specs
    const width = Math.min(columns.length, values.length)
    this.staged = 0
    this.idText = undefined
    for (let c = 0; c < width; c++) {
      const input = values[c]
      if (input === undefined || input === "") continue
      const failed = this.stage(t, specs[c]!, columns[c]!, input, removing)
      if (failed) return failed
    }
    return this.applyStaged(operation, t, options)
  }

  /** Converts and stages one non-blank input value (or notes the row's Id); a failure outcome on a bad value. */
  private stage(
    t: Table,
    spec: ColumnSpec | null,
    key: string,
    input: string | number | boolean | null,
    removing: boolean
  ): RowOutcome | undefined {
    if (spec === null) return fail(recordError("INVALID_FIELD", noSuchColumn(key, t.name)))
    const f = spec.field
    if (f.storage === "id") {
      if (spec.parent) return fail(recordError("INVALID_FIELD", noSuchColumn(key, t.name)))
      this.idText = String(input)
      return undefined
    }
    if (removing) return undefined
    let value: Value | RecordError
    if (input === null || input === "#N/A") value = null
    else if (spec.parent) value = this.resolveParent(spec, input)
    else if (f.type === "reference") value = this.reference(f, String(input))
    else value = convert(f, input)
    if (isError(value)) return fail(value)
    const n = this.staged++
    this.stagedFields[n] = f
    this.stagedValues[n] = value
    return undefined
  }

  private applyStaged(operation: IngestOperation, t: Table, options: { readonly externalIdField?: string } | undefined): RowOutcome {
    const n = this.staged
    const idText = this.idText
    switch (operation) {
      case "insert":
        if (idText !== undefined) {
          return fail(recordError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]))
        }
        return this.insert(t, n)
      case "update": {
        if (idText === undefined) return fail(recordError("MISSING_ARGUMENT", "Id not specified in an update call"))
        const slot = this.recordSlot(t, idText)
        if (isError(slot)) return fail(slot)
        return this.update(t, slot, n)
      }
      case "upsert":
        return this.upsert(t, n, idText, options?.externalIdField ?? "Id")
      case "delete":
      case "hardDelete": {
        if (idText === undefined) return fail(recordError("MISSING_ARGUMENT", `Id not specified in a ${operation} call`))
        const slot = this.recordSlot(t, idText)
        if (isError(slot)) return fail(slot)
        return this.remove(t, slot, operation === "hardDelete")
      }
    }
  }

  private upsert(t: Table, n: number, idText: string | undefined, keyName: string): RowOutcome {
    const key = t.field(keyName)
    if (!key || (key.storage !== "id" && !key.def.externalId && !key.def.idLookup)) {
      return fail(recordError("INVALID_FIELD", `Field name provided, ${keyName} is not an External ID or indexed field for ${t.name}`))
    }
    if (key.storage === "id") {
      if (idText === undefined) return this.insert(t, n)
      const slot = this.recordSlot(t, idText)
      if (isError(slot)) return fail(slot)
      return this.update(t, slot, n)
    }
    let value: Value = null
    for (let i = 0; i < n; i++) if (this.stagedFields[i] === key) value = this.stagedValues[i]!
    if (value === null) return fail(recordError("MISSING_ARGUMENT", `${key.name} not specified`))
    const hits = t.lookup(key, value, MAX_MATCHES)
    if (hits.length === 0) return this.insert(t, n)
    if (hits.length > 1) {
      return fail(
        recordError(
          "DUPLICATE_EXTERNAL_ID",
          `${key.name}: more than one record found for external id field: [${hits.map((s) => to18(t.ids[s]!)).join(", ")}]`
        )
      )
    }
    return this.update(t, hits[0]!, n)
  }

  /** Duplicate check for staged unique values; `self` is the slot being updated (or -1). */
  private duplicate(t: Table, n: number, self: number): RecordError | undefined {
    for (let i = 0; i < n; i++) {
      const f = this.stagedFields[i]!
      const v = this.stagedValues[i]!
      if (!f.unique || v === null) continue
      for (const slot of t.lookup(f, v, 2)) {
        if (slot !== self) {
          return recordError("DUPLICATE_VALUE", `duplicate value found: ${f.name} duplicates value on record with id: ${t.ids[slot]}`)
        }
      }
    }
    return undefined
  }

  private notWritable(f: FieldInfo): RowOutcome {
    return fail(
      recordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        [f.name]
      )
    )
  }

  private insert(t: Table, n: number): RowOutcome {
    const fields = this.stagedFields
    const values = this.stagedValues
    for (let i = 0; i < n; i++) if (!fields[i]!.createable) return this.notWritable(fields[i]!)
    let missing: Array<string> | undefined
    for (const f of t.requiredFields) {
      let given = false
      let isNull = false
      for (let i = 0; i < n; i++) {
        if (fields[i] === f) {
          given = true
          isNull = values[i] === null
        }
      }
      if ((!given && f.def.defaultValue === undefined) || isNull) (missing ??= []).push(f.name)
    }
    if (missing) return fail(recordError("REQUIRED_FIELD_MISSING", `Required fields are missing: [${missing.join(", ")}]`, missing))
    const dup = this.duplicate(t, n, -1)
    if (dup) return fail(dup)
    const id15 = this.ids.next15(t.prefix)
    const id18 = this.ids.last18(t.prefix)
    const slot = t.allocate(id15)
    for (let i = 0; i < n; i++) t.set(slot, fields[i]!, values[i]!)
    for (const f of t.defaulted) {
      let given = false
      for (let i = 0; i < n; i++) if (fields[i] === f) given = true
      if (!given) {
        const v = convert(f, f.def.defaultValue!)
        if (!isError(v)) t.set(slot, f, v)
      }
    }
    const now = this.now()
    const user15 = this.user15
    const a = t.audit
    if (a.createdDate) t.set(slot, a.createdDate, now)
    if (a.lastModifiedDate) t.set(slot, a.lastModifiedDate, now)
    if (a.systemModstamp) t.set(slot, a.systemModstamp, now)
    if (a.createdById) t.set(slot, a.createdById, user15)
    if (a.lastModifiedById) t.set(slot, a.lastModifiedById, user15)
    if (a.ownerId && t.get(slot, a.ownerId) === null) t.set(slot, a.ownerId, user15)
    this.computeName(t, slot)
    for (const f of t.indexed) t.indexAdd(f, t.get(slot, f), slot)
    return { success: true, id: id18, created: true }
  }

  private update(t: Table, slot: number, n: number): RowOutcome {
    if (t.state[slot] !== LIVE) return fail(recordError("ENTITY_IS_DELETED", "entity is deleted"))
    const fields = this.stagedFields
    const values = this.stagedValues
    let missing: Array<string> | undefined
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      if (!f.updateable) return this.notWritable(f)
      if (f.required && values[i] === null) (missing ??= []).push(f.name)
    }
    if (missing) return fail(recordError("REQUIRED_FIELD_MISSING", `Required fields are missing: [${missing.join(", ")}]`, missing))
    const dup = this.duplicate(t, n, slot)
    if (dup) return fail(dup)
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      if (f.index) {
        const old = t.get(slot, f)
        if (old !== values[i]) {
          t.indexRemove(f, old, slot)
          t.indexAdd(f, values[i]!, slot)
        }
      }
      t.set(slot, f, values[i]!)
    }
    this.touch(t, slot)
    if (t.compoundName) {
      for (let i = 0; i < n; i++) {
        if (fields[i] === t.compoundName.first || fields[i] === t.compoundName.last) {
          this.computeName(t, slot)
          break
        }
      }
    }
    return { success: true, id: to18(t.ids[slot]!), created: false }
  }

  private remove(t: Table, slot: number, hard: boolean): RowOutcome {
    const state = t.state[slot]
    if (state === DELETED && !hard) return fail(recordError("ENTITY_IS_DELETED", "entity is deleted"))
    if (state === LIVE) {
      for (const f of t.indexed) t.indexRemove(f, t.get(slot, f), slot)
      t.live--
    }
    const id = to18(t.ids[slot]!)
    if (hard) {
      t.state[slot] = GONE
      t.gone++
    } else {
      t.state[slot] = DELETED
      this.touch(t, slot)
    }
    return { success: true, id, created: false }
  }

  /** Stamps a modification. */
  private touch(t: Table, slot: number): void {
    const now = this.now()
    const a = t.audit
    if (a.lastModifiedDate) t.set(slot, a.lastModifiedDate, now)
    if (a.systemModstamp) t.set(slot, a.systemModstamp, now)
    if (a.lastModifiedById) t.set(slot, a.lastModifiedById, this.user15)
  }

  private computeName(t: Table, slot: number): void {
    const c = t.compoundName
    if (!c) return
    const first = c.first ? t.get(slot, c.first) : null
    const last = t.get(slot, c.last)
    t.set(slot, c.name, [first, last].filter((x) => x !== null && x !== "").join(" ") || null)
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  query(
    soql: string,
    options?: { readonly all?: boolean; readonly idRange?: { readonly lo?: string; readonly hi?: string } }
  ): { readonly ok: true; readonly result: QueryResult } | { readonly ok: false; readonly error: ModelError } {
    return runQuery(this, soql, options ?? {})
  }

  chunkRanges(object: string, chunkSize: number, startRow?: string): ReadonlyArray<{ lo: string; hi?: string }> {
    const t = this.table(object)
    if (!t || chunkSize < 1) return []
    let slot = startRow ? t.lowerBound(to15(startRow)) : 0
    while (slot < t.size && t.state[slot] === GONE) slot++
    const ranges: Array<{ lo: string; hi?: string }> = []
    const lo0 = startRow ? to18(to15(startRow)) : slot < t.size ? to18(t.ids[slot]!) : undefined
    if (lo0 === undefined) return [{ lo: to18(`${t.prefix}${"0".repeat(12)}`) }]
    let lo = lo0
    let count = 0
    for (; slot < t.size; slot++) {
      if (t.state[slot] === GONE) continue
      if (count === chunkSize) {
        const hi = to18(t.ids[slot]!)
        ranges.push({ lo, hi })
        lo = hi
        count = 0
      }
      count++
    }
    ranges.push({ lo })
    return ranges
  }

  count(object: string, options?: { readonly all?: boolean }): number {
    const t = this.table(object)
    if (!t) return 0
    return options?.all ? t.size - t.gone : t.live
  }

  get(
    id: string
  ): { readonly object: string; readonly deleted: boolean; readonly values: Readonly<Record<string, QueryValue>> } | undefined {
    if (id.length !== 15 && id.length !== 18) return undefined
    const t = this.tableForId(id)
    const slot = t?.slotOf(to15(id))
    if (!t || slot === undefined) return undefined
    const values: Record<string, QueryValue> = {}
    for (const f of t.fields) values[f.name] = render(f, t.get(slot, f))
    return { object: t.name, deleted: t.state[slot] === DELETED, values }
  }
}

/** Merges definitions: objects of `extra` replace same-named ones in `base`; records are appended. */
export const mergeDefinitions = (base: OrgDefinition, extra: OrgDefinition): OrgDefinition => {
  const names = new Set(extra.objects.map((o) => o.name.toLowerCase()))
  const records: Record<string, Array<Readonly<Record<string, string | null>>>> = {}
  for (const src of [base.records ?? {}, extra.records ?? {}]) {
    for (const [name, rows] of Object.entries(src)) (records[name] ??= []).push(...rows)
  }
  return {
    objects: [...base.objects.filter((o) => !names.has(o.name.toLowerCase())), ...extra.objects],
    records
  }
}
