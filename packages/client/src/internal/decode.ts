/**
 * Typed query rows: CSV strings -> the encoded shape a user's Schema expects (numbers, booleans,
 * nulls, `Date`s, nested relationship structs), then `Schema.decode`. The coercion is guided by the
 * Schema's encoded side, so `Schema.Number` gets a number, `Schema.NumberFromString` the text.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { RowDecodeError } from "../BulkError.js"

const unwrap = (ast: AST.AST): AST.AST =>
  AST.isTransformation(ast) ? unwrap(ast.from) : AST.isRefinement(ast) ? unwrap(ast.from) : AST.isSuspend(ast) ? unwrap(ast.f()) : ast

const members = (ast: AST.AST): ReadonlyArray<AST.AST> => {
  const t = unwrap(ast)
  return AST.isUnion(t) ? t.types.flatMap(members) : [t]
}

type Kind = "string" | "number" | "boolean" | "date" | "struct"

interface Field {
  readonly name: string
  readonly nullable: boolean
  readonly optional: boolean
  readonly kind: Kind
  readonly children: ReadonlyArray<Field>
}

const fieldsOf = (ast: AST.AST): ReadonlyArray<Field> | undefined => {
  const t = unwrap(ast)
  if (!AST.isTypeLiteral(t)) return undefined
  return t.propertySignatures.map((ps): Field => {
    const ms = members(ps.type)
    const nullable = ms.some((m) => AST.isLiteral(m) && m.literal === null)
    const optional = ps.isOptional || ms.some(AST.isUndefinedKeyword)
    const rest = ms.filter((m) => !(AST.isLiteral(m) && m.literal === null) && !AST.isUndefinedKeyword(m))
    const struct = rest.length === 1 ? fieldsOf(rest[0]!) : undefined
    const has = (p: (m: AST.AST) => boolean) => rest.length > 0 && rest.some(p)
    const kind: Kind = struct
      ? "struct"
      : has((m) => AST.isStringKeyword(m) || AST.isTemplateLiteral(m) || (AST.isLiteral(m) && typeof m.literal === "string"))
      ? "string"
      : has((m) => AST.isNumberKeyword(m) || (AST.isLiteral(m) && typeof m.literal === "number"))
      ? "number"
      : has((m) => AST.isBooleanKeyword(m) || (AST.isLiteral(m) && typeof m.literal === "boolean"))
      ? "boolean"
      : has((m) => AST.isDeclaration(m))
      ? "date"
      : "string"
    return { name: String(ps.name), nullable, optional, kind, children: struct ?? [] }
  })
}

const coerce = (kind: Kind, s: string): unknown => {
  switch (kind) {
    case "number": {
      const n = Number(s)
      return s.trim() === "" || Number.isNaN(n) ? s : n
    }
    case "boolean":
      return s === "true" ? true : s === "false" ? false : s
    case "date": {
      const d = new Date(s)
      return Number.isNaN(d.getTime()) ? s : d
    }
    default:
      return s
  }
}

/**
 * Builds a decoder of CSV query rows (`Account.Name` style keys) into the Schema's type. Relationship
 * columns become nested objects (`{ Account: { Name } }`); a relationship whose values are all empty
 * becomes `null` when the Schema allows it. Column names match case-insensitively.
 */
export const rowDecoder = <A, I>(schema: Schema.Schema<A, I, never>, jobId?: string) => {
  const fields = fieldsOf(AST.encodedAST(schema.ast))
  if (!fields) throw new Error("the query Schema must be a Struct")
  const decode = Schema.decodeUnknownEither(schema)
  let keyMap: Map<string, string> | undefined
  const lookup = (row: Record<string, string>, column: string): string | undefined => {
    const direct = row[column]
    if (direct !== undefined) return direct
    if (!keyMap) keyMap = new Map(Object.keys(row).map((k) => [k.toLowerCase(), k]))
    const k = keyMap.get(column.toLowerCase())
    return k === undefined ? undefined : row[k]
  }
  const build = (
    row: Record<string, string>,
    fs: ReadonlyArray<Field>,
    prefix: string
  ): { value: Record<string, unknown>; empty: boolean } => {
    const out: Record<string, unknown> = {}
    let empty = true
    for (const f of fs) {
      const column = prefix + f.name
      if (f.kind === "struct") {
        const nested = build(row, f.children, `${column}.`)
        if (nested.empty && f.nullable) out[f.name] = null
        else if (!(nested.empty && f.optional)) out[f.name] = nested.value
        if (!nested.empty) empty = false
        continue
      }
      const s = lookup(row, column)
      if (s === undefined || s === "") {
        if (f.nullable) out[f.name] = null
        else if (!f.optional && s !== undefined) out[f.name] = ""
        continue
      }
      empty = false
      out[f.name] = coerce(f.kind, s)
    }
    return { value: out, empty }
  }
  return (row: Record<string, string>, index: number): Either.Either<A, RowDecodeError> => {
    const value = build(row, fields, "").value
    const r = decode(value)
    if (Either.isRight(r)) return Either.right(r.right)
    const issue = ParseResult.ArrayFormatter.formatErrorSync(r.left)[0]
    const field = issue?.path.map(String).join(".") ?? ""
    const raw = field === "" ? undefined : lookup(row, field)
    return Either.left(
      new RowDecodeError({
        row: index,
        field,
        description: issue?.message ?? r.left.message,
        ...(raw === undefined ? {} : { value: raw }),
        ...(jobId === undefined ? {} : { jobId })
      })
    )
  }
}
