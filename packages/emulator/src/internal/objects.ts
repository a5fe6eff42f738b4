/**
 * The default org: Account, Contact, Lead, Opportunity and User with realistic standard fields, a
 * unique external id `ExternalId__c` on the four business objects, and one admin user who owns and
 * creates everything.
 */
import type { FieldDef, ObjectDef, OrgDefinition } from "./model.js"

const text = (name: string, length: number, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: "string", length, ...extra })
const area = (name: string, length = 32_000): FieldDef => ({ name, type: "textarea", length })
const email = (name: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: "email", length: 80, ...extra })
const phone = (name: string): FieldDef => ({ name, type: "phone", length: 40 })
const url = (name: string): FieldDef => ({ name, type: "url", length: 255 })
const bool = (name: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type: "boolean", ...extra })
const picklist = (name: string, values: ReadonlyArray<string>, extra: Partial<FieldDef> = {}): FieldDef => ({
  name,
  type: "picklist",
  length: 255,
  picklistValues: values,
  ...extra
})
const lookup = (name: string, target: string, relationshipName: string, extra: Partial<FieldDef> = {}): FieldDef => ({
  name,
  type: "reference",
  length: 18,
  referenceTo: [target],
  relationshipName,
  ...extra
})
const readOnly = { createable: false, updateable: false } as const

const externalId: FieldDef = { name: "ExternalId__c", type: "string", length: 255, unique: true, externalId: true, label: "External Id" }

/** `Id` and the audit fields every object has (added to objects that do not declare them). */
export const systemFields: ReadonlyArray<FieldDef> = [
  { name: "Id", type: "id", length: 18, ...readOnly },
  bool("IsDeleted", readOnly),
  { name: "CreatedDate", type: "datetime", ...readOnly },
  lookup("CreatedById", "User", "CreatedBy", readOnly),
  { name: "LastModifiedDate", type: "datetime", ...readOnly },
  lookup("LastModifiedById", "User", "LastModifiedBy", readOnly),
  { name: "SystemModstamp", type: "datetime", ...readOnly }
]

const owner = lookup("OwnerId", "User", "Owner", { label: "Owner ID" })

