/**
 * Break session 10b: the sort behind `orderByParent` storing typed rows as JSON text (spoolSort.ts
 * `jsonText`/`tagValue`/`revive`: Dates and undefined tagged, class instances' prototypes from a
 * table), attacked with rows that round-trip differently through JSON than through `v8.serialize` or
 * not at all, and, end to end over the emulator, with typed rows whose records must land the same
 * with `orderByParent` as without.
 *
 * "finds": each test fails on the code as committed and names the defect. "held": attacks that held,
 * kept as regression tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BulkClient } from "@sfbulk/client"
import { Emulator } from "@sfbulk/emulator"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Vm from "node:vm"
import { InvalidInputError } from "../packages/client/src/BulkError.js"
import { makeLineEncoder } from "../packages/client/src/internal/rows.js"
import { sortedBy, type SortLimits } from "../packages/client/src/internal/spoolSort.js"
import { clientLayer, collect, type Emu, fast } from "./EmulatorSupport.js"
import { withOwnTmpdir } from "./FaultsSupport.js"

const withTmp = <A, E>(f: (tmp: string) => Effect.Effect<A, E>): Effect.Effect<A, E> => withOwnTmpdir("sfbulk-break10b-", f)

/** The sort's two ways to hold rows: one run in memory, or every row its own run file (merged). */
const MODES: ReadonlyArray<readonly [string, SortLimits]> = [["one run in memory", {}], ["run files merged", { runRows: 1 }]]

/** `rows` through the sort, every row under one key (input order kept: out[i] is rows[i]). */
const roundTrip = <A>(rows: ReadonlyArray<A>, limits: SortLimits) =>
  withTmp(() => collect(sortedBy(Stream.fromIterable(rows), () => "k", limits)))

/** One attack, run in both modes: `check(out, input)`. */
const attack = <A>(
  name: string,
  make: () => ReadonlyArray<A>,
  check: (out: ReadonlyArray<A>, input: ReadonlyArray<A>) => void
) => {
  for (const [mode, limits] of MODES) {
    it.effect(`${name} (${mode})`, () =>
      Effect.gen(function*() {
        const input = make()
        check(yield* roundTrip(input, limits), input)
      }))
  }
}

/** The CSV cells the encoder writes for `rows` (no Schema: the first row's keys are the columns). */
const cellsOf = (rows: ReadonlyArray<unknown>): Array<Array<string>> => Effect.runSync(makeLineEncoder({}, rows[0]).cells(rows, 0))

/** How an exit ended, for an assertion: "success", or "fail <tag>: <message>", or "die ...". */
const endOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") {
    const e = failure.value as { readonly _tag?: string; readonly message?: string }
    return `fail ${e._tag ?? ""}: ${e.message ?? String(e)}`
  }
  return `die ${Cause.pretty(exit.cause)}`
}

/** The emulator, its parents (each with an external id), and what landed under a tag. */
const emulated = () => {
  const s = {
    emu: undefined as Emu | undefined,
    layer: undefined as Layer.Layer<BulkClient.BulkClient> | undefined,
    parents: [] as Array<{ readonly id: string; readonly ext: string }>
  }
  beforeAll(async () => {
    s.emu = await Emulator.start({ latencyMs: 0 })
    for (let i = 0; i < 3; i++) {
      const out = s.emu.org.apply("insert", "Account", { Name: `B10b parent ${i}`, ExternalId__c: `b10b-ext-${i}` })
      if (!out.success) throw new Error("seed failed")
      s.parents.push({ id: out.id, ext: `b10b-ext-${i}` })
    }
    s.layer = clientLayer(s.emu)
  })
  afterAll(async () => {
    await s.emu?.close()
  })
  /** The Contacts named `${tag}-…`: name (without the tag), parent, birthdate, description; by name. */
  const landed = (tag: string): Array<string> => {
    const q = s.emu!.org.query(
      `SELECT LastName, AccountId, Birthdate, Description FROM Contact WHERE LastName LIKE '${tag}-%' ORDER BY LastName`
    )
    if (!q.ok) throw new Error(q.error.message)
    return Array.from({ length: q.result.size }, (_, i) => q.result.row(i).map(String).join("|").slice(tag.length))
  }
  return { s, landed }
}

// ---------------------------------------------------------------------------------------------
// finds
// ---------------------------------------------------------------------------------------------

