/**
 * CSV reading rules shared by the Bulk API 1.0 and 2.0 handlers where Salesforce's reader differs
 * from csv-parse's (sources in FIDELITY.md, "Line endings and newlines inside values").
 */
import { CsvReader } from "@sfbulk/csv"

/**
 * Salesforce's text for a quote inside an unquoted value (a BOM in front of a quoted header is
 * the common case): the whole batch / job fails with it.
 */
export const UNESCAPED_QUOTE = "Failed to parse CSV. Found unescaped quote. A value with quote should be within a quote"

/** True for the reader error that Salesforce reports as `UNESCAPED_QUOTE`. */
export const isUnescapedQuote = (e: unknown): boolean => e instanceof CsvReader.CsvError && e.code === "INVALID_OPENING_QUOTE"

/**
 * A record Salesforce's CSV reader skips: a blank line, or one empty value (`""` alone on a line
 * reads the same). It is not a row: it gets no result and is not counted.
 */
export const isBlankRecord = (rec: ReadonlyArray<string>): boolean => rec.length === 0 || (rec.length === 1 && rec[0] === "")
