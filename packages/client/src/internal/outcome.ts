/**
 * Parsing Salesforce's per-record error text (`sf__Error` in 2.0 results, `Error` in 1.0 CSV
 * results): `CODE:message:field1,field2 --`, several errors on one row written back to back.
 */

/** One per-record error. */
export interface RecordError {
  readonly code: string
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

const CODE = /^[A-Z][A-Z0-9_]*$/
const FIELDS = /^[A-Za-z0-9_.,\s]*$/

/** Splits the text at each `--` terminator that ends the text or is followed by another `CODE:`. */
const segments = (text: string): Array<string> => {
  const out: Array<string> = []
  const re = /--(?=\s*$|\s*[A-Z][A-Z0-9_]*:)/g
  let start = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(text.slice(start, m.index))
    start = m.index + 2
  }
  const rest = text.slice(start).trim()
  if (rest.length > 0) out.push(rest)
  return out
}

const parseOne = (segment: string): RecordError => {
  const s = segment.trim()
  const first = s.indexOf(":")
  const code = first > 0 ? s.slice(0, first) : ""
  if (!CODE.test(code)) return { code: "UNKNOWN", message: s, fields: [] }
  const body = s.slice(first + 1)
  const last = body.lastIndexOf(":")
  if (last >= 0 && FIELDS.test(body.slice(last + 1))) {
    const fields = body
      .slice(last + 1)
      .split(",")
      .map((f) => f.trim())
      .filter((f) => f.length > 0)
    return { code, message: body.slice(0, last).trim(), fields }
  }
  return { code, message: body.trim(), fields: [] }
}

/**
 * Parses Salesforce's error text into structured errors. Text that does not follow the format is
 * kept whole as the message of an `UNKNOWN` error, never dropped.
 */
export const parseErrors = (text: string): ReadonlyArray<RecordError> => {
  const parts = segments(text)
  if (parts.length === 0) return [{ code: "UNKNOWN", message: text, fields: [] }]
  return parts.map(parseOne)
}
