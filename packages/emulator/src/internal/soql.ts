/**
 * SOQL as Bulk API queries accept it: a parser and an evaluator compiled once per query against the
 * org's tables. Unsupported clauses (GROUP BY, OFFSET, TYPEOF, aggregates, subqueries) fail the way
 * the Bulk APIs refuse them; syntax and schema errors carry Salesforce's codes and wording,
 * including the echoed query line and `ERROR at Row:r:Column:c` position.
 */
import { parseDate, parseDateTime } from "./convert.js"
import { isValidId, to15, to18 } from "./ids.js"
import type { FieldType, ModelError, QueryResult, QueryValue } from "./model.js"
import type { Org } from "./org.js"
import { DELETED, type FieldInfo, GONE, LIVE, render, type Table, type Value } from "./store.js"

// -------------------------------------------------------------------------------------------------
// Errors

class SoqlError extends Error {
  constructor(readonly errorCode: string, readonly detail: string, readonly pos: number | undefined) {
    super(detail)
  }
}

const located = (soql: string, pos: number | undefined, text: string): string => {
  if (pos === undefined) return text
  const before = soql.slice(0, pos)
  const row = before.split("\n").length
  const lineStart = before.lastIndexOf("\n") + 1
  const lineEnd = soql.indexOf("\n", pos)
  const line = soql.slice(lineStart, lineEnd < 0 ? soql.length : lineEnd)
  const col = pos - lineStart + 1
  return `\n${line}\n${" ".repeat(col - 1)}^\nERROR at Row:${row}:Column:${col}\n${text}`
}

const unexpected = (tok: Token): SoqlError =>
  new SoqlError("MALFORMED_QUERY", `unexpected token: '${tok.k === "eof" ? "<EOF>" : tok.text}'`, tok.pos)

const notInBulk = (what: string, pos: number): SoqlError =>
  new SoqlError("FUNCTIONALITY_NOT_ENABLED", `${what} not supported in Bulk Query`, pos)

// -------------------------------------------------------------------------------------------------
// Lexer

type TokenKind = "ident" | "string" | "number" | "date" | "datetime" | "op" | "(" | ")" | "," | "eof"

interface Token {
  readonly k: TokenKind
  /** Source text (for strings: the unescaped value). */
  readonly text: string
  readonly pos: number
  /** For strings: true when `\%` / `\_` escapes were used (kept as LIKE literals). */
  readonly likeEscapes?: ReadonlyArray<number>
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?/y
const DATETIME_LIT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})/y
const DATE_LIT = /\d{4}-\d{2}-\d{2}(?![\dT])/y
const NUMBER_LIT = /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![A-Za-z_])/y
const OP = /!=|<>|<=|>=|=|<|>/y

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", "'": "'", "\"": "\"", "\\": "\\" }

const lex = (src: string): Array<Token> => {
  const out: Array<Token> = []
  let i = 0
  const at = (re: RegExp): string | undefined => {
    re.lastIndex = i
    const m = re.exec(src)
    return m ? m[0] : undefined
  }
  while (i < src.length) {
    const c = src[i]!
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++
      continue
    }
    if (c === "(" || c === ")" || c === ",") {
      out.push({ k: c, text: c, pos: i })
      i++
      continue
    }
    if (c === "'") {
      const start = i
      let value = ""
      const likeEscapes: Array<number> = []
      i++
      for (;;) {
        if (i >= src.length) throw new SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'", src.length)
        const ch = src[i]!
        if (ch === "'") break
        if (ch === "\\") {
          const next = src[i + 1]
          if (next === undefined) throw new SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'", src.length)
          if (next === "%" || next === "_") {
            likeEscapes.push(value.length)
            value += next
          } else if (ESCAPES[next] !== undefined) value += ESCAPES[next]
          else {throw new SoqlError(
              "MALFORMED_QUERY",
              `Invalid string literal '${
                src.slice(start, Math.min(src.length, i + 2))
              }'. Illegal character sequence '\\${next}' in string literal.`,
              i
            )}
          i += 2
          continue
        }
        value += ch
        i++
      }
      i++
      out.push({ k: "string", text: value, pos: start, likeEscapes })
      continue
    }
    let m: string | undefined
    if ((m = at(DATETIME_LIT))) out.push({ k: "datetime", text: m, pos: i })
    else if ((m = at(DATE_LIT))) out.push({ k: "date", text: m, pos: i })
    else if ((m = at(NUMBER_LIT))) out.push({ k: "number", text: m, pos: i })
    else if ((m = at(IDENT))) out.push({ k: "ident", text: m, pos: i })
    else if ((m = at(OP))) out.push({ k: "op", text: m, pos: i })
    else throw new SoqlError("MALFORMED_QUERY", `unexpected token: '${c}'`, i)
    i += m.length
  }
  out.push({ k: "eof", text: "", pos: src.length })
  return out
}

