/**
 * An object's fields, from Salesforce's REST sObject Describe resource
 * (`GET /services/data/vXX.X/sobjects/{SObject}/describe`, REST API Developer Guide, "Get Field and
 * Other Metadata for an Object"; the properties are the SOAP API's DescribeSObjectResult and Field):
 * each field's type (`date`, `datetime`, `string`, `reference`, `boolean`, `double`, `int`, `id`,
 * ...), whether it takes null, whether it can be set on insert and update, what a lookup points to.
 * Uses the same `Transport` (login, retries, renewal) as the Bulk APIs; a describe is one API call.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import type { BulkError } from "./BulkError.js"
import * as internal from "./internal/describe.js"
import type { Transport } from "./internal/transport.js"

/**
 * One field: `name`, `label`, `type`, `soapType`, `length`, `nillable`, `createable`, `updateable`,
 * `unique`, `externalId`, `idLookup`, and for lookups `referenceTo`, `relationshipName`,
 * `polymorphicForeignKey`. Other properties of the answer are not kept.
 *
 * @since 0.2.0
 * @category models
 */
export const Field = internal.Field

/**
 * One field, decoded.
 *
 * @since 0.2.0
 * @category models
 */
export type Field = typeof internal.Field.Type

/**
 * An object's description: `name`, `label`, `keyPrefix`, `custom`, what the user may do with it
 * (`createable`, `updateable`, `deletable`, `queryable`) and its `fields`.
 *
 * @since 0.2.0
 * @category models
 */
export const SObjectDescription = internal.SObjectDescription

/**
 * An object's description, decoded.
 *
 * @since 0.2.0
 * @category models
 */
export type SObjectDescription = typeof internal.SObjectDescription.Type

/**
 * Describes one object. An object Salesforce does not know (or this user cannot see) is an
 * `InvalidInputError` naming it; other failures are the usual `BulkError`s (a user without API
 * access gets Salesforce's own `ApiError`).
 *
 * @since 0.2.0
 * @category reading
 */
export const sObject: (object: string) => Effect.Effect<SObjectDescription, BulkError, Transport> = internal.sObject

/**
 * The field with this API name, matched case-insensitively as Salesforce does.
 *
 * @since 0.2.0
 * @category fields
 */
export const field: (description: SObjectDescription, name: string) => Field | undefined = internal.field

/**
 * The lookup field whose relationship has this name (`Parent`, `Owner`, `Who`, `Mother__r`).
 *
 * @since 0.2.0
 * @category fields
 */
export const relationship: (description: SObjectDescription, relationshipName: string) => Field | undefined = internal.relationship

/**
 * Whether a lookup may point to several objects, such as `Task.WhoId` (Contact or Lead): its CSV
 * header then names the object (`Lead:Who.Email`).
 *
 * @since 0.2.0
 * @category fields
 */
export const isPolymorphic: (field: Field) => boolean = internal.isPolymorphic

/**
 * A Bulk API CSV header fitted to the object: `Type:Relationship.Field` keeps the object type only
 * when the relationship is polymorphic (Salesforce requires it there and refuses it elsewhere);
 * any other column comes back unchanged.
 *
 * @since 0.2.0
 * @category fields
 */
export const header: (description: SObjectDescription, column: string) => string = internal.header

/**
 * What is wrong with a CSV column for this object (no such field, no such relationship, a
 * polymorphic lookup without its object type), or undefined when it looks right.
 *
 * @since 0.2.0
 * @category fields
 */
export const checkColumn: (description: SObjectDescription, column: string) => string | undefined = internal.checkColumn
