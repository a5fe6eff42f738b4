/**
 * The emulator's in-memory Salesforce org: sObject definitions, records, ingest operations with
 * Salesforce's per-record errors, and Bulk-style SOQL queries. Pure data, no HTTP: the emulator's
 * Bulk API 1.0 and 2.0 handlers and the client's mock layer both run on it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import * as ids from "./internal/ids.js"
import type { OrgApi, OrgDefinition } from "./internal/model.js"
import * as objects from "./internal/objects.js"
import * as internal from "./internal/org.js"

export type {
  FieldDef,
  FieldType,
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
} from "./internal/model.js"

/**
 * An in-memory org: the `OrgApi` the HTTP handlers use, plus its identity.
 *
 * @since 0.1.0
 * @category models
 */
export interface Org extends OrgApi {
  /** 18-character id of the admin user who owns and creates records (`005...`). */
  readonly userId: string
  /** 18-character organization id (`00D...`). */
  readonly orgId: string
  /** A new 18-character id for a key prefix, in creation order (`750` job, `751` batch, `752` result). */
  newId(prefix: string): string
}

/**
 * Options for `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The clock used for CreatedDate, LastModifiedDate and relative date literals; defaults to `Date.now`. */
  readonly now?: () => number
}

/**
 * The default org: Account, Contact, Lead, Opportunity and User with standard fields, restricted
 * picklists, a unique `ExternalId__c` external id on the business objects, and one admin user.
 *
 * @since 0.1.0
 * @category definitions
 */
export const defaultDefinition: OrgDefinition = objects.defaultDefinition

/**
 * An org built from a definition (the default one when omitted). Objects without `Id` or audit
 * fields get them; `records` are inserted as seed data. Throws on an inconsistent definition
 * (unknown reference target, duplicate key prefix, seed record that fails validation).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (definition: OrgDefinition = defaultDefinition, options: Options = {}): Org =>
  new internal.Org(definition, options.now ? { now: options.now } : {})

/**
 * The default definition extended by `extra`: its objects replace same-named default objects (or
 * are added), its seed records are appended.
 *
 * @since 0.1.0
 * @category definitions
 */
export const extend = (extra: OrgDefinition): OrgDefinition => internal.mergeDefinitions(defaultDefinition, extra)

/**
 * The org definition file could not be read, parsed or used.
 *
 * @since 0.1.0
 * @category errors
 */
export class OrgDefinitionError extends Schema.TaggedError<OrgDefinitionError>("@sfbulk/emulator/OrgDefinitionError")(
  "OrgDefinitionError",
  { path: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Cannot load the org definition ${this.path}: ${this.reason}. The file must be JSON shaped like {"objects":[{"name":"Invoice__c","keyPrefix":"a01","fields":[{"name":"Amount__c","type":"currency"}]}],"records":{"Invoice__c":[{"Amount__c":"10"}]}}.`
  }
}

const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const FieldTypeSchema = Schema.Literal(
  "id",
  "string",
  "textarea",
  "email",
  "phone",
  "url",
  "picklist",
  "boolean",
  "int",
  "double",
  "currency",
  "percent",
  "date",
  "datetime",
  "reference"
)

const FieldDefSchema = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*$/)),
  type: FieldTypeSchema,
  length: exact(Schema.Int.pipe(Schema.positive())),
  required: exact(Schema.Boolean),
  unique: exact(Schema.Boolean),
  externalId: exact(Schema.Boolean),
  picklistValues: exact(Schema.Array(Schema.String)),
  referenceTo: exact(Schema.Array(Schema.String)),
  relationshipName: exact(Schema.String),
  createable: exact(Schema.Boolean),
  updateable: exact(Schema.Boolean),
  label: exact(Schema.String),
  defaultValue: exact(Schema.String),
  idLookup: exact(Schema.Boolean)
})

const OrgDefinitionSchema = Schema.Struct({
  objects: Schema.Array(
    Schema.Struct({
      name: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]*$/)),
      keyPrefix: Schema.String.pipe(Schema.pattern(/^[0-9A-Za-z]{3}$/)),
      fields: Schema.Array(FieldDefSchema)
    })
  ),
  records: exact(
    Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })) })
  )
})

/**
 * Reads an org definition JSON file and builds an org from the default definition extended by it
 * (see `extend`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (path: string, options: Options = {}): Effect.Effect<Org, OrgDefinitionError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) => new OrgDefinitionError({ path, reason: e instanceof Error ? e.message : String(e) })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new OrgDefinitionError({ path, reason: `invalid JSON (${e instanceof Error ? e.message : String(e)})` })
    })
    const definition = yield* Schema.decodeUnknown(OrgDefinitionSchema)(json).pipe(
      Effect.mapError((e) => new OrgDefinitionError({ path, reason: e.message }))
    )
    return yield* Effect.try({
      try: () => make(extend(definition), options),
      catch: (e) => new OrgDefinitionError({ path, reason: e instanceof Error ? e.message : String(e) })
    })
  })

/**
 * The 18-character form of a 15- or 18-character Salesforce id (adds the case-safety checksum).
 *
 * @since 0.1.0
 * @category ids
 */
export const to18: (id: string) => string = ids.to18

/**
 * The 15-character, case-sensitive form of a 15- or 18-character Salesforce id.
 *
 * @since 0.1.0
 * @category ids
 */
export const to15: (id: string) => string = ids.to15

/**
 * True for a well-formed 15-character id or an 18-character id with a matching checksum.
 *
 * @since 0.1.0
 * @category ids
 */
export const isValidId: (id: string) => boolean = ids.isValidId