describe("finds", () => {
  // `tagValue` takes the key "" for the replacer's root call (`if (k === "") return v`), but a row's
  // own property named "" reaches the replacer with k === "" too: its Date is left to Date#toJSON
  // (an ISO string) and its undefined is dropped, while the form byte still says "tagged". The row
  // comes back with a string where it had a Date, or without the property. (A Schema with a ""
  // field then fails to encode the sorted row.) Fix: tell the root call apart by its holder
  // (`this[""] === row` is not enough; e.g. a flag set on the first call), or tag with
  // JSON.stringify's replacer only below the root.
  attack(
    "a row's property named \"\" holding a Date or undefined comes back as it went in",
    () => [{ "": new Date(5), a: "x" }, { "": undefined, a: "y" }],
    (out, input) => {
      // was: '1970-01-01T00:00:00.005Z' (a string); { a: "y" } (the "" property gone)
      expect(out).toStrictEqual(input)
      expect(Object.keys(out[1]!)).toEqual(["", "a"])
    }
  )

  // `jsonText` checks `toJSON` only on rows that are not plain objects (`p !== Object.prototype &&
  // typeof row.toJSON === "function"`): a plain row with a non-enumerable own `toJSON` (invisible to
  // for-in, to Object.keys and so to the CSV encoder) is stored as what its `toJSON` returns. The
  // row comes back as another object: here, another column. Fix: check `toJSON` on every row (one
  // property read).
  attack(
    "a plain row with a non-enumerable toJSON comes back as the row, not as its toJSON",
    () => [Object.defineProperty({ LastName: "x", AccountId: "001" }, "toJSON", { value: () => ({ Other: "y" }) })],
    (out, input) => {
      // was: { Other: "y" }
      expect(Object.keys(out[0]!)).toEqual(["LastName", "AccountId"])
      expect(cellsOf(out)).toEqual(cellsOf(input))
    }
  )

  // `jsonText` and `tagValue` read a Date's time with `v.getTime()`, the method as the instance sees
  // it; the CSV encoder writes `toISOString()` (the internal time value). A Date whose `getTime` is
  // shadowed on the instance (a mock, a "frozen clock" helper) is stored with the shadow's time and
  // the CSV then carries another date than without orderByParent. (v8.serialize reads the internal
  // value.) Fix: `Date.prototype.getTime.call(v)` in both.
  attack(
    "a Date whose getTime is shadowed on the instance keeps its own time (the date the CSV carries)",
    () => {
      const d = new Date(Date.UTC(1990, 4, 6))
      Object.defineProperty(d, "getTime", { value: () => 0, enumerable: false })
      return [{ LastName: "x", Birthdate: d }]
    },
    (out, input) => {
      // was: 1970-01-01T00:00:00.000Z
      expect(cellsOf(out)).toEqual(cellsOf(input))
      expect(cellsOf(out)[0]![1]).toBe("1990-05-06T00:00:00.000Z")
    }
  )

  // `revive` gives tagged values back with `for (const k in r)`, which also walks Object.prototype's
  // enumerable properties: with one holding a Date (a polluted or shimmed environment), every
  // tagged row gains an own property of that name set to undefined. The CSV encoder, which reads
  // own keys, then takes it as a column: the job fails "Field name not found" (seen end to end:
  // `InvalidBatch : Field name not found : polluted`), without orderByParent it succeeds. Fix:
  // `for (const k of Object.keys(r))` (JSON.parse makes own properties only).
  for (const [mode, limits] of MODES) {
    it.effect(`Object.prototype holding an enumerable Date: a tagged row gains no own property (${mode})`, () =>
      Effect.gen(function*() {
        const input = [{ LastName: "x", Birthdate: new Date(0), Description: undefined }]
        const out = yield* Effect.acquireUseRelease(
          Effect.sync(() =>
            Object.defineProperty(Object.prototype, "polluted", {
              value: new Date(0),
              enumerable: true,
              configurable: true,
              writable: true
            })
          ),
          () => roundTrip(input, limits),
          () => Effect.sync(() => delete (Object.prototype as Record<string, unknown>)["polluted"])
        )
        // was: ["LastName", "Birthdate", "Description", "polluted"]
        expect(Object.keys(out[0]!)).toEqual(["LastName", "Birthdate", "Description"])
      }))
  }

  describe("through BulkClient", () => {
    const { landed, s } = emulated()

    // A typed row holding an Effect value (Schema.OptionFromNullOr's Option, Schema.DateTimeUtc's
    // DateTime.Utc: the Type side of common Schemas) is not flat, so the sort stores it through
    // v8.serialize, which keeps own enumerable properties only: the value comes back a plain object
    // (`{}` for Option.none(), `{ value }` for Option.some) and the Schema no longer encodes the row
    // ("Expected Option<string>, actual {}"). Without orderByParent the same rows insert. Only the
    // row's own prototype is given back (`protos`), not its values'. Fix: give nested values'
    // prototypes back too (a prototype table per value path, as for rows), or sort Schema rows in
    // their encoded form (encode before the sort, so the sort sees plain JSON values).
    it.live(
      "a typed row holding Option and DateTime values (a Schema's Type side): the same records land with orderByParent as without",
      () =>
        Effect.gen(function*() {
          const Row = Schema.Struct({
            LastName: Schema.String,
            AccountId: Schema.String,
            Birthdate: Schema.NullOr(Schema.DateTimeUtc),
            Description: Schema.OptionFromNullOr(Schema.String)
          })
          const rows = (tag: string) =>
            Array.from({ length: 6 }, (_, i): typeof Row.Type => ({
              LastName: `${tag}-${i}`,
              AccountId: s.parents[i % 3]!.id,
              Birthdate: i % 3 === 0 ? null : DateTime.unsafeMake(Date.UTC(1990, 0, i + 1)),
              Description: i % 2 === 0 ? Option.none() : Option.some(`d${i}`)
            }))
          const plain = yield* Effect.exit(BulkClient.insert("Contact", rows("b10bopt-a"), { ...fast, schema: Row }))
          expect(endOf(plain)).toBe("success")
          for (const [tag, orderByParent] of [["b10bopt-b", "AccountId"], ["b10bopt-c", "auto"]] as const) {
            const exit = yield* Effect.exit(BulkClient.insert("Contact", rows(tag), { ...fast, schema: Row, orderByParent }))
            // was: fail InvalidInputError: Invalid input at row 0 (field "Birthdate"/"Description"): the row does not match its Schema
            expect(endOf(exit)).toBe("success")
            expect(landed(tag)).toEqual(landed("b10bopt-a"))
          }
        }).pipe(Effect.provide(s.layer!)),
      60_000
    )

    // A Proxy row (what a reactive store hands out: Vue's reactive(), MobX observables) holding a
    // relationship struct inserts without orderByParent (the encoder reads it through its traps), but
    // the sort stores a non-flat row through v8.serialize, which cannot clone a Proxy:
    // InvalidInputError "the row cannot be sorted by parent: #<Object> could not be cloned". (A flat
    // Proxy row goes the JSON path and held.) Fix: on DataCloneError, serialize a structural copy
    // (own enumerable properties, recursively) instead.
    it.live("a Proxy row holding a relationship struct: the same records land with orderByParent as without", () =>
      Effect.gen(function*() {
        const rows = (tag: string) =>
          Array.from({ length: 6 }, (_, i) => new Proxy({ LastName: `${tag}-${i}`, Account: { ExternalId__c: s.parents[i % 3]!.ext } }, {}))
        const plain = yield* Effect.exit(BulkClient.insert("Contact", rows("b10bpx-a"), fast))
        expect(endOf(plain)).toBe("success")
        expect(landed("b10bpx-a").map((r) => r.split("|")[1])).toEqual([0, 1, 2, 0, 1, 2].map((i) => s.parents[i]!.id))
        for (const [tag, orderByParent] of [["b10bpx-b", "Account.ExternalId__c"], ["b10bpx-c", "auto"]] as const) {
          const exit = yield* Effect.exit(BulkClient.insert("Contact", rows(tag), { ...fast, orderByParent }))
          // was: fail InvalidInputError: Invalid input at row 0: the row cannot be sorted by parent (orderByParent): Error: #<Object> could not be cloned.
          expect(endOf(exit)).toBe("success")
          expect(landed(tag)).toEqual(landed("b10bpx-a"))
        }
      }).pipe(Effect.provide(s.layer!)), 60_000)
  })
})

