/**
 * What an application exports from a module built on the client. Compiled with `declaration: true`
 * under NodeNext and Bundler resolution: each inferred type must be nameable from the package's
 * subpath exports (TS2742 otherwise). Imports the client alone: its types must not need the emulator
 * or `@types/node`.
 */
import { BulkClient } from "@sfbulk/client"
import * as Schema from "effect/Schema"

const Account = Schema.Struct({ Name: Schema.String, NumberOfEmployees: Schema.NullOr(Schema.Number) })

/** Inserts two Accounts. */
export const load = BulkClient.insert("Account", [
  { Name: "Consumer A", NumberOfEmployees: 10 },
  { Name: "Consumer B", NumberOfEmployees: null }
], { schema: Account })

/** The Accounts `load` inserted, typed. */
export const accounts = BulkClient.query("SELECT Name, NumberOfEmployees FROM Account WHERE Name LIKE 'Consumer%'", {
  schema: Account
})

/** Credentials from the environment. */
export const live = BulkClient.layerConfig()
