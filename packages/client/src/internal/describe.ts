/**
 * The REST sObject Describe resource (`GET /services/data/vXX.X/sobjects/{SObject}/describe`) and
 * what sfbulk reads off its answer: field types, and which lookups are polymorphic.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidInputError, type BulkError } from "../BulkError.js"
import { requestJson } from "./bulk2.js"
import { Transport } from "./transport.js"

const flag = Schema.optionalWith(Schema.Boolean, { default: () => false })

/** One field of a describe answer: the properties sfbulk reads (the others are ignored). */
export const Field = Schema.Struct({
  name: Schema.String,
  label: Schema.optionalWith(Schema.String, { default: () => "" }),
  type: Schema.String,
  soapType: Schema.optional(Schema.String),
  length: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  nillable: flag,
  createable: flag,
  updateable: flag,
  unique: flag,
  externalId: flag,
  idLookup: flag,
  referenceTo: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true, default: () => [] }),
  relationshipName: Schema.optionalWith(Schema.String, { nullable: true }),
  polymorphicForeignKey: flag
})

/** A describe answer: the object and its fields. */
export const SObjectDescription = Schema.Struct({
  name: Schema.String,
  label: Schema.optionalWith(Schema.String, { default: () => "" }),
  keyPrefix: Schema.optionalWith(Schema.String, { nullable: true }),
  custom: flag,
  createable: flag,
  updateable: flag,
  deletable: flag,
  queryable: flag,
  fields: Schema.Array(Field)
})

type Field = typeof Field.Type
type SObjectDescription = typeof SObjectDescription.Type

/** Reads one object's description; an unknown object is an `InvalidInputError` naming it. */
export const sObject = (object: string): Effect.Effect<SObjectDescription, BulkError, Transport> =>
  Effect.flatMap(Transport, (t) =>
    requestJson(
      { method: "GET", path: `/services/data/v${t.apiVersion}/sobjects/${encodeURIComponent(object)}/describe`, api: "2.0" },
      SObjectDescription
    )).pipe(
      Effect.catchIf(
        (e) => e._tag === "ApiError" && (e.status === 404 || e.errorCode === "NOT_FOUND"),
        () =>
          Effect.fail(
            new InvalidInputError({
              what: `Salesforce has no object named ${object} that this user can see: check the object's API name ` +
                `(custom objects end in __c, and may need a namespace prefix)`
            })
          )
      ),
      Effect.withSpan("Describe.sObject", { attributes: { object } })
    )

/** The field named `name` (case-insensitive, as Salesforce matches names). */
export const field = (d: SObjectDescription, name: string): Field | undefined => {
  const lower = name.toLowerCase()
  return d.fields.find((f) => f.name.toLowerCase() === lower)
}

/** The lookup field whose relationship is `relationshipName` (case-insensitive). */
export const relationship = (d: SObjectDescription, relationshipName: string): Field | undefined => {
  const lower = relationshipName.toLowerCase()
  return d.fields.find((f) => f.relationshipName?.toLowerCase() === lower)
}

/** Whether a lookup may point to several objects (`Task.Who`: Contact or Lead). */
export const isPolymorphic = (f: Field): boolean => f.polymorphicForeignKey || f.referenceTo.length > 1

/**
 * A Bulk API CSV header for `object`: a relationship column `Type:Relationship.Field` keeps its
 * object type only when the relationship is polymorphic, since Salesforce requires the type there
 * and refuses it elsewhere; other columns are returned unchanged.
 */
export const header = (d: SObjectDescription, column: string): string => {
  const m = /^([^:.]+):([^:.]+)\.([^:.]+)$/.exec(column)
  if (m === null) return column
  const f = relationship(d, m[2]!)
  return f !== undefined && !isPolymorphic(f) ? `${m[2]}.${m[3]}` : column
}

/**
 * What is wrong with sending `column` to this object, or undefined when it is a field, or a
 * relationship column whose relationship exists (its parent's fields are not described here).
 */
export const checkColumn = (d: SObjectDescription, column: string): string | undefined => {
  const m = /^(?:([^:.]+):)?([^:.]+)\.([^:.]+)$/.exec(column)
  if (m === null) {
    return field(d, column) === undefined
      ? `${d.name} has no field named ${column} (check its API name: custom fields end in __c)`
      : undefined
  }
  const f = relationship(d, m[2]!)
  if (f === undefined) {
    return `${d.name} has no relationship named ${m[2]} (a lookup column is Relationship.Field, e.g. Parent.ExternalId__c, ` +
      `with the relationship's name, not the lookup field's: custom ones end in __r)`
  }
  if (isPolymorphic(f) && m[1] === undefined) {
    return `${d.name}.${f.name} may point to ${f.referenceTo.join(" or ")}: name the object, e.g. ${f.referenceTo[0]}:${m[2]}.${m[3]}`
  }
  if (m[1] !== undefined && isPolymorphic(f) && !f.referenceTo.some((t) => t.toLowerCase() === m[1]!.toLowerCase())) {
    return `${d.name}.${f.name} points to ${f.referenceTo.join(" or ")}, not ${m[1]}`
  }
  return undefined
}
