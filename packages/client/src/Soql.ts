/**
 * Safe SOQL building: literals with quotes, backslashes and control characters escaped, `LIKE`
 * patterns with `%` and `_` escaped, and a `soql` tagged template that escapes every interpolated
 * value, so user input can never change the shape of a query.
 *
 * @since 0.1.0
 */

/**
 * A value that can be written as a SOQL literal. Arrays become `('a','b')` lists for `IN`.
 *
 * @since 0.1.0
 * @category models
 */
export type Value = string | number | bigint | boolean | null | undefined | Date | Fragment

/**
 * Anything the `soql` template accepts in `${...}`.
 *
 * @since 0.1.0
 * @category models
 */
export type Interpolation = Value | ReadonlyArray<Value>

const FragmentTypeId: unique symbol = Symbol.for("@sfbulk/client/Soql/Fragment")

/**
 * SOQL text that is inserted verbatim by the `soql` template (it has already been escaped or
 * validated). Build one with `raw`, `identifier`, `date`, `startsWith`, `endsWith`, `contains`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fragment {
  readonly [FragmentTypeId]: typeof FragmentTypeId
  readonly text: string
  toString(): string
}

const fragment = (text: string): Fragment => ({
  [FragmentTypeId]: FragmentTypeId,
  text,
  toString: () => text
})

/**
 * True for values built by `raw`, `identifier`, `date`, `startsWith`, `endsWith` or `contains`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFragment = (u: unknown): u is Fragment => typeof u === "object" && u !== null && FragmentTypeId in u

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "'": "\\'",
  "\"": "\\\"",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f"
}

/**
 * Escapes text for use inside a quoted SOQL string literal (without adding the quotes):
 * backslash, single and double quotes, newline, carriage return, tab, backspace and form feed.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escape = (text: string): string => text.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c]!)

/**
 * Escapes text for use inside a quoted `LIKE` pattern: everything `escape` does, plus the
 * wildcards `%` and `_`, so they match literally.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeLike = (text: string): string => escape(text).replace(/[%_]/g, (c) => `\\${c}`)

const dateTimeText = (d: Date): string => {
  if (Number.isNaN(d.getTime())) throw new RangeError("Soql: cannot write an invalid Date as a SOQL literal")
  return d.toISOString().replace(/\.\d{3}Z$/, "Z")
}

/**
 * Writes a value as a SOQL literal: strings quoted and escaped, numbers and booleans as is, `null`
 * / `undefined` as `null`, a `Date` as a UTC dateTime (`2026-01-02T03:04:05Z`), an array as an `IN`
 * list `('a','b')`, a `Fragment` verbatim. Throws a `RangeError` for non-finite numbers, invalid
 * dates and empty arrays (SOQL has no literal for them).
 *
 * @since 0.1.0
 * @category escaping
 */
export const literal = (value: Interpolation): string => {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new RangeError("Soql: an empty list cannot be written as a SOQL IN list")
    return `(${value.map((v) => literal(v as Value)).join(",")})`
  }
  const v = value as Value
  if (v === null || v === undefined) return "null"
  if (isFragment(v)) return v.text
  if (typeof v === "string") return `'${escape(v)}'`
  if (typeof v === "boolean") return v ? "true" : "false"
  if (typeof v === "bigint") return v.toString()
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new RangeError(`Soql: ${v} cannot be written as a SOQL number`)
    return String(v)
  }
  return dateTimeText(v)
}

/**
 * How a `like` pattern matches: the whole value, or values starting with, ending with or
 * containing it.
 *
 * @since 0.1.0
 * @category models
 */
export type LikeMatch = "exact" | "startsWith" | "endsWith" | "contains"

/**
 * A quoted `LIKE` pattern matching `text` literally (its `%`, `_`, quotes and backslashes escaped),
 * with wildcards added according to `match` (default `"contains"`).
 *
 * @example
 * Soql.like("50%_off", "startsWith") // => '50\%\_off%'
 *
 * @since 0.1.0
 * @category escaping
 */
export const like = (text: string, match: LikeMatch = "contains"): string => {
  const body = escapeLike(text)
  switch (match) {
    case "exact":
      return `'${body}'`
    case "startsWith":
      return `'${body}%'`
    case "endsWith":
      return `'%${body}'`
    case "contains":
      return `'%${body}%'`
  }
}

/**
 * A `LIKE` pattern fragment for the `soql` template: values starting with `text`.
 *
 * @since 0.1.0
 * @category fragments
 */
export const startsWith = (text: string): Fragment => fragment(like(text, "startsWith"))

/**
 * A `LIKE` pattern fragment for the `soql` template: values ending with `text`.
 *
 * @since 0.1.0
 * @category fragments
 */
export const endsWith = (text: string): Fragment => fragment(like(text, "endsWith"))

/**
 * A `LIKE` pattern fragment for the `soql` template: values containing `text`.
 *
 * @since 0.1.0
 * @category fragments
 */
export const contains = (text: string): Fragment => fragment(like(text, "contains"))

/**
 * A date literal (`2026-01-02`, no quotes) for date fields, from a `Date` (its UTC day) or a
 * `yyyy-MM-dd` string. Throws a `RangeError` for anything else.
 *
 * @since 0.1.0
 * @category fragments
 */
export const date = (value: Date | string): Fragment => {
  const text = typeof value === "string" ? value : dateTimeText(value).slice(0, 10)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new RangeError(`Soql: ${JSON.stringify(text)} is not a yyyy-MM-dd date`)
  return fragment(text)
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/

/**
 * A field or object name for the `soql` template (`Name`, `Account.Owner.Email`, `My_Field__c`),
 * validated so it cannot carry anything else. Throws a `RangeError` when it is not a plain name.
 *
 * @since 0.1.0
 * @category fragments
 */
export const identifier = (name: string): Fragment => {
  if (!IDENTIFIER.test(name)) throw new RangeError(`Soql: ${JSON.stringify(name)} is not a valid SOQL field or object name`)
  return fragment(name)
}

/**
 * SOQL text inserted verbatim by the `soql` template. Never pass user input here.
 *
 * @since 0.1.0
 * @category fragments
 */
export const raw = (text: string): Fragment => fragment(text)

/**
 * Builds a SOQL statement, writing every `${value}` with `literal` (fragments verbatim).
 *
 * @example
 * soql`SELECT Id FROM Account WHERE Name = ${name} AND Type IN ${types}`
 *
 * @since 0.1.0
 * @category constructors
 */
export const soql = (strings: TemplateStringsArray, ...values: ReadonlyArray<Interpolation>): string => {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += literal(values[i]!) + strings[i + 1]!
  return out
}