const leadSource = picklist("LeadSource", ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"])
const industry = picklist("Industry", [
  "Agriculture",
  "Apparel",
  "Banking",
  "Biotechnology",
  "Chemicals",
  "Communications",
  "Construction",
  "Consulting",
  "Education",
  "Electronics",
  "Energy",
  "Engineering",
  "Entertainment",
  "Environmental",
  "Finance",
  "Food & Beverage",
  "Government",
  "Healthcare",
  "Hospitality",
  "Insurance",
  "Machinery",
  "Manufacturing",
  "Media",
  "Not For Profit",
  "Recreation",
  "Retail",
  "Shipping",
  "Technology",
  "Telecommunications",
  "Transportation",
  "Utilities",
  "Other"
])
const rating = picklist("Rating", ["Hot", "Warm", "Cold"])

const account: ObjectDef = {
  name: "Account",
  keyPrefix: "001",
  fields: [
    ...systemFields,
    text("Name", 255, { required: true, label: "Account Name" }),
    text("AccountNumber", 40),
    text("Site", 80),
    picklist("Type", [
      "Prospect",
      "Customer - Direct",
      "Customer - Channel",
      "Channel Partner / Reseller",
      "Installation Partner",
      "Technology Partner",
      "Other"
    ], { label: "Account Type" }),
    industry,
    rating,
    lookup("ParentId", "Account", "Parent", { label: "Parent Account ID" }),
    phone("Phone"),
    phone("Fax"),
    url("Website"),
    { name: "AnnualRevenue", type: "currency" },
    { name: "NumberOfEmployees", type: "int", label: "Employees" },
    text("TickerSymbol", 20),
    area("Description"),
    area("BillingStreet", 255),
    text("BillingCity", 40),
    text("BillingState", 80),
    text("BillingPostalCode", 20),
    text("BillingCountry", 80),
    area("ShippingStreet", 255),
    text("ShippingCity", 40),
    text("ShippingState", 80),
    text("ShippingPostalCode", 20),
    text("ShippingCountry", 80),
    { name: "LastActivityDate", type: "date", ...readOnly },
    owner,
    externalId
  ]
}

const contact: ObjectDef = {
  name: "Contact",
  keyPrefix: "003",
  fields: [
    ...systemFields,
    picklist("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
    text("FirstName", 40),
    text("LastName", 80, { required: true }),
    text("Name", 121, { ...readOnly, label: "Full Name" }),
    lookup("AccountId", "Account", "Account", { label: "Account ID" }),
    lookup("ReportsToId", "Contact", "ReportsTo", { label: "Reports To ID" }),
    text("Title", 128),
    text("Department", 80),
    email("Email", { idLookup: true }),
    phone("Phone"),
    phone("MobilePhone"),
    { name: "Birthdate", type: "date" },
    leadSource,
    bool("HasOptedOutOfEmail", { label: "Email Opt Out" }),
    bool("DoNotCall"),
    area("MailingStreet", 255),
    text("MailingCity", 40),
    text("MailingState", 80),
    text("MailingPostalCode", 20),
    text("MailingCountry", 80),
    area("Description"),
    owner,
    externalId
  ]
}

const lead: ObjectDef = {
  name: "Lead",
  keyPrefix: "00Q",
  fields: [
    ...systemFields,
    picklist("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
    text("FirstName", 40),
    text("LastName", 80, { required: true }),
    text("Name", 121, { ...readOnly, label: "Full Name" }),
    text("Company", 255, { required: true }),
    text("Title", 128),
    email("Email", { idLookup: true }),
    phone("Phone"),
    url("Website"),
    picklist("Status", ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"], {
      required: true,
      defaultValue: "Open - Not Contacted",
      label: "Lead Status"
    }),
    leadSource,
    industry,
    rating,
    { name: "AnnualRevenue", type: "currency" },
    { name: "NumberOfEmployees", type: "int", label: "Employees" },
    text("City", 40),
    text("State", 80),
    text("PostalCode", 20),
    text("Country", 80),
    bool("IsConverted", { label: "Converted" }),
    bool("HasOptedOutOfEmail", { label: "Email Opt Out" }),
    area("Description"),
    owner,
    externalId
  ]
}

const opportunity: ObjectDef = {
  name: "Opportunity",
  keyPrefix: "006",
  fields: [
    ...systemFields,
    text("Name", 120, { required: true, label: "Opportunity Name" }),
    lookup("AccountId", "Account", "Account", { label: "Account ID" }),
    picklist("StageName", [
      "Prospecting",
      "Qualification",
      "Needs Analysis",
      "Value Proposition",
      "Id. Decision Makers",
      "Perception Analysis",
      "Proposal/Price Quote",
      "Negotiation/Review",
      "Closed Won",
      "Closed Lost"
    ], { required: true, label: "Stage" }),
    { name: "CloseDate", type: "date", required: true, label: "Close Date" },
    { name: "Amount", type: "currency" },
    { name: "Probability", type: "percent", label: "Probability (%)" },
    picklist("Type", ["Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer"], {
      label: "Opportunity Type"
    }),
    leadSource,
    text("NextStep", 255),
    bool("IsPrivate", { label: "Private" }),
    bool("IsClosed", { ...readOnly, label: "Closed" }),
    bool("IsWon", { ...readOnly, label: "Won" }),
    area("Description"),
    owner,
    externalId
  ]
}

const user: ObjectDef = {
  name: "User",
  keyPrefix: "005",
  fields: [
    ...systemFields,
    text("Username", 80, { required: true, unique: true, idLookup: true }),
    text("FirstName", 40),
    text("LastName", 80, { required: true }),
    text("Name", 121, { ...readOnly, label: "Full Name" }),
    email("Email", { required: true, length: 128, idLookup: true }),
    text("Alias", 8, { required: true }),
    text("Title", 80),
    text("Department", 80),
    bool("IsActive", { label: "Active" }),
    text("FederationIdentifier", 512, { idLookup: true })
  ]
}

/** The user created first in every org: owner and creator of records the API writes. */
export const adminUser = {
  Username: "admin@sfbulk.emulator",
  FirstName: "Emulator",
  LastName: "Admin",
  Email: "admin@sfbulk.emulator",
  Alias: "eadmin",
  IsActive: "true"
} as const

/** The default org definition. */
export const defaultDefinition: OrgDefinition = {
  objects: [user, account, contact, lead, opportunity],
  records: { User: [adminUser] }
}
