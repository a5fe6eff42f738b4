/**
 * A small, lenient XML reader and writer helpers for Bulk API 1.0 documents (jobInfo, sObjects).
 * Namespace prefixes are dropped from element names: Bulk 1.0 documents use one default namespace,
 * and clients differ in whether they repeat it.
 */
import { unescapeXml } from "../xml.js"

/** One parsed element. `text` is the concatenated character data directly inside it. */
export interface XmlElement {
  readonly name: string
  readonly attrs: Readonly<Record<string, string>>
  readonly children: Array<XmlElement>
  text: string
}

/** Thrown for malformed XML; the message says where. */
export class XmlSyntaxError extends Error {}

const localName = (qname: string): string => {
  const i = qname.indexOf(":")
  return i < 0 ? qname : qname.slice(i + 1)
}

/** Escape text for element content or attribute values. */
export const escapeXml = (s: string): string =>
  /[<>&"]/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;") : s

const ATTR = /([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/g

/** Parse a whole document and return its root element. */
export const parseXml = (input: string): XmlElement => {
  const stack: Array<XmlElement> = []
  let root: XmlElement | undefined
  let i = 0
  const n = input.length
  if (input.charCodeAt(0) === 0xfeff) i = 1
  while (i < n) {
    const lt = input.indexOf("<", i)
    const textEnd = lt < 0 ? n : lt
    if (textEnd > i) {
      const text = input.slice(i, textEnd)
      const top = stack[stack.length - 1]
      if (top) top.text += unescapeXml(text)
      else if (text.trim() !== "") throw new XmlSyntaxError(`Content is not allowed outside the root element (offset ${i})`)
    }
    if (lt < 0) break
    if (input.startsWith("<?", lt)) {
      const end = input.indexOf("?>", lt)
      if (end < 0) throw new XmlSyntaxError("Unterminated processing instruction")
      i = end + 2
    } else if (input.startsWith("<!--", lt)) {
      const end = input.indexOf("-->", lt)
      if (end < 0) throw new XmlSyntaxError("Unterminated comment")
      i = end + 3
    } else if (input.startsWith("<![CDATA[", lt)) {
      const end = input.indexOf("]]>", lt)
      if (end < 0) throw new XmlSyntaxError("Unterminated CDATA section")
      const top = stack[stack.length - 1]
      if (!top) throw new XmlSyntaxError("CDATA outside the root element")
      top.text += input.slice(lt + 9, end)
      i = end + 3
    } else if (input.startsWith("<!", lt)) {
      const end = input.indexOf(">", lt)
      if (end < 0) throw new XmlSyntaxError("Unterminated declaration")
      i = end + 1
    } else if (input[lt + 1] === "/") {
      const end = input.indexOf(">", lt)
      if (end < 0) throw new XmlSyntaxError("Unterminated end tag")
      const name = localName(input.slice(lt + 2, end).trim())
      const top = stack.pop()
      if (!top || top.name !== name) {
        throw new XmlSyntaxError(`Unexpected end tag </${name}>${top ? `; expected </${top.name}>` : ""}`)
      }
      i = end + 1
    } else {
      const end = findTagEnd(input, lt)
      let body = input.slice(lt + 1, end)
      const selfClosing = body.endsWith("/")
      if (selfClosing) body = body.slice(0, -1)
      const m = /^[^\s/>]+/.exec(body)
      if (!m) throw new XmlSyntaxError(`Malformed start tag at offset ${lt}`)
      const attrs: Record<string, string> = {}
      const rest = body.slice(m[0].length)
      if (rest.trim() !== "") {
        ATTR.lastIndex = 0
        let a: RegExpExecArray | null
        while ((a = ATTR.exec(rest)) !== null) {
          attrs[a[1]!] = unescapeXml(a[3] ?? a[4] ?? "")
        }
      }
      const el: XmlElement = { name: localName(m[0]), attrs, children: [], text: "" }
      const top = stack[stack.length - 1]
      if (top) top.children.push(el)
      else if (root) throw new XmlSyntaxError("Only one root element is allowed")
      else root = el
      if (!selfClosing) stack.push(el)
      i = end + 1
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`Element <${stack[stack.length - 1]!.name}> is not closed`)
  if (!root) throw new XmlSyntaxError("Premature end of file")
  return root
}

const findTagEnd = (input: string, from: number): number => {
  let quote: string | undefined
  for (let j = from + 1; j < input.length; j++) {
    const c = input[j]
    if (quote) {
      if (c === quote) quote = undefined
    } else if (c === "\"" || c === "'") quote = c
    else if (c === ">") return j
  }
  throw new XmlSyntaxError(`Unterminated start tag at offset ${from}`)
}

/** True when an element carries `xsi:nil="true"` (any prefix). */
export const isNil = (el: XmlElement): boolean => {
  for (const [k, v] of Object.entries(el.attrs)) {
    if (localName(k) === "nil" && (v === "true" || v === "1")) return true
  }
  return false
}
