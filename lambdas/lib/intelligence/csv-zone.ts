import { DateTime } from "luxon";
import { CSV_ZONE } from "../contract.js";

/**
 * The CSV's zone, measured (docs/contract.md, "Measuring the CSV's zone"): Wavy does not
 * document the zone of `session_created_at`; pairs of the webhook's UTC `receivedAt` and the same
 * destination's CSV wall-clock time settle it.
 */

const MINUTE_MS = 60_000;

export interface ZonePair {
  /** The window's lastInboundAt, from the webhook: ISO-8601 UTC. */
  receivedAt: string;
  /** The CSV's `session_created_at`, as written. */
  sessionCreatedAt: string;
}

export interface PairOffset {
  /** Wall clock read as UTC, minus receivedAt, in minutes (unrounded). */
  rawMinutes: number;
  /** Rounded to the quarter hour. */
  offsetMinutes: number;
  /** The offset the text states, when it has one. */
  statedOffsetMinutes: number | undefined;
  receivedAtMs: number;
}

export interface ZoneMeasurement {
  /** True when a strict majority of at least CSV_ZONE.minPairs pairs agree. */
  decided: boolean;
  offsetMinutes: number | null;
  /** WAVY_TIMEZONE's offset (or the text's own) at the latest pair's instant. */
  expectedOffsetMinutes: number | null;
  /** The alarm's condition; null when undecided. */
  mismatch: boolean | null;
  pairs: number;
  agreeing: number;
  /** Pairs off the measured offset: the CSV earlier than the last MO (first inbound) or later. */
  outliers: { count: number; csvEarlier: number; csvLater: number; maxGapMinutes: number };
}

const WALL_CLOCK =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The text's wall clock as if it were UTC, and its stated offset; undefined when unreadable. */
export function readWallClock(
  text: string,
): { wallMs: number; statedOffsetMinutes: number | undefined } | undefined {
  const match = WALL_CLOCK.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const wallMs = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((fraction ?? "0").padEnd(3, "0").slice(0, 3)),
  );
  const check = new Date(wallMs);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return undefined;
  let statedOffsetMinutes: number | undefined;
  if (zone) {
    if (zone.toUpperCase() === "Z") statedOffsetMinutes = 0;
    else {
      const sign = zone.startsWith("-") ? -1 : 1;
      const digits = zone.slice(1).replace(":", "");
      statedOffsetMinutes =
        sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
    }
  }
  return { wallMs, statedOffsetMinutes };
}

export function pairOffset(pair: ZonePair): PairOffset | undefined {
  const wall = readWallClock(pair.sessionCreatedAt);
  const receivedAtMs = Date.parse(pair.receivedAt);
  if (!wall || Number.isNaN(receivedAtMs)) return undefined;
  const rawMinutes = (wall.wallMs - receivedAtMs) / MINUTE_MS;
  const quarter = CSV_ZONE.quarterHourMinutes;
  // +0 turns Math.round's -0 into 0, so an offset of zero compares and prints as 0.
  const offsetMinutes = Math.round(rawMinutes / quarter) * quarter + 0;
  return { rawMinutes, offsetMinutes, statedOffsetMinutes: wall.statedOffsetMinutes, receivedAtMs };
}

/** The zone's offset from UTC at an instant, in minutes (DST-correct, as luxon reads the zone). */
export function zoneOffsetMinutes(timeZone: string, atMs: number): number {
  return DateTime.fromMillis(atMs, { zone: timeZone }).offset;
}

/**
 * The offset held by a strict majority of the (first CSV_ZONE.maxPairs) readable pairs, compared
 * with `timeZone`'s at the latest pair's instant (or with the offset the text states).
 */
export function measureCsvZone(
  pairs: readonly ZonePair[],
  timeZone: string,
  minPairs: number = CSV_ZONE.minPairs,
): ZoneMeasurement {
  const offsets = pairs
    .slice(0, CSV_ZONE.maxPairs)
    .map(pairOffset)
    .filter((offset): offset is PairOffset => offset !== undefined);
  const votes = new Map<number, number>();
  for (const { offsetMinutes } of offsets) {
    votes.set(offsetMinutes, (votes.get(offsetMinutes) ?? 0) + 1);
  }
  let best: number | undefined;
  let bestVotes = 0;
  for (const [offset, n] of votes) {
    if (n > bestVotes) {
      best = offset;
      bestVotes = n;
    }
  }
  const decided =
    best !== undefined && offsets.length >= minPairs && bestVotes * 2 > offsets.length;
  if (!decided || best === undefined) {
    return {
      decided: false,
      offsetMinutes: null,
      expectedOffsetMinutes: null,
      mismatch: null,
      pairs: offsets.length,
      agreeing: bestVotes,
      outliers: { count: 0, csvEarlier: 0, csvLater: 0, maxGapMinutes: 0 },
    };
  }
  const measured = best;
  const agreeing = offsets.filter((offset) => offset.offsetMinutes === measured);
  const latest = agreeing.reduce((a, b) => (b.receivedAtMs > a.receivedAtMs ? b : a));
  const expected = latest.statedOffsetMinutes ?? zoneOffsetMinutes(timeZone, latest.receivedAtMs);
  const outliers = { count: 0, csvEarlier: 0, csvLater: 0, maxGapMinutes: 0 };
  for (const offset of offsets) {
    if (offset.offsetMinutes === measured) continue;
    const gap = offset.rawMinutes - measured;
    outliers.count++;
    if (gap < 0) outliers.csvEarlier++;
    else outliers.csvLater++;
    outliers.maxGapMinutes = Math.max(outliers.maxGapMinutes, Math.round(Math.abs(gap)));
  }
  return {
    decided: true,
    offsetMinutes: measured,
    expectedOffsetMinutes: expected,
    mismatch: measured !== expected,
    pairs: offsets.length,
    agreeing: agreeing.length,
    outliers,
  };
}
