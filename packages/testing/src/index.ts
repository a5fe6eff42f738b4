/**
 * `@sfbulk/testing`: test doubles for applications built on `@sfbulk/client`.
 *
 * @since 0.1.0
 */

/**
 * `BulkClient` backed by an in-memory org, for an application's own tests (no HTTP).
 *
 * @since 0.1.0
 */
export * as BulkClientMock from "./BulkClientMock.js"

/**
 * `BulkClient` over a local emulator started for the layer's lifetime (real HTTP, no org).
 *
 * @since 0.1.0
 */
export * as BulkClientEmulator from "./BulkClientEmulator.js"