// -------------------------------------------------------------------------------------------------
// Parser

interface PathRef {
  readonly path: string
  readonly pos: number
}

type Literal =
  | { readonly t: "string"; readonly v: string; readonly pos: number; readonly likeEscapes: ReadonlyArray<number> }
  | { readonly t: "number"; readonly v: number; readonly pos: number }
  | { readonly t: "boolean"; readonly v: boolean; readonly pos: number }
  | { readonly t: "null"; readonly pos: number }
  | { readonly t: "date"; readonly v: string; readonly pos: number }
  | { readonly t: "datetime"; readonly v: string; readonly pos: number }
  | { readonly t: "relative"; readonly v: string; readonly pos: number }

type Expr =
  | { readonly k: "and" | "or"; readonly items: ReadonlyArray<Expr> }
  | { readonly k: "not"; readonly e: Expr }
  | { readonly k: "cmp"; readonly field: PathRef; readonly op: string; readonly value: Literal }
  | { readonly k: "in"; readonly field: PathRef; readonly negate: boolean; readonly values: ReadonlyArray<Literal> }
  | { readonly k: "like"; readonly field: PathRef; readonly value: Literal }
  | { readonly k: "semi"; readonly field: PathRef; readonly negate: boolean; readonly sub: Ast; readonly pos: number }

interface OrderKey {
  readonly field: PathRef
  readonly desc: boolean
  readonly nullsLast: boolean
}

interface Ast {
  readonly fields: ReadonlyArray<PathRef>
  readonly from: PathRef
  readonly where: Expr | undefined
  readonly orderBy: ReadonlyArray<OrderKey>
  readonly limit: number | undefined
}

const RELATIVE =
  /^(TODAY|YESTERDAY|TOMORROW|LAST_WEEK|THIS_WEEK|NEXT_WEEK|LAST_MONTH|THIS_MONTH|NEXT_MONTH|LAST_YEAR|THIS_YEAR|NEXT_YEAR|LAST_90_DAYS|NEXT_90_DAYS|(?:LAST|NEXT)_N_DAYS:\d+)$/i

const RESERVED = new Set([
  "SELECT",
  "FROM",
  "WHERE",
  "AND",
  "OR",
  "NOT",
  "LIKE",
  "IN",
  "ORDER",
  "BY",
  "LIMIT",
  "GROUP",
  "HAVING",
  "OFFSET",
  "NULL",
  "TRUE",
  "FALSE",
  "WITH",
  "USING",
  "INCLUDES",
  "EXCLUDES"
])

class Parser {
  private i = 0
  constructor(private readonly toks: ReadonlyArray<Token>) {}

  private peek(): Token {
    return this.toks[this.i]!
  }
  private next(): Token {
    return this.toks[this.i++]!
  }
  private isKw(word: string, tok: Token = this.peek()): boolean {
    return tok.k === "ident" && tok.text.toUpperCase() === word
  }
  private kw(word: string): Token {
    const t = this.next()
    if (!this.isKw(word, t)) throw unexpected(t)
    return t
  }
  private expect(k: TokenKind): Token {
    const t = this.next()
    if (t.k !== k) throw unexpected(t)
    return t
  }

