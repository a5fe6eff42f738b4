/**
 * The REST sObject Describe resource (`GET /services/data/vXX.X/sobjects/{SObject}/describe`), built
 * from the org's object definitions. The shape follows the REST API Developer Guide ("Get Field and
 * Other Metadata for an Object") and the SOAP API's DescribeSObjectResult / Field it points to: the
 * object's `name`, `label`, `keyPrefix`, flags, `fields[]` (`name`, `label`, `type`, `soapType`,
 * `length`, `nillable`, `createable`, `updateable`, `unique`, `externalId`, `idLookup`,
 * `referenceTo`, `relationshipName`, `polymorphicForeignKey`, `picklistValues`, ...),
 * `childRelationships` and `urls`. Properties the emulator does not model (layouts, record types,
 * formulas, field-level security) answer their neutral value.
 */
import type { FieldDef, FieldType, ObjectDef, OrgApi } from "./model.js"
import { systemFields } from "./objects.js"

/** The SOAP type Salesforce pairs with each field type (DescribeSObjectResult's `soapType`). */
const SOAP_TYPE: Readonly<Record<FieldType, string>> = {
  id: "tns:ID",
  reference: "tns:ID",
  string: "xsd:string",
  textarea: "xsd:string",
  email: "xsd:string",
  phone: "xsd:string",
  url: "xsd:string",
  picklist: "xsd:string",
  boolean: "xsd:boolean",
  int: "xsd:int",
  double: "xsd:double",
  currency: "xsd:double",
  percent: "xsd:double",
  date: "xsd:date",
  datetime: "xsd:dateTime"
}

const SYSTEM = new Set(systemFields.map((f) => f.name))
const TEXT: ReadonlySet<FieldType> = new Set(["string", "textarea", "email", "phone", "url", "picklist"])
const NUMBER: ReadonlySet<FieldType> = new Set(["double", "currency", "percent"])

const isCustom = (name: string) => name.endsWith("__c")

/** One field as DescribeSObjectResult's Field describes it. */
const fieldOf = (f: FieldDef): Record<string, unknown> => {
  const referenceTo = f.referenceTo ?? []
  const length = TEXT.has(f.type) || f.type === "id" || f.type === "reference" ? f.length ?? (f.type === "textarea" ? 32_000 : 255) : 0
  // audit fields, ids and checkboxes are never null; required fields refuse null on insert
  const nillable = f.required !== true && f.type !== "boolean" && f.type !== "id" && !SYSTEM.has(f.name)
  return {
    aggregatable: f.type !== "textarea",
    autoNumber: false,
    byteLength: length * 3,
    calculated: false,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: false,
    createable: f.createable ?? true,
    custom: isCustom(f.name),
    defaultValue: f.defaultValue ?? null,
    defaultValueFormula: null,
    defaultedOnCreate: f.defaultValue !== undefined || SYSTEM.has(f.name) || f.name === "OwnerId" || f.type === "boolean",
    deprecatedAndHidden: false,
    digits: f.type === "int" ? 9 : 0,
    externalId: f.externalId === true,
    filterable: f.type !== "textarea",
    groupable: f.type !== "textarea" && !NUMBER.has(f.type) && f.type !== "datetime",
    idLookup: f.type === "id" || f.idLookup === true || f.externalId === true,
    label: f.label ?? f.name,
    length,
    name: f.name,
    nameField: f.name === "Name",
    namePointing: referenceTo.length > 1,
    nillable,
    picklistValues: (f.picklistValues ?? []).map((value) => ({
      active: true,
      defaultValue: value === f.defaultValue,
      label: value,
      validFor: null,
      value
    })),
    polymorphicForeignKey: referenceTo.length > 1,
    precision: NUMBER.has(f.type) ? 18 : 0,
    referenceTo,
    relationshipName: f.relationshipName ?? null,
    relationshipOrder: null,
    restrictedPicklist: f.picklistValues !== undefined,
    scale: NUMBER.has(f.type) ? 2 : 0,
    soapType: SOAP_TYPE[f.type],
    sortable: f.type !== "textarea",
    type: f.type,
    unique: f.unique === true,
    updateable: f.updateable ?? true
  }
}

/** The child relationships of `def`: every reference field of the org's objects that points to it. */
const childRelationships = (org: OrgApi, def: ObjectDef) =>
  org.objectNames().flatMap((name) =>
    (org.describe(name)?.fields ?? [])
      .filter((f) => f.type === "reference" && (f.referenceTo ?? []).some((t) => t.toLowerCase() === def.name.toLowerCase()))
      .map((f) => ({
        cascadeDelete: false,
        childSObject: name,
        deprecatedAndHidden: false,
        field: f.name,
        relationshipName: null,
        restrictedDelete: false
      }))
  )

/** The describe body of `def` for API `version` (e.g. `66.0`). */
export const describeBody = (org: OrgApi, def: ObjectDef, version: string): string => {
  const base = `/services/data/v${version}/sobjects/${def.name}`
  const custom = isCustom(def.name)
  return JSON.stringify({
    activateable: false,
    childRelationships: childRelationships(org, def),
    createable: true,
    custom,
    customSetting: false,
    deletable: true,
    deprecatedAndHidden: false,
    feedEnabled: false,
    fields: def.fields.map(fieldOf),
    keyPrefix: def.keyPrefix,
    label: custom ? def.name.slice(0, -3).replace(/_/g, " ") : def.name,
    labelPlural: `${custom ? def.name.slice(0, -3).replace(/_/g, " ") : def.name}s`,
    layoutable: true,
    mergeable: false,
    name: def.name,
    queryable: true,
    recordTypeInfos: [],
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    undeletable: true,
    updateable: true,
    urls: { describe: `${base}/describe`, rowTemplate: `${base}/{ID}`, sobject: base }
  })
}
