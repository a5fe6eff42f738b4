/** Tiny XML helpers shared by the emulator's server and handlers. */

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;" }

/** Escape text for use in XML element content or attribute values. */
export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

/** Reverse `escapeXml`, plus numeric character references. */
export const unescapeXml = (s: string): string =>
  s.indexOf("&") < 0 ? s : s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
    return XML_ENTITIES[e]!
  })

/** `<name>escaped text</name>`; `null` renders `<name xsi:nil="true"/>`. */
export const element = (name: string, text: string | number | boolean | null): string =>
  text === null ? `<${name} xsi:nil="true"/>` : `<${name}>${escapeXml(String(text))}</${name}>`

/** The XML prolog Salesforce puts before every document. */
export const PROLOG = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/** The Bulk API 1.0 namespace. */
export const ASYNC_NS = "http://www.force.com/2009/06/asyncapi/dataload"

/** A Bulk API 1.0 `<error>` document (XML) or its JSON variant. */
export const bulk1Error = (code: string, message: string, json: boolean): string =>
  json
    ? JSON.stringify({ exceptionCode: code, exceptionMessage: message })
    : `${PROLOG}<error xmlns="${ASYNC_NS}">${element("exceptionCode", code)}${element("exceptionMessage", message)}</error>`

/**
 * The text content of the first element with this local name (any namespace prefix), unescaped;
 * undefined when absent. Enough for the flat SOAP login envelope.
 */
export const firstElementText = (xml: string, localName: string): string | undefined => {
  const m = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${localName}(?:\\s[^>]*)?>([^<]*)</(?:[A-Za-z_][\\w.-]*:)?${localName}\\s*>`).exec(xml)
  return m ? unescapeXml(m[1]!) : undefined
}