  /** A whole query, or (`nested`) a semi-join sub-select ending before its `)`. */
  parse(nested = false): Ast {
    this.kw("SELECT")
    const fields: Array<PathRef> = []
    for (;;) {
      fields.push(this.selectItem())
      if (this.peek().k !== ",") break
      this.next()
    }
    this.kw("FROM")
    const fromTok = this.expect("ident")
    if (fromTok.text.includes(".") || fromTok.text.includes(":")) throw unexpected(fromTok)
    const from = { path: fromTok.text, pos: fromTok.pos }
    if (this.peek().k === "ident" && !this.isClause(this.peek())) {
      const alias = this.next()
      throw new SoqlError("MALFORMED_QUERY", `unexpected token: '${alias.text}'`, alias.pos)
    }
    let where: Expr | undefined
    if (this.isKw("WHERE")) {
      this.next()
      where = this.orExpr()
    }
    if (this.isKw("WITH")) throw unexpected(this.peek())
    if (this.isKw("GROUP")) throw notInBulk("GROUP BY", this.peek().pos)
    if (this.isKw("HAVING")) throw notInBulk("HAVING", this.peek().pos)
    const orderBy: Array<OrderKey> = []
    if (this.isKw("ORDER")) {
      this.next()
      this.kw("BY")
      for (;;) {
        const t = this.expect("ident")
        let desc = false
        if (this.isKw("ASC")) this.next()
        else if (this.isKw("DESC")) {
          this.next()
          desc = true
        }
        let nullsLast = desc
        if (this.isKw("NULLS")) {
          this.next()
          if (this.isKw("FIRST")) nullsLast = false
          else if (this.isKw("LAST")) nullsLast = true
          else throw unexpected(this.peek())
          this.next()
        }
        orderBy.push({ field: { path: t.text, pos: t.pos }, desc, nullsLast })
        if (this.peek().k !== ",") break
        this.next()
      }
    }
    let limit: number | undefined
    if (this.isKw("LIMIT")) {
      this.next()
      const t = this.next()
      if (t.k !== "number" || !/^\d+$/.test(t.text)) throw unexpected(t)
      limit = Number(t.text)
    }
    if (this.isKw("OFFSET")) throw notInBulk("OFFSET", this.peek().pos)
    const end = this.peek()
    if (end.k !== (nested ? ")" : "eof")) throw unexpected(end)
    if (nested && (orderBy.length > 0 || limit !== undefined || fields.length !== 1)) throw unexpected(this.toks[this.i - 1]!)
    return { fields, from, where, orderBy, limit }
  }

  private isClause(t: Token): boolean {
    return ["WHERE", "ORDER", "LIMIT", "GROUP", "HAVING", "OFFSET", "WITH", "FOR", "USING"].includes(t.text.toUpperCase())
  }

  private selectItem(): PathRef {
    const t = this.peek()
    if (t.k === "(") {
      const inner = this.toks[this.i + 1]
      if (inner && this.isKw("SELECT", inner)) throw notInBulk("Aggregate Relationships", t.pos)
      throw unexpected(t)
    }
    if (t.k !== "ident" || RESERVED.has(t.text.toUpperCase())) throw unexpected(t)
    if (t.text.toUpperCase() === "TYPEOF") throw notInBulk("TYPEOF", t.pos)
    this.next()
    if (this.peek().k === "(") throw notInBulk("Aggregate queries", t.pos)
    if (this.isKw("FROM") || this.peek().k === ",") return { path: t.text, pos: t.pos }
    // `SELECT Id Name FROM ...`: an alias is only valid in aggregate queries.
    throw unexpected(this.peek())
  }

  private orExpr(): Expr {
    const first = this.notExpr()
    const connector = this.isKw("AND") ? "AND" : this.isKw("OR") ? "OR" : undefined
    if (!connector) return first
    const items = [first]
    while (this.isKw(connector)) {
      this.next()
      items.push(this.notExpr())
    }
    // SOQL requires parentheses when AND and OR are mixed.
    if (this.isKw("AND") || this.isKw("OR")) throw unexpected(this.peek())
    return { k: connector === "AND" ? "and" : "or", items }
  }

  private notExpr(): Expr {
    if (this.isKw("NOT")) {
      this.next()
      return { k: "not", e: this.notExpr() }
    }
    if (this.peek().k === "(") {
      this.next()
      const e = this.orExpr()
      this.expect(")")
      return e
    }
    return this.condition()
  }

