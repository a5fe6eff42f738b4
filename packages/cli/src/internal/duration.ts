/**
 * Durations as people type them: `90` (seconds), `500ms`, `30s`, `10m`, `2h`, `1h30m`.
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses a duration, or `None` when the text is not one. */
export const parse = (text: string): Option.Option<Duration.Duration> => {
  const t = text.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(t)) return Option.some(Duration.millis(Number(t) * 1000))
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy
  let total = 0
  let matched = 0
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * UNIT[m[2]!]!
    matched = re.lastIndex
  }
  return matched === t.length && matched > 0 ? Option.some(Duration.millis(total)) : Option.none()
}
