import { describe, expect, it } from "@effect/vitest"
import * as Soql from "../src/Soql.js"

describe("Soql", () => {
  it("quotes and escapes string literals", () => {
    expect(Soql.literal("O'Brien")).toBe("'O\\'Brien'")
    expect(Soql.literal("back\\slash")).toBe("'back\\\\slash'")
    expect(Soql.literal("say \"hi\"\nnow\t\r")).toBe("'say \\\"hi\\\"\\nnow\\t\\r'")
  })

  it("writes numbers, booleans, null, dates and IN lists", () => {
    expect(Soql.literal(42)).toBe("42")
    expect(Soql.literal(-1.5)).toBe("-1.5")
    expect(Soql.literal(true)).toBe("true")
    expect(Soql.literal(null)).toBe("null")
    expect(Soql.literal(undefined)).toBe("null")
    expect(Soql.literal(new Date("2026-01-02T03:04:05.678Z"))).toBe("2026-01-02T03:04:05Z")
    expect(Soql.literal(["a", "b'c", 3])).toBe("('a','b\\'c',3)")
    expect(Soql.date(new Date("2026-01-02T23:00:00Z")).text).toBe("2026-01-02")
  })

  it("refuses values SOQL cannot express", () => {
    expect(() => Soql.literal(Number.NaN)).toThrow(RangeError)
    expect(() => Soql.literal(Infinity)).toThrow(RangeError)
    expect(() => Soql.literal([])).toThrow(RangeError)
    expect(() => Soql.literal(new Date("nope"))).toThrow(RangeError)
    expect(() => Soql.date("2026-1-2")).toThrow(RangeError)
    expect(() => Soql.identifier("Name FROM User --")).toThrow(RangeError)
  })

  it("escapes LIKE wildcards so they match literally", () => {
    expect(Soql.like("50%_off")).toBe("'%50\\%\\_off%'")
    expect(Soql.like("50%", "startsWith")).toBe("'50\\%%'")
    expect(Soql.like("x", "endsWith")).toBe("'%x'")
    expect(Soql.like("a_b", "exact")).toBe("'a\\_b'")
    expect(Soql.like("it's\\")).toBe("'%it\\'s\\\\%'")
  })

  it("the soql template escapes every interpolated value", () => {
    const name = "x' OR Name != '"
    const q = Soql.soql`SELECT Id FROM Account WHERE Name = ${name} AND Type IN ${["A", "B"]} AND NumberOfEmployees > ${10}`
    expect(q).toBe("SELECT Id FROM Account WHERE Name = 'x\\' OR Name != \\'' AND Type IN ('A','B') AND NumberOfEmployees > 10")
    expect(Soql.soql`SELECT ${Soql.identifier("Account.Name")} FROM Contact WHERE Name LIKE ${Soql.startsWith("Ac%")}`)
      .toBe("SELECT Account.Name FROM Contact WHERE Name LIKE 'Ac\\%%'")
  })

  it("injection attempts stay inside one string literal", () => {
    const attempts = [
      "' OR '1'='1",
      "\\' OR Id != null --",
      "\\\\' OR Id != null",
      "x'); DELETE FROM Account; --",
      "%' OR Name LIKE '%",
      "\n' OR Id != null"
    ]
    for (const a of attempts) {
      const lit = Soql.literal(a)
      // Re-read the literal with SOQL's escape rules: it must be one literal spanning the whole text
      // and decode back to the input.
      expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true)
      let decoded = ""
      let i = 1
      for (; i < lit.length - 1; i++) {
        const c = lit[i]!
        if (c === "'") break // an unescaped quote would end the literal early
        if (c === "\\") {
          const n = lit[++i]!
          decoded += ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" } as Record<string, string>)[n] ?? n
        } else decoded += c
      }
      expect(i).toBe(lit.length - 1)
      expect(decoded).toBe(a)
    }
  })
})