  private condition(): Expr {
    const t = this.next()
    if (t.k !== "ident" || t.text.includes(":") || RESERVED.has(t.text.toUpperCase())) throw unexpected(t)
    const field = { path: t.text, pos: t.pos }
    if (this.peek().k === "(") throw new SoqlError("MALFORMED_QUERY", `unexpected token: '('`, this.peek().pos)
    const op = this.next()
    if (op.k === "op") return { k: "cmp", field, op: op.text === "<>" ? "!=" : op.text, value: this.literal() }
    const word = op.k === "ident" ? op.text.toUpperCase() : ""
    if (word === "LIKE") return { k: "like", field, value: this.literal() }
    if (word === "IN") return this.inOrSemi(field, false)
    if (word === "NOT" && this.isKw("IN")) {
      this.next()
      return this.inOrSemi(field, true)
    }
    if (word === "INCLUDES" || word === "EXCLUDES") {
      throw new SoqlError("INVALID_QUERY_FILTER_OPERATOR", `includes or excludes operator only valid on multipicklist field`, op.pos)
    }
    throw unexpected(op)
  }

  private inOrSemi(field: PathRef, negate: boolean): Expr {
    const open = this.peek()
    if (open.k === "(" && this.isKw("SELECT", this.toks[this.i + 1])) {
      this.next()
      const sub = this.parse(true)
      this.expect(")")
      return { k: "semi", field, negate, sub, pos: open.pos + 1 }
    }
    return { k: "in", field, negate, values: this.list() }
  }

  private list(): Array<Literal> {
    this.expect("(")
    const out: Array<Literal> = []
    for (;;) {
      out.push(this.literal())
      const t = this.next()
      if (t.k === ")") return out
      if (t.k !== ",") throw unexpected(t)
    }
  }

