import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checksum, decodeBase62, encodeBase62, IdGenerator, isValidId, keyPrefix, to15, to18 } from "../src/internal/ids.js"

describe("Salesforce ids", () => {
  it("appends Salesforce's case-safety checksum", () => {
    // Known pair from Salesforce documentation and community tools.
    expect(to18("001A0000006Vm9r")).toBe("001A0000006Vm9rIAC")
    // Derived by hand from the algorithm: per 5-char group, bit i set when char i is A-Z.
    expect(checksum("ABCDE00000A0000")).toBe("5AB")
    expect(checksum("0000Z0000a0000b")).toBe("QAA")
    expect(checksum("00000000000000Z")).toBe("AAQ")
    expect(checksum("aaaaaAAAAAzzzzz")).toBe("A5A")
  })

  it("converts between 15 and 18 characters without changing the 15-character part", () => {
    expect(to15("001A0000006Vm9rIAC")).toBe("001A0000006Vm9r")
    expect(to15("001A0000006Vm9r")).toBe("001A0000006Vm9r")
    expect(to18("001A0000006Vm9rIAC")).toBe("001A0000006Vm9rIAC")
    expect(keyPrefix("001A0000006Vm9rIAC")).toBe("001")
  })

  it("validates format and checksum", () => {
    expect(isValidId("001A0000006Vm9r")).toBe(true)
    expect(isValidId("001A0000006Vm9rIAC")).toBe(true)
    expect(isValidId("001A0000006Vm9riac")).toBe(true) // suffix is case-insensitive
    expect(isValidId("001A0000006Vm9rAAA")).toBe(false)
    expect(isValidId("001A0000006Vm9")).toBe(false)
    expect(isValidId("001A0000006Vm9r-")).toBe(false)
    expect(isValidId("001A0000006Vm-r")).toBe(false)
    expect(isValidId("")).toBe(false)
  })

  it("round-trips base-62 numbers", () => {
    for (const n of [0, 1, 61, 62, 3843, 3844, 1_000_000, 2 ** 40]) expect(decodeBase62(encodeBase62(n, 9))).toBe(n)
    expect(() => encodeBase62(62, 1)).toThrow(RangeError)
    expect(decodeBase62("ab-")).toBeNaN()
  })

  it("generates valid ids per key prefix that sort by string comparison in creation order", () => {
    const gen = new IdGenerator()
    const ids: Array<string> = []
    // Cross the digit -> upper-case -> lower-case boundaries of the alphabet several times.
    for (let i = 0; i < 5000; i++) ids.push(gen.next("750"))
    expect(ids.every((id) => id.length === 18 && id.startsWith("750") && isValidId(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    const fifteen = ids.map(to15)
    expect([...fifteen].sort()).toEqual(fifteen)
    expect(gen.next("751").startsWith("751")).toBe(true)
    expect(gen.peek15("750")).toBe(to15(gen.next("750")))
  })

  it("rejects bad key prefixes", () => {
    expect(() => new IdGenerator().next("75")).toThrow(RangeError)
    expect(() => new IdGenerator("5-0")).toThrow(RangeError)
  })

  it("orders encoded counters like the numbers (property)", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 45 }), fc.nat({ max: 2 ** 45 }), (a, b) => {
        const ea = encodeBase62(a, 9)
        const eb = encodeBase62(b, 9)
        expect(ea < eb).toBe(a < b)
        expect(decodeBase62(ea)).toBe(a)
      })
    )
  })
})
