/**
 * `@sfbulk/emulator`: a local Salesforce org over real HTTP for tests.
 *
 * @since 0.1.0
 */

/**
 * Start, stop and control an emulator (`start`, `layer`, `Emulator` tag).
 *
 * @since 0.1.0
 */
export * as Emulator from "./Emulator.js"

/**
 * The in-memory org: definitions, records, ingest and SOQL.
 *
 * @since 0.1.0
 */
export * as Org from "./Org.js"
