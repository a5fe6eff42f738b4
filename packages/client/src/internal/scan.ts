/**
 * Small, fast streaming scanners for Bulk 1.0 documents: split a byte stream into top-level JSON
 * array elements or into XML elements of one name, holding only the element being read.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { decodeXmlEntities } from "./transport.js"

/** Decode UTF-8 chunks to text without splitting multi-byte characters. */
const decodeText = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder("utf-8")
    return Stream.concat(
      Stream.map(bytes, (b) => decoder.decode(b, { stream: true })),
      Stream.sync(() => decoder.decode())
    ).pipe(Stream.filter((s) => s.length > 0))
  })

export class ScanError {
  readonly _tag = "ScanError"
  constructor(readonly message: string) {}
}

/**
 * The elements of a top-level JSON array, each parsed with JSON.parse. A bare top-level object is
 * treated as a one-element array (Salesforce's Jackson may serialize single-element lists that way).
 */
export const jsonArrayElements = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<unknown, E | ScanError, R> =>
  Stream.suspend(() => {
    let buf = ""
    let pos = 0
    let depth = 0
    let inString = false
    let escaped = false
    let start = -1
    let topIsObject = false
    const step = (text: string): Effect.Effect<Chunk.Chunk<unknown>, ScanError> => {
      buf = start >= 0 ? buf.slice(start) + text : text
      pos = start >= 0 ? pos - start : 0
      if (start >= 0) start = 0
      const out: Array<unknown> = []
      for (; pos < buf.length; pos++) {
        const c = buf.charCodeAt(pos)
        if (inString) {
          if (escaped) escaped = false
          else if (c === 92) escaped = true
          else if (c === 34) inString = false
          continue
        }
        if (c === 34) {
          inString = true
          if (depth === 1 && start < 0) start = pos
        } else if (c === 123 || c === 91) {
          if (depth === 0 && c === 123) {
            topIsObject = true
            start = pos
          } else if (depth === 1 && start < 0) start = pos
          depth++
        } else if (c === 125 || c === 93) {
          depth--
          if (depth === 0 && c === 93 && start >= 0 && !topIsObject) {
            try {
              out.push(JSON.parse(buf.slice(start, pos)))
            } catch (e) {
              return Effect.fail(new ScanError(`malformed JSON: ${(e as Error).message}`))
            }
            start = -1
          } else if ((depth === 1 && start >= 0) || (depth === 0 && topIsObject)) {
            try {
              out.push(JSON.parse(buf.slice(start, pos + 1)))
            } catch (e) {
              return Effect.fail(new ScanError(`malformed JSON: ${(e as Error).message}`))
            }
            start = -1
            topIsObject = false
          }
        } else if (depth === 1 && start < 0 && c > 32 && c !== 44) {
          start = pos // a scalar element
        } else if (depth === 1 && start >= 0 && c === 44) {
          try {
            out.push(JSON.parse(buf.slice(start, pos)))
          } catch (e) {
            return Effect.fail(new ScanError(`malformed JSON: ${(e as Error).message}`))
          }
          start = -1
        }
      }
      if (start < 0) {
        buf = ""
        pos = 0
      }
      return Effect.succeed(Chunk.unsafeFromArray(out))
    }
    return Stream.mapConcatChunkEffect(decodeText(bytes), step)
  })

/**
 * The inner text of every `<name>...</name>` element (matched by local name, any prefix), in
 * order. Elements of that name must not nest.
 */
export const xmlElements = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  name: string
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const open = new RegExp(`<(?:[\\w-]+:)?${name}(?=[\\s>/])`, "g")
    const close = new RegExp(`</(?:[\\w-]+:)?${name}\\s*>`, "g")
    let buf = ""
    const step = (text: string): Chunk.Chunk<string> => {
      buf += text
      const out: Array<string> = []
      let keepFrom = Math.max(0, buf.length - name.length - 16)
      for (;;) {
        open.lastIndex = 0
        const o = open.exec(buf)
        if (o === null) break
        const tagEnd = buf.indexOf(">", o.index)
        if (tagEnd < 0) {
          keepFrom = o.index
          break
        }
        if (buf[tagEnd - 1] === "/") { // <name/>: an empty element
          out.push("")
          buf = buf.slice(tagEnd + 1)
          continue
        }
        close.lastIndex = tagEnd
        const c = close.exec(buf)
        if (c === null) {
          keepFrom = o.index
          break
        }
        out.push(buf.slice(tagEnd + 1, c.index))
        buf = buf.slice(c.index + c[0].length)
        keepFrom = Math.max(0, buf.length - name.length - 16)
      }
      buf = buf.slice(keepFrom)
      return Chunk.unsafeFromArray(out)
    }
    return Stream.mapConcatChunk(decodeText(bytes), step)
  })

export interface XmlNode {
  readonly name: string
  readonly attrs: string
  readonly text: string
  readonly children: ReadonlyArray<XmlNode>
}

/** Parse an XML fragment (no prolog, no comments) into nodes; for small documents. */
export const parseFragment = (xml: string): Array<XmlNode> => {
  const re = /<(\/?)([\w:.-]+)([^>]*?)(\/?)>|([^<]+)/g
  const root: { children: Array<XmlNode>; text: string } = { children: [], text: "" }
  const stack: Array<{ name: string; attrs: string; text: string; children: Array<XmlNode> }> = [
    { name: "", attrs: "", ...root }
  ]
  let m: RegExpExecArray | null
  while ((m = re.exec(xml)) !== null) {
    const top = stack[stack.length - 1]!
    if (m[5] !== undefined) {
      top.text += m[5]
      continue
    }
    const [, slash, rawName, attrs, selfClose] = m
    if (rawName!.startsWith("?") || rawName!.startsWith("!")) continue
    const name = rawName!.replace(/^[\w-]+:/, "")
    if (slash === "/") {
      const node = stack.pop()!
      stack[stack.length - 1]!.children.push({
        name: node.name,
        attrs: node.attrs,
        text: decodeXmlEntities(node.text),
        children: node.children
      })
    } else if (selfClose === "/") {
      top.children.push({ name, attrs: attrs ?? "", text: "", children: [] })
    } else {
      stack.push({ name, attrs: attrs ?? "", text: "", children: [] })
    }
  }
  return stack[0]!.children
}

/** Whether an element carries `xsi:nil="true"`. */
export const isNil = (node: XmlNode): boolean => /\bnil\s*=\s*["']true["']/.test(node.attrs)
