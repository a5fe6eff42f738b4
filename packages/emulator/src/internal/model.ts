/**
 * Contract between the emulator's data model (`org.ts`, `soql.ts`, `ids.ts`) and the HTTP layers
 * (`bulk1/*`, `bulk2/*`). Values here are plain data so the model can run without HTTP (the
 * client's mock layer uses it directly).
 */

/** Field types the emulator models. */
export type FieldType =
  | "id"
  | "string"
  | "textarea"
  | "email"
  | "phone"
  | "url"
  | "picklist"
  | "boolean"
  | "int"
  | "double"
  | "currency"
  | "percent"
  | "date"
  | "datetime"
  | "reference"

/** One field of an sObject, as declared in an org definition (JSON file or code). */
export interface FieldDef {
  readonly name: string
  readonly type: FieldType
  /** Maximum length for text types (characters). */
  readonly length?: number
  /** Required on insert (REQUIRED_FIELD_MISSING when absent or null). */
  readonly required?: boolean
  /** Unique values (DUPLICATE_VALUE). */
  readonly unique?: boolean
  /** Usable as an upsert key and in relationship headers (`Account.ExternalId__c`). */
  readonly externalId?: boolean
  /** Allowed values for a restricted picklist. */
  readonly picklistValues?: ReadonlyArray<string>
  /** For `reference` fields: the target object(s). */
  readonly referenceTo?: ReadonlyArray<string>
  /** For `reference` fields: the relationship name used in headers and SOQL (`Account`). */
  readonly relationshipName?: string
  /** Defaults to true; false for system fields such as CreatedDate. */
  readonly createable?: boolean
  readonly updateable?: boolean
  /** Human label used in some error messages (`Account Name`); defaults to the API name. */
  readonly label?: string
  /** Value set on insert when the field is not provided (e.g. a picklist default). */
  readonly defaultValue?: string
  /** Indexed for relationship lookups in ingest headers (`ReportsTo.Email`) although not unique. */
  readonly idLookup?: boolean
}

/** One sObject type. */
export interface ObjectDef {
  readonly name: string
  /** Three-character id prefix, e.g. `001` for Account. */
  readonly keyPrefix: string
  readonly fields: ReadonlyArray<FieldDef>
}

/** An org definition, as loaded from `--data org.json`. */
export interface OrgDefinition {
  readonly objects: ReadonlyArray<ObjectDef>
  /** Optional seed records per object name (values as CSV-style strings). */
  readonly records?: Readonly<Record<string, ReadonlyArray<Readonly<Record<string, string | null>>>>>
}

/** Ingest operations. */
export type IngestOperation = "insert" | "update" | "upsert" | "delete" | "hardDelete"

/**
 * A value given for one field of one input row.
 * - `undefined` (or the key absent) / empty string: not provided (left unchanged on update)
 * - `null` or the string `#N/A`: set the field to null
 * - anything else: the value as text (CSV) or typed (JSON/XML input)
 */
export type InputValue = string | number | boolean | null | undefined

/** One per-record error, exactly as Salesforce reports it. */
export interface RecordError {
  readonly statusCode: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

/** The outcome of one input row. */
export type RowOutcome =
  | { readonly success: true; readonly id: string; readonly created: boolean }
  | { readonly success: false; readonly id: string | null; readonly errors: ReadonlyArray<RecordError> }

/** A typed value in a query result. Datetimes are ISO strings (`2026-01-02T03:04:05.000Z`). */
export type QueryValue = string | number | boolean | null

/** A query result snapshot: rows rendered lazily by index, so paging never copies the data. */
export interface QueryResult {
  readonly object: string
  /** Column names as Salesforce prints them (`Id`, `Name`, `Account.Name`). */
  readonly columns: ReadonlyArray<string>
  /** Field type of each column, for format-specific rendering (JSON 1.0 datetimes as epoch ms). */
  readonly types: ReadonlyArray<FieldType>
  readonly size: number
  row(index: number): ReadonlyArray<QueryValue>
  /** The record id of row `index` (for PK chunking and XML rendering). */
  id(index: number): string
}

/** A SOQL or model-level failure (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...). */
export interface ModelError {
  readonly errorCode: string
  readonly message: string
}

/** Header validation result for an ingest file. */
export type HeaderCheck =
  | { readonly ok: true; readonly columns: ReadonlyArray<string> }
  | { readonly ok: false; readonly message: string }

/** What the HTTP layers (and the client's mock layer) need from the in-memory org. */
export interface OrgApi {
  /** The object's definition, looked up case-insensitively. */
  describe(object: string): ObjectDef | undefined
  /** Object names, as declared. */
  objectNames(): ReadonlyArray<string>
  /**
   * Validate an ingest header (case-insensitive, relationship columns such as `Account.ExternalId__c`
   * or `Account:Owner.Email`). On failure `message` is the text after `InvalidBatch : `, e.g.
   * `Field name not found : Foo__c`.
   */
  checkHeader(object: string, operation: IngestOperation, columns: ReadonlyArray<string>): HeaderCheck
  /**
   * Apply one input row. Columns must have passed `checkHeader`. Never throws for data problems:
   * those are per-record errors (REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, MALFORMED_ID, ...).
   */
  apply(
    operation: IngestOperation,
    object: string,
    row: Readonly<Record<string, InputValue>>,
    options?: { readonly externalIdField?: string }
  ): RowOutcome
  /** A hint before a bulk ingest: up to `rows` records of `object` may be created, so storage grows once. */
  reserve(object: string, rows: number): void
  /**
   * `apply` for rows that share a header, without one object per row: `columns` as `checkHeader`
   * returned them (resolved once per distinct array), `values` by column position (missing
   * trailing values count as blank). Same outcomes as `apply` on the equivalent records.
   */
  applyValues(
    operation: IngestOperation,
    object: string,
    columns: ReadonlyArray<string>,
    values: ReadonlyArray<InputValue>,
    options?: { readonly externalIdField?: string }
  ): RowOutcome
  /**
   * Run a SOQL query. `all` includes deleted rows (queryAll). `idRange` restricts to
   * `lo <= Id < hi` (PK chunking), compared on the 15-character id.
   */
  query(
    soql: string,
    options?: { readonly all?: boolean; readonly idRange?: { readonly lo?: string; readonly hi?: string } }
  ): { readonly ok: true; readonly result: QueryResult } | { readonly ok: false; readonly error: ModelError }
  /**
   * PK chunk boundaries for an object: ascending `[lo, hi)` id ranges of `chunkSize` ids each,
   * covering every stored id (deleted included) from `startRow` on.
   */
  chunkRanges(object: string, chunkSize: number, startRow?: string): ReadonlyArray<{ lo: string; hi?: string }>
  /** Number of live (or, with `all`, all) records of an object. */
  count(object: string, options?: { readonly all?: boolean }): number
  /** One record's current values by id (15 or 18 chars), or undefined; deleted ones included. */
  get(id: string): { readonly object: string; readonly deleted: boolean; readonly values: Readonly<Record<string, QueryValue>> } | undefined
}