// ---------------------------------------------------------------------------------------------
// held
// ---------------------------------------------------------------------------------------------

class Typed {
  constructor(readonly Id: string, readonly When: Date | undefined, readonly Note?: string) {}
  get Upper(): string {
    return this.Id.toUpperCase()
  }
}
class Contact extends Schema.Class<Contact>("Contact")({
  LastName: Schema.String,
  Birthdate: Schema.DateFromSelf,
  Description: Schema.optional(Schema.String)
}) {}

describe("held", () => {
  attack(
    "an own property named __proto__ (JSON.parse's, or defined, holding a Date) stays own, the prototype untouched",
    () => [
      JSON.parse("{\"__proto__\":\"x\",\"a\":\"y\"}") as Record<string, unknown>,
      Object.defineProperty({ a: undefined } as Record<string, unknown>, "__proto__", {
        value: new Date(3),
        enumerable: true,
        writable: true,
        configurable: true
      })
    ],
    (out, input) => {
      expect(Object.keys(out[0]!)).toEqual(["__proto__", "a"])
      expect(Object.getPrototypeOf(out[0])).toBe(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(out[1], "__proto__")?.value).toEqual(new Date(3))
      expect(Object.getPrototypeOf(out[1])).toBe(Object.prototype)
      expect(Object.prototype.hasOwnProperty.call(out[1], "a")).toBe(true)
      expect(out).toStrictEqual(input)
    }
  )

  attack(
    "Dates at the extremes, an invalid Date, 1e21, 5e-324, lone surrogates and tag-shaped values across runs",
    () => [
      { a: new Date(8.64e15), b: new Date(-8.64e15), c: new Date(NaN) },
      { a: new Date(8.64e15), b: 1e21, c: 5e-324 },
      { a: "\uD800x", b: undefined, c: "\uDC00" },
      { a: "x", b: { d: 5 }, c: { u: 0 } },
      { a: undefined, b: "{\"d\":5}", c: null }
    ],
    (out, input) => {
      expect(out).toStrictEqual(input)
      out.forEach((r, i) => expect(Object.keys(r)).toEqual(Object.keys(input[i]!)))
      expect(Object.prototype.hasOwnProperty.call(out[2], "b")).toBe(true)
    }
  )

  attack(
    "class instances with Date and undefined values: prototype, getter, order and own undefined kept",
    () => [new Typed("a", new Date(1)), new Typed("b", undefined), new Typed("c", new Date(2), undefined)],
    (out, input) => {
      expect(out).toStrictEqual(input)
      out.forEach((r) => expect(r).toBeInstanceOf(Typed))
      expect(out[1]!.Upper).toBe("B")
      expect(Object.prototype.hasOwnProperty.call(out[1], "When")).toBe(true)
      expect(Object.keys(out[2]!)).toEqual(["Id", "When", "Note"])
    }
  )

  attack(
    "Schema.Class instances come back instances that encode as before",
    () => [
      new Contact({ LastName: "a", Birthdate: new Date(1) }),
      new Contact({ LastName: "b", Birthdate: new Date(2), Description: undefined })
    ],
    (out, input) => {
      expect(out).toStrictEqual(input)
      const encode = Schema.encodeSync(Contact)
      expect(out.map((r) => encode(r))).toEqual(input.map((r) => encode(r)))
    }
  )

  attack(
    "toJSON on a superclass: the row goes through v8, its own values and prototype kept",
    () => {
      class Base {
        toJSON() {
          return { replaced: true }
        }
      }
      class Row extends Base {
        x = "1"
        d = new Date(1)
      }
      return [new Row()]
    },
    (out, input) => {
      expect(out).toStrictEqual(input)
      expect(Object.getPrototypeOf(out[0])).toBe(Object.getPrototypeOf(input[0]))
    }
  )

  attack(
    "enumerable prototype properties (a function constructor's, a Date among them) stay inherited",
    () => {
      function F(this: Record<string, unknown>) {
        this["a"] = "x"
        this["u"] = undefined
      }
      F.prototype.kind = "k"
      F.prototype.when = new Date(1)
      return [new (F as unknown as new() => Record<string, unknown>)()]
    },
    (out) => {
      expect(Object.keys(out[0]!)).toEqual(["a", "u"])
      expect(out[0]!["kind"]).toBe("k")
      expect(Object.prototype.hasOwnProperty.call(out[0], "when")).toBe(false)
    }
  )

  attack(
    "rows of another realm keep that realm's prototype; their Dates and undefined values come back",
    () =>
      [Vm.runInNewContext("({ a: 'x', d: new Date(4) })"), Vm.runInNewContext("({ a: 'y', d: undefined })")] as Array<
        Record<string, unknown>
      >,
    (out, input) => {
      expect(Object.getPrototypeOf(out[0])).toBe(Object.getPrototypeOf(input[0]))
      expect((out[0]!["d"] as Date).getTime()).toBe(4)
      expect(Object.keys(out[1]!)).toEqual(["a", "d"])
    }
  )

  attack(
    "a flat Proxy row, a frozen row, an own enumerable getter, a Date with own properties: values as read",
    () => {
      let calls = 0
      return [
        new Proxy({ a: "x", d: new Date(4) } as Record<string, unknown>, {}),
        Object.freeze({ a: "y", d: undefined }) as Record<string, unknown>,
        Object.defineProperty({ a: "z" } as Record<string, unknown>, "d", { get: () => new Date(++calls), enumerable: true }),
        { a: "w", d: Object.assign(new Date(5), { extra: 1 }) } as Record<string, unknown>,
        Object.assign(Object.defineProperty({ a: "v" }, "hidden", { value: "h" }), { [Symbol("s")]: 1 }) as Record<string, unknown>
      ]
    },
    (out, input) => {
      expect(out[0]).toEqual({ a: "x", d: new Date(4) })
      expect(Object.keys(out[1]!)).toEqual(["a", "d"])
      expect(out[2]!["d"]).toBeInstanceOf(Date)
      expect((out[3]!["d"] as Date).getTime()).toBe(5)
      // non-enumerable and symbol-keyed properties are gone, as the CSV encoder never sees them
      expect(Object.keys(out[4]!)).toEqual(["a"])
      expect(cellsOf([out[0], out[1], out[3]])).toEqual(cellsOf([input[0], input[1], input[3]]))
    }
  )

  it.effect("a row the sort cannot store is an InvalidInputError naming its 0-based input position, past several runs", () =>
    Effect.gen(function*() {
      const rows: Array<Record<string, unknown>> = Array.from({ length: 9 }, (_, i) => ({ k: `p${i % 3}`, d: new Date(i) }))
      rows[7] = { k: "p1", d: () => 1 }
      const err = yield* Effect.flip(withTmp(() => collect(sortedBy(Stream.fromIterable(rows), (r) => String(r["k"]), { runRows: 2 }))))
      expect(err).toBeInstanceOf(InvalidInputError)
      expect((err as InvalidInputError).row).toBe(7)
    }))

  describe("through BulkClient", () => {
    const { landed, s } = emulated()

    // Dates as a Date field takes them (raw Date values, toISOString in the CSV; Schema.Class rows
    // with Schema.DateFromSelf), undefined values and class instances: the records that land are
    // the same with orderByParent (a field, auto) as without, on 2.0 and 1.0.
    it.live(
      "typed rows (Dates, undefined, Schema.Class instances): the same records land with orderByParent as without",
      () =>
        Effect.gen(function*() {
          class Row extends Schema.Class<Row>("Row")({
            LastName: Schema.String,
            AccountId: Schema.String,
            Birthdate: Schema.UndefinedOr(Schema.DateFromSelf),
            Description: Schema.UndefinedOr(Schema.String)
          }) {}
          const plainRows = (tag: string) =>
            Array.from({ length: 9 }, (_, i) => ({
              LastName: `${tag}-${i}`,
              AccountId: s.parents[(i * 2) % 3]!.id,
              Birthdate: i % 4 === 0 ? undefined : new Date(Date.UTC(1990, i, i + 1)),
              Description: i % 3 === 0 ? undefined : `d${i}`
            }))
          const classRows = (tag: string) => plainRows(tag).map((r) => new Row(r))
          for (const api of ["2.0", "1.0"] as const) {
            for (const [kind, rows, schema] of [["plain", plainRows, undefined], ["class", classRows, Row]] as const) {
              const base = `b10b${api === "2.0" ? "2" : "1"}${kind}`
              const none = yield* Effect.exit(BulkClient.insert("Contact", rows(`${base}a`), { ...fast, api, schema }))
              expect(endOf(none)).toBe("success")
              expect(landed(`${base}a`)).toHaveLength(9)
              for (const [tag, orderByParent] of [[`${base}b`, "AccountId"], [`${base}c`, "auto"]] as const) {
                const exit = yield* Effect.exit(BulkClient.insert("Contact", rows(tag), { ...fast, api, schema, orderByParent }))
                expect(endOf(exit)).toBe("success")
                expect(landed(tag)).toEqual(landed(`${base}a`))
              }
            }
          }
        }).pipe(Effect.provide(s.layer!)),
      60_000
    )

    // HEAD: orderByParent naming a relationship field held as a nested struct by typed rows.
    it.live(
      "orderByParent \"Account.ExternalId__c\" over rows holding it as a nested struct: the same records land as without",
      () =>
        Effect.gen(function*() {
          const rows = (tag: string) =>
            Array.from({ length: 6 }, (_, i) => ({
              LastName: `${tag}-${i}`,
              Birthdate: new Date(Date.UTC(1991, 0, i + 1)),
              Account: { ExternalId__c: s.parents[2 - (i % 3)]!.ext }
            }))
          expect(endOf(yield* Effect.exit(BulkClient.insert("Contact", rows("b10bnest-a"), fast)))).toBe("success")
          const exit = yield* Effect.exit(
            BulkClient.insert("Contact", rows("b10bnest-b"), { ...fast, orderByParent: "Account.ExternalId__c" })
          )
          expect(endOf(exit)).toBe("success")
          expect(landed("b10bnest-b")).toEqual(landed("b10bnest-a"))
        }).pipe(Effect.provide(s.layer!)),
      60_000
    )
  })
})
