/**
 * Field mapping, as Data Loader's mapping files do it: input columns renamed to Salesforce fields
 * while the rows stream (constant memory), columns dropped only when the mapping says so, constant
 * values set on every row. Give one to an ingest with the `mapping` option, or apply it yourself.
 *
 * @since 0.1.0
 */
import type * as Stream from "effect/Stream"
import type { InvalidInputError } from "./BulkError.js"
import * as internal from "./internal/mapping.js"

/**
 * A mapping: `columns` (input column → field(s); `null` or `[]` drops the column) and `constants`
 * (field → value set on every row).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldMapping = internal.FieldMapping

/**
 * Parses Data Loader's `.sdl` format (`CsvColumn=Field`, `CsvColumn=` drops it, `"value"=Field`, `#`
 * comments, Java properties escapes such as `\:` and `\ `); an `InvalidInputError` names the line.
 * Data Loader's lookups become Bulk API headers: `Parent:Ext__c` is `Parent.Ext__c`, and
 * `Who:Contact-Email` is `Contact:Who.Email` (give the result to `Describe.header` with the object's
 * description to drop the object type where the lookup is not polymorphic).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseSdl: (text: string) => FieldMapping | InvalidInputError = internal.parseSdl

/**
 * Parses a CSV mapping (`csv column,field` rows, optional header; an empty field drops the column;
 * `,Field,value` sets a constant). A first line without a comma but with `;` or a tab (as Excel
 * saves in many locales) sets that separator.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsv: (text: string) => FieldMapping | InvalidInputError = internal.parseCsvMapping

/**
 * Parses a mapping file's text by its name: `*.csv` as CSV, anything else as `.sdl`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse: (text: string, fileName: string) => FieldMapping | InvalidInputError = internal.parseMapping

/**
 * Renames the rows' fields as they stream. The input's columns are the first row's keys, or
 * `columns()` (a CSV's header, read once the first row is); an unmapped column, or a mapped one the
 * input lacks, fails the stream with an `InvalidInputError` naming it.
 *
 * @since 0.1.0
 * @category mapping
 */
export const mapRows: <E, R>(
  rows: Stream.Stream<Readonly<Record<string, unknown>>, E, R>,
  mapping: FieldMapping,
  columns?: () => ReadonlyArray<string>
) => Stream.Stream<Record<string, unknown>, E | InvalidInputError, R> = internal.mapRows

/**
 * A mapping checked against the input's columns: `fields` (what each mapped row holds, in order)
 * and `apply` (one input row as the row to send); or the error naming an unmapped column or a mapped
 * one the input lacks.
 *
 * @since 0.1.0
 * @category mapping
 */
export const compile = (
  mapping: FieldMapping,
  columns: ReadonlyArray<string>
): {
  readonly fields: ReadonlyArray<string>
  readonly apply: <V>(row: Readonly<Record<string, V>>) => Record<string, V | string>
} | InvalidInputError => {
  const p = internal.plan(mapping, columns)
  return "header" in p ? { fields: p.header, apply: (row) => internal.applyPlan(p, row) } : p
}

/**
 * Every field a mapping fills: its columns' targets, then its constants' fields (to check them
 * against the object's fields, e.g. with `Describe.checkColumn`).
 *
 * @since 0.2.0
 * @category mapping
 */
export const fields: (mapping: FieldMapping) => ReadonlyArray<string> = internal.fieldsOf

/**
 * The mapping with each field it fills renamed (columns and constants alike), e.g. by
 * `Describe.header` to fit its lookups to the object.
 *
 * @since 0.2.0
 * @category mapping
 */
export const renameFields: (mapping: FieldMapping, rename: (field: string) => string) => FieldMapping = internal.renameFields
