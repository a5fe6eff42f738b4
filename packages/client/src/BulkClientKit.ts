/**
 * Building blocks for another implementation of `BulkClient.Service` (a test double, an adapter):
 * the real client's option checks, row checks, CSV line encoder and query-row decoder, so that an
 * implementation refuses, encodes and decodes exactly as the client does. `@sfbulk/testing`'s
 * `BulkClientMock` is built on it; application code does not need it.
 *
 * These are the only pieces of the client's internals that are public: everything under
 * `@sfbulk/client/internal/` is closed to imports.
 *
 * @since 0.2.0
 */
export {
  /**
   * Rejects option combinations the chosen API cannot honour, before anything is sent
   * (`InvalidInputError` saying what to change).
   *
   * @since 0.2.0
   * @category checks
   */
  validate as validateOptions,
  /**
   * The message of the `InvalidInputError` for an input without rows (unless `allowEmpty`).
   *
   * @since 0.2.0
   * @category checks
   */
  EMPTY_INPUT as emptyInputMessage
} from "./internal/bulkClient.js"

export {
  /**
   * The rows with the client's per-row checks applied (columns, operation, Id, external id); the
   * stream fails at the first bad row with an `InvalidInputError` naming it.
   *
   * @since 0.2.0
   * @category checks
   */
  checkedRows,
  /**
   * What the row checks need to know: the operation, its external id field, declared columns.
   *
   * @since 0.2.0
   * @category models
   */
  type CheckContext
} from "./internal/validate.js"

export {
  /**
   * Any rows value the operations accept (array, Iterable, AsyncIterable, Stream) as one Stream.
   *
   * @since 0.2.0
   * @category rows
   */
  toStream,
  /**
   * Builds the client's CSV line encoder (without `columns`/`schema`, the first row fixes them).
   *
   * @since 0.2.0
   * @category rows
   */
  lineEncoder,
  /**
   * The client's CSV line encoder.
   *
   * @since 0.2.0
   * @category models
   */
  type LineEncoder,
  /**
   * The CSV lines of a chunk of rows in one buffer.
   *
   * @since 0.2.0
   * @category models
   */
  type LineBlock,
  /**
   * Options that shape the CSV written for an upload.
   *
   * @since 0.2.0
   * @category models
   */
  type EncodeOptions,
  /**
   * Rows accepted by the high-level operations.
   *
   * @since 0.2.0
   * @category models
   */
  type Rows
} from "./internal/rows.js"

export {
  /**
   * Decodes query rows with a Schema, as `query(..., { schema })` does (a `RowDecodeError` names
   * the row's position).
   *
   * @since 0.2.0
   * @category query
   */
  decodeRows
} from "./internal/query2.js"

export {
  /**
   * The object of a SOQL statement's outer FROM clause (a 1.0 query job needs it).
   *
   * @since 0.2.0
   * @category query
   */
  objectOf as soqlObject
} from "./internal/query1.js"

export {
  /**
   * `summary.created` where the operation decides it without reading results (insert: all,
   * update/delete: none, upsert: undefined).
   *
   * @since 0.2.0
   * @category outcomes
   */
  createdFor
} from "./internal/outcome.js"

export {
  /**
   * The progress tracker behind `onProgress`, so another implementation reports progress the same way.
   *
   * @since 0.2.0
   * @category progress
   */
  tracker as progressTracker
} from "./internal/progress.js"
