/**
 * `@sfbulk/client`: a Salesforce Bulk API 1.0 and 2.0 client for Effect.
 *
 * @since 0.1.0
 */

/**
 * The tagged-error family every operation fails with.
 *
 * @since 0.1.0
 */
export * as BulkError from "./BulkError.js"

/**
 * Sessions and the layers for every way to log in.
 *
 * @since 0.1.0
 */
export * as SalesforceAuth from "./SalesforceAuth.js"

/**
 * The HTTP transport under every API: session signing and renewal, retries, timeouts, gzip.
 *
 * @since 0.2.0
 */
export * as Transport from "./Transport.js"

/**
 * The low-level Bulk API 2.0: ingest and query jobs, uploads, results as streams.
 *
 * @since 0.1.0
 */
export * as Bulk2 from "./Bulk2.js"

/**
 * The high-level service: any stream of records in, every outcome out, on Bulk API 2.0 or 1.0.
 *
 * @since 0.1.0
 */
export * as BulkClient from "./BulkClient.js"

/**
 * Safe SOQL: escaped literals and LIKE patterns, and the `soql` tagged template.
 *
 * @since 0.1.0
 */
export * as Soql from "./Soql.js"

/**
 * Builds a SOQL statement with every interpolated value escaped.
 *
 * @since 0.1.0
 */
export { soql } from "./Soql.js"

/**
 * Record streams to CSV bytes and back.
 *
 * @since 0.1.0
 */
export * as Csv from "./Csv.js"

/**
 * The complete Bulk API 1.0: jobs, batches, waits, result streams.
 *
 * @since 0.1.0
 */
export * as Bulk1 from "./Bulk1.js"

/**
 * The journal file of a resumable ingest: what it holds (job ids for `BulkClient.resume`).
 *
 * @since 0.1.0
 */
export * as Journal from "./Journal.js"

/**
 * The org's limits (`/services/data/vXX.X/limits`): API requests, Bulk API batches and query jobs.
 *
 * @since 0.1.0
 */
export * as Limits from "./Limits.js"

/**
 * Field mapping (Data Loader's `.sdl` and CSV mapping files).
 *
 * @since 0.1.0
 */
export * as Mapping from "./Mapping.js"

/**
 * An object's fields and their types (`/services/data/vXX.X/sobjects/{SObject}/describe`).
 *
 * @since 0.2.0
 */
export * as Describe from "./Describe.js"