  private literal(): Literal {
    const t = this.next()
    switch (t.k) {
      case "string":
        return { t: "string", v: t.text, pos: t.pos, likeEscapes: t.likeEscapes ?? [] }
      case "number":
        return { t: "number", v: Number(t.text), pos: t.pos }
      case "date":
        return { t: "date", v: t.text, pos: t.pos }
      case "datetime":
        return { t: "datetime", v: t.text, pos: t.pos }
      case "ident": {
        const u = t.text.toUpperCase()
        if (u === "NULL") return { t: "null", pos: t.pos }
        if (u === "TRUE" || u === "FALSE") return { t: "boolean", v: u === "TRUE", pos: t.pos }
        if (RELATIVE.test(t.text)) return { t: "relative", v: u, pos: t.pos }
        throw unexpected(t)
      }
      default:
        throw unexpected(t)
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Binding and evaluation

/** Reads one (possibly relationship) field of a root-table slot. */
interface Accessor {
  readonly field: FieldInfo
  readonly canonical: string
  get(slot: number): Value
}

const noSuchColumn = (name: string, object: string): string =>
  `No such column '${name}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`

const badRelationship = (name: string): string =>
  `Didn't understand relationship '${name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`

const accessor = (org: Org, root: Table, ref: PathRef): Accessor => {
  const parts = ref.path.split(".")
  // `SELECT Account.Name FROM Account` may qualify fields with the object name.
  if (parts.length > 1 && parts[0]!.toLowerCase() === root.lower && !root.byRelationship.has(root.lower)) parts.shift()
  const hops: Array<FieldInfo> = []
  const names: Array<string> = []
  let t = root
  for (let p = 0; p < parts.length - 1; p++) {
    const rel = t.byRelationship.get(parts[p]!.toLowerCase())
    if (!rel || rel.refTables.length === 0) throw new SoqlError("INVALID_FIELD", badRelationship(parts[p]!), ref.pos)
    hops.push(rel)
    names.push(rel.def.relationshipName!)
    t = rel.refTables[0]!
  }
  const last = parts[parts.length - 1]!
  const field = t.field(last)
  if (!field) throw new SoqlError("INVALID_FIELD", noSuchColumn(last, t.name), ref.pos)
  names.push(field.name)
  const canonical = names.join(".")
  if (hops.length === 0) return { field, canonical, get: (slot) => root.get(slot, field) }
  const end = t
  return {
    field,
    canonical,
    get: (slot) => {
      let table = root
      let s = slot
      for (let h = 0; h < hops.length; h++) {
        const hop = hops[h]!
        const id = table.get(s, hop) as string | null
        if (id === null) return null
        const next = hop.refTables.length === 1 ? hop.refTables[0]! : org.tableForId(id)
        if (!next) return null
        const found = next.slotOf(id)
        if (found === undefined) return null
        table = next
        s = found
      }
      if (table === end) return table.get(s, field)
      const same = table.field(field.name)
      return same ? table.get(s, same) : null
    }
  }
}

type Predicate = (slot: number) => boolean

const TEXT_TYPES: ReadonlySet<FieldType> = new Set(["string", "textarea", "email", "phone", "url", "picklist"])
const NUMBER_TYPES: ReadonlySet<FieldType> = new Set(["int", "double", "currency", "percent"])

const DAY = 86_400_000

/** `[start, end)` in epoch days of a relative date literal, for `today` (epoch days, UTC). */
const relativeRange = (lit: string, today: number): readonly [number, number] => {
  const d = new Date(today * DAY)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  const days = (ms: number) => ms / DAY
  const weekStart = today - d.getUTCDay()
  const n = lit.includes(":") ? Number(lit.slice(lit.indexOf(":") + 1)) : 0
  switch (lit.replace(/:\d+$/, "")) {
    case "TODAY":
      return [today, today + 1]
    case "YESTERDAY":
      return [today - 1, today]
    case "TOMORROW":
      return [today + 1, today + 2]
    case "LAST_WEEK":
      return [weekStart - 7, weekStart]
    case "THIS_WEEK":
      return [weekStart, weekStart + 7]
    case "NEXT_WEEK":
      return [weekStart + 7, weekStart + 14]
    case "LAST_MONTH":
      return [days(Date.UTC(y, m - 1, 1)), days(Date.UTC(y, m, 1))]
    case "THIS_MONTH":
      return [days(Date.UTC(y, m, 1)), days(Date.UTC(y, m + 1, 1))]
    case "NEXT_MONTH":
      return [days(Date.UTC(y, m + 1, 1)), days(Date.UTC(y, m + 2, 1))]
    case "LAST_YEAR":
      return [days(Date.UTC(y - 1, 0, 1)), days(Date.UTC(y, 0, 1))]
    case "THIS_YEAR":
      return [days(Date.UTC(y, 0, 1)), days(Date.UTC(y + 1, 0, 1))]
    case "NEXT_YEAR":
      return [days(Date.UTC(y + 1, 0, 1)), days(Date.UTC(y + 2, 0, 1))]
    case "LAST_90_DAYS":
      return [today - 90, today + 1]
    case "NEXT_90_DAYS":
      return [today + 1, today + 91]
    case "LAST_N_DAYS":
      return [today - n, today + 1]
    default: // NEXT_N_DAYS
      return [today + 1, today + 1 + n]
  }
}

const typeName = (f: FieldInfo): string => {
  switch (f.type) {
    case "int":
    case "double":
    case "currency":
    case "percent":
      return "double"
    case "datetime":
      return "dateTime"
    default:
      return f.type
  }
}

class Compiler {
  private readonly accessors = new Map<string, Accessor>()
  constructor(private readonly org: Org, private readonly root: Table) {}

  access(ref: PathRef): Accessor {
    const key = ref.path.toLowerCase()
    let a = this.accessors.get(key)
    if (!a) {
      a = accessor(this.org, this.root, ref)
      this.accessors.set(key, a)
    }
    return a
  }

  predicate(e: Expr): Predicate {
    switch (e.k) {
      case "and": {
        const ps = e.items.map((x) => this.predicate(x))
        if (ps.length === 2) {
          const [a, b] = ps as [Predicate, Predicate]
          return (s) => a(s) && b(s)
        }
        return (s) => {
          for (const p of ps) if (!p(s)) return false
          return true
        }
      }
      case "or": {
        const ps = e.items.map((x) => this.predicate(x))
        return (s) => {
          for (const p of ps) if (p(s)) return true
          return false
        }
      }
      case "not": {
        const p = this.predicate(e.e)
        return (s) => !p(s)
      }
      case "like":
        return this.like(e.field, e.value)
      case "in":
        return this.inList(e.field, e.negate, e.values)
      case "semi":
        return this.semiJoin(e.field, e.negate, e.sub)
      case "cmp":
        return this.compare(e.field, e.op, e.value)
    }
  }

  private mismatch(f: FieldInfo, lit: Literal): SoqlError {
    if (lit.t === "string") {
      return new SoqlError(
        "INVALID_FIELD",
        `value of filter criterion for field '${f.name}' must be of type ${typeName(f)} and should not be enclosed in quotes`,
        lit.pos
      )
    }
    return new SoqlError(
      "INVALID_FIELD",
      `value of filter criterion for field '${f.name}' must be of type ${typeName(f)}${
        TEXT_TYPES.has(f.type) || f.type === "id" || f.type === "reference" ? " and should be enclosed in quotes" : ""
      }`,
      lit.pos
    )
  }

  /** The stored-form constant for a literal compared with field `f`, or a relative date range. */
  private constant(f: FieldInfo, lit: Literal): Value | readonly [number, number] {
    if (lit.t === "null") return null
    if (TEXT_TYPES.has(f.type)) {
      if (lit.t !== "string") throw this.mismatch(f, lit)
      return lit.v.toLowerCase()
    }
    if (f.type === "id" || f.type === "reference") {
      if (lit.t !== "string") throw this.mismatch(f, lit)
      if (!isValidId(lit.v)) throw new SoqlError("INVALID_QUERY_FILTER_OPERATOR", `invalid ID field: ${lit.v}`, lit.pos)
      return to15(lit.v)
    }
    if (NUMBER_TYPES.has(f.type)) {
      if (lit.t !== "number") throw this.mismatch(f, lit)
      return lit.v
    }
    if (f.type === "boolean") {
      if (lit.t !== "boolean") throw this.mismatch(f, lit)
      return lit.v
    }
    const today = Math.floor(this.org.now() / DAY)
    if (f.type === "date") {
      if (lit.t === "date") {
        const days = parseDate(lit.v)
        if (days === undefined) {
          throw new SoqlError("MALFORMED_QUERY", `line 1:${lit.pos} no viable alternative at character '${lit.v}'`, lit.pos)
        }
        return days
      }
      if (lit.t === "relative") return relativeRange(lit.v, today)
      throw this.mismatch(f, lit)
    }
    if (f.type === "datetime") {
      if (lit.t === "datetime") {
        const ms = parseDateTime(lit.v)
        if (ms === undefined) {
          throw new SoqlError("MALFORMED_QUERY", `line 1:${lit.pos} no viable alternative at character '${lit.v}'`, lit.pos)
        }
        return ms
      }
      if (lit.t === "relative") {
        const [a, b] = relativeRange(lit.v, today)
        return [a * DAY, b * DAY]
      }
      throw this.mismatch(f, lit)
    }
    throw this.mismatch(f, lit)
  }

  private compare(ref: PathRef, op: string, lit: Literal): Predicate {
    const a = this.access(ref)
    const f = a.field
    const c = this.constant(f, lit)
    const get = a.get
    if (Array.isArray(c)) {
      const [lo, hi] = c as readonly [number, number]
      const num = (s: number) => get(s) as number | null
      switch (op) {
        case "=":
          return (s) => {
            const v = num(s)
            return v !== null && v >= lo && v < hi
          }
        case "!=":
          return (s) => {
            const v = num(s)
            return v === null || v < lo || v >= hi
          }
        case "<":
          return (s) => {
            const v = num(s)
            return v !== null && v < lo
          }
        case "<=":
          return (s) => {
            const v = num(s)
            return v !== null && v < hi
          }
        case ">":
          return (s) => {
            const v = num(s)
            return v !== null && v >= hi
          }
        default:
          return (s) => {
            const v = num(s)
            return v !== null && v >= lo
          }
      }
    }
    const k = c as Value
    const text = TEXT_TYPES.has(f.type)
    const norm: (s: number) => Value = text
      ? (s) => {
        const v = get(s)
        return v === null ? null : (v as string).toLowerCase()
      }
      : get
    if (k === null) {
      if (op === "=") return (s) => get(s) === null
      if (op === "!=") return (s) => get(s) !== null
      return () => false
    }
    switch (op) {
      case "=":
        return (s) => norm(s) === k
      case "!=":
        return (s) => norm(s) !== k
      case "<":
        return (s) => {
          const v = norm(s)
          return v !== null && v < k
        }
      case "<=":
        return (s) => {
          const v = norm(s)
          return v !== null && v <= k
        }
      case ">":
        return (s) => {
          const v = norm(s)
          return v !== null && v > k
        }
      default:
        return (s) => {
          const v = norm(s)
          return v !== null && v >= k
        }
    }
  }

  private inList(ref: PathRef, negate: boolean, lits: ReadonlyArray<Literal>): Predicate {
    const a = this.access(ref)
    const f = a.field
    const set = new Set<Value>()
    for (const lit of lits) {
      const c = this.constant(f, lit)
      if (Array.isArray(c)) throw new SoqlError("MALFORMED_QUERY", `unexpected token: '${(lit as { v: string }).v}'`, lit.pos)
      set.add(c as Value)
    }
    const text = TEXT_TYPES.has(f.type)
    const get = a.get
    const has = text
      ? (s: number) => {
        const v = get(s)
        return set.has(v === null ? null : (v as string).toLowerCase())
      }
      : (s: number) => set.has(get(s))
    return negate ? (s) => !has(s) : has
  }

  /** `Field [NOT] IN (SELECT IdField FROM Object WHERE ...)`: the sub-select runs once, over live rows. */
  private semiJoin(ref: PathRef, negate: boolean, sub: Ast): Predicate {
    const a = this.access(ref)
    if (a.field.type !== "id" && a.field.type !== "reference") {
      throw new SoqlError(
        "INVALID_FIELD",
        `Semi join sub-selects are only allowed on Id or reference fields, not on ${a.field.name}`,
        ref.pos
      )
    }
    const root = subRoot(this.org, sub)
    const inner = new Compiler(this.org, root)
    const selected = inner.access(sub.fields[0]!)
    if (selected.field.type !== "id" && selected.field.type !== "reference") {
      throw new SoqlError(
        "INVALID_FIELD",
        `The selected field in a semi join sub-select must be an Id or reference field, not ${selected.canonical}`,
        sub.fields[0]!.pos
      )
    }
    const where = sub.where ? inner.predicate(sub.where) : undefined
    const ids = new Set<Value>()
    for (let s = 0; s < root.size; s++) {
      if (root.state[s] !== LIVE || (where && !where(s))) continue
      const v = selected.get(s)
      if (v !== null) ids.add(v)
    }
    const get = a.get
    return negate ? (s) => !ids.has(get(s)) : (s) => ids.has(get(s))
  }

  private like(ref: PathRef, lit: Literal): Predicate {
    const a = this.access(ref)
    const f = a.field
    if (!TEXT_TYPES.has(f.type) && f.type !== "id" && f.type !== "reference") {
      throw new SoqlError("INVALID_FIELD", `invalid operator on ${typeName(f)} field: LIKE`, lit.pos)
    }
    if (lit.t === "null") return () => false
    if (lit.t !== "string") throw this.mismatch(f, lit)
    const escaped = new Set(lit.likeEscapes)
    let re = "^"
    for (let i = 0; i < lit.v.length; i++) {
      const ch = lit.v[i]!
      if (!escaped.has(i) && ch === "%") re += "[\\s\\S]*"
      else if (!escaped.has(i) && ch === "_") re += "[\\s\\S]"
      else re += ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")
    }
    const regex = new RegExp(`${re}$`, "i")
    const get = a.get
    return (s) => {
      const v = get(s)
      return v !== null && regex.test(v as string)
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Running

const compareValues = (a: Value, b: Value): number => (a! < b! ? -1 : a! > b! ? 1 : 0)

/** Runs a query against the org: parse, bind, filter, sort, limit; rows render lazily. */
export const runQuery = (
  org: Org,
  soql: string,
  options: { readonly all?: boolean; readonly idRange?: { readonly lo?: string; readonly hi?: string } }
): { readonly ok: true; readonly result: QueryResult } | { readonly ok: false; readonly error: ModelError } => {
  try {
    return { ok: true, result: execute(org, soql, options) }
  } catch (e) {
    if (e instanceof SoqlError) return { ok: false, error: { errorCode: e.errorCode, message: located(soql, e.pos, e.detail) } }
    throw e
  }
}

/** The table a (sub-)query selects from. */
const subRoot = (org: Org, ast: Ast): Table => {
  const root = org.table(ast.from.path)
  if (!root) {
    throw new SoqlError(
      "INVALID_TYPE",
      `sObject type '${ast.from.path}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      ast.from.pos
    )
  }
  return root
}

const execute = (
  org: Org,
  soql: string,
  options: { readonly all?: boolean; readonly idRange?: { readonly lo?: string; readonly hi?: string } }
): QueryResult => {
  const ast = new Parser(lex(soql)).parse()
  const root = subRoot(org, ast)
  const compiler = new Compiler(org, root)
  const columns = ast.fields.map((f) => compiler.access(f))
  const seen = new Set<string>()
  for (let c = 0; c < columns.length; c++) {
    const key = columns[c]!.canonical.toLowerCase()
    if (seen.has(key)) throw new SoqlError("INVALID_FIELD", `duplicate field selected: ${columns[c]!.canonical}`, ast.fields[c]!.pos)
    seen.add(key)
  }
  const where = ast.where ? compiler.predicate(ast.where) : undefined
  const order = ast.orderBy.map((o) => ({ ...o, access: compiler.access(o.field) }))

  const start = options.idRange?.lo ? root.lowerBound(to15(options.idRange.lo)) : 0
  const end = options.idRange?.hi ? root.lowerBound(to15(options.idRange.hi)) : root.size
  const all = options.all === true
  const limit = ast.limit
  const earlyStop = order.length === 0 && limit !== undefined ? limit : Infinity
  const state = root.state
  let matches = new Int32Array(Math.max(16, Math.min(end - start, 1 << 16)))
  let m = 0
  for (let s = start; s < end && m < earlyStop; s++) {
    const st = state[s]
    if (st === GONE || (st === DELETED && !all) || (st !== LIVE && st !== DELETED)) continue
    if (where && !where(s)) continue
    if (m === matches.length) {
      const next = new Int32Array(matches.length * 2)
      next.set(matches)
      matches = next
    }
    matches[m++] = s
  }
  let slots: Int32Array = matches.subarray(0, m)
  if (order.length > 0) slots = sortSlots(slots, order)
  if (limit !== undefined && slots.length > limit) slots = slots.subarray(0, limit)
  const size = slots.length
  const fields = columns.map((c) => c.field)
  const getters = columns.map((c) => c.get)
  const n = getters.length
  return {
    object: root.name,
    columns: columns.map((c) => c.canonical),
    types: fields.map((f) => f.type),
    size,
    row(index: number): ReadonlyArray<QueryValue> {
      const s = slots[index]!
      const out = new Array<QueryValue>(n)
      for (let c = 0; c < n; c++) out[c] = render(fields[c]!, getters[c]!(s))
      return out
    },
    id(index: number): string {
      return to18(root.ids[slots[index]!]!)
    }
  }
}

const sortSlots = (
  slots: Int32Array,
  order: ReadonlyArray<{ readonly desc: boolean; readonly nullsLast: boolean; readonly access: Accessor }>
): Int32Array => {
  const n = slots.length
  const keys = order.map((o) => {
    const text = TEXT_TYPES.has(o.access.field.type)
    const arr = new Array<Value>(n)
    for (let i = 0; i < n; i++) {
      const v = o.access.get(slots[i]!)
      arr[i] = text && v !== null ? (v as string).toLowerCase() : v
    }
    return { arr, dir: o.desc ? -1 : 1, nullsLast: o.nullsLast }
  })
  const idx = new Int32Array(n)
  for (let i = 0; i < n; i++) idx[i] = i
  idx.sort((a, b) => {
    for (const k of keys) {
      const va = k.arr[a]!
      const vb = k.arr[b]!
      if (va === vb) continue
      if (va === null) return k.nullsLast ? 1 : -1
      if (vb === null) return k.nullsLast ? -1 : 1
      const c = compareValues(va, vb)
      if (c !== 0) return c * k.dir
    }
    return a - b
  })
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = slots[idx[i]!]!
  return out
}
