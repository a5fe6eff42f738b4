/**
 * The one CSV writer of sfbulk (uploads, result files, exports): RFC 4180 quoting where a value
 * holding the delimiter, a quote, a LF or a CR is quoted (a bare CR left unquoted would end the row
 * for readers that take CR as a line break, and start a new cell past any formula guard), and no
 * record ever written as a blank line (readers, Salesforce's included, skip those: an empty value
 * in a one-column file is written `""`).
 *
 * @since 0.1.0
 */

/**
 * A function quoting one cell for `delimiter`: unchanged unless it holds the delimiter, `"`, CR or
 * LF; then wrapped in quotes with `"` doubled.
 *
 * @since 0.1.0
 */
export const quoter = (delimiter: string): (value: string) => string => {
  const d = delimiter.charCodeAt(0)
  return (s) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c === 34 || c === 10 || c === 13 || c === d) return `"${s.replaceAll("\"", "\"\"")}"`
    }
    return s
  }
}

/**
 * Writer options.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Column delimiter (default `,`). */
  readonly delimiter?: string | undefined
  /** Record delimiter written after every row (default LF). */
  readonly eol?: "\n" | "\r\n" | undefined
}

/**
 * Writes rows of cells as CSV text.
 *
 * @since 0.1.0
 */
export interface Writer {
  /** One row, its line ending included. */
  readonly row: (cells: ReadonlyArray<string>) => string
  /** Several rows, concatenated. */
  readonly rows: (rows: Iterable<ReadonlyArray<string>>) => string
}

/**
 * Makes a writer.
 *
 * @since 0.1.0
 */
export const make = (options?: Options): Writer => {
  const delimiter = options?.delimiter ?? ","
  const eol = options?.eol ?? "\n"
  const q = quoter(delimiter)
  const row = (cells: ReadonlyArray<string>): string => {
    // a lone empty cell would be a blank line, which readers skip: the record would vanish
    if (cells.length === 1 && cells[0] === "") return `""${eol}`
    let out = ""
    for (let i = 0; i < cells.length; i++) out += i === 0 ? q(cells[i]!) : delimiter + q(cells[i]!)
    return out + eol
  }
  return {
    row,
    rows: (rows) => {
      let out = ""
      for (const r of rows) out += row(r)
      return out
    }
  }
}
