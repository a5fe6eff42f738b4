/**
 * `@sfbulk/csv`: a fast, synchronous, incremental CSV reader whose rows and errors match csv-parse's.
 *
 * @since 0.1.0
 */

/**
 * The streaming reader: push text or UTF-8 bytes, get rows (arrays of strings) or records keyed by
 * the header row; `CsvError` on malformed input.
 *
 * @since 0.1.0
 */
export * as CsvReader from "./CsvReader.js"
