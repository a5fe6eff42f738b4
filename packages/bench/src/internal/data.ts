/**
 * The generated data every client gets: row `i` is the same in every process, so results can be
 * checked without shipping the data around.
 */

/** The Account columns the bench writes and reads, in order. */
export const accountColumns = ["Name", "ExternalId__c", "NumberOfEmployees", "BillingCity", "Phone"] as const

/** One input row (CSV-style text values). */
export type AccountRow = { readonly [K in (typeof accountColumns)[number]]: string }

const cities = ["Paris", "Lyon", "Berlin", "Madrid", "Oslo", "Quito", "Lagos", "Osaka"]

/** Row `i` (0-based). Names carry a comma and a quote now and then so CSV quoting is exercised. */
export const accountRow = (i: number): AccountRow => ({
  Name: i % 97 === 0 ? `Account "${i}", Inc` : `Account ${i}`,
  ExternalId__c: `EXT-${i}`,
  NumberOfEmployees: String(i % 5000),
  BillingCity: cities[i % cities.length]!,
  Phone: `+1 555 ${String(i % 10_000_000).padStart(7, "0")}`
})

/** The index a row was generated from, read back from its external id (`EXT-42` -> 42). */
export const rowIndex = (externalId: string): number => {
  if (!externalId.startsWith("EXT-")) return -1
  const n = Number(externalId.slice(4))
  return Number.isSafeInteger(n) ? n : -1
}

/** Lazily generated rows `from` .. `to - 1`. */
export function* accountRows(from: number, to: number): Generator<AccountRow> {
  for (let i = from; i < to; i++) yield accountRow(i)
}

/** The SOQL the query workloads run. */
export const querySoql = "SELECT Id, Name, ExternalId__c, NumberOfEmployees, BillingCity FROM Account"

/** Does a queried record carry the values generated for its index? */
export const matchesGenerated = (rec: { readonly [k: string]: unknown }): boolean => {
  const i = rowIndex(String(rec["ExternalId__c"]))
  if (i < 0) return false
  const want = accountRow(i)
  return (
    rec["Name"] === want.Name &&
    String(rec["NumberOfEmployees"]) === want.NumberOfEmployees &&
    rec["BillingCity"] === want.BillingCity
  )
}

/** The Contact columns of the contention workload. */
export const contactColumns = ["LastName", "AccountId"] as const

/**
 * Contact `i` of the contention workload: its parent is `parents[i % n]`, so every batch holds
 * children of every parent, and parallel batches fight over the parents' locks.
 */
export const contactRow = (i: number, parents: ReadonlyArray<string>): { readonly LastName: string; readonly AccountId: string } => ({
  LastName: `Contention ${i}`,
  AccountId: parents[i % parents.length]!
})

/** Lazily generated Contacts `from` .. `to - 1`. */
export function* contactRows(from: number, to: number, parents: ReadonlyArray<string>) {
  for (let i = from; i < to; i++) yield contactRow(i, parents)
}
