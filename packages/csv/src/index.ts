/**
 * `@sfbulk/csv`: a fast, synchronous, incremental CSV reader whose rows and errors match csv-parse's,
 * and the CSV writer every sfbulk output uses.
 *
 * @since 0.1.0
 */

/**
 * The streaming reader: push text or bytes, get rows (arrays of strings) or records keyed by the
 * header row; `CsvError` on malformed input.
 *
 * @since 0.1.0
 */
export * as CsvReader from "./CsvReader.js"

/**
 * The writer: cells to CSV lines, quoting CR as well as LF, never a blank line for a record.
 *
 * @since 0.1.0
 */
export * as CsvWriter from "./CsvWriter.js"
