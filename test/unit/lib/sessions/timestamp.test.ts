import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { createTimestampReader } from "../../../../lambdas/lib/sessions/timestamp.js";

const encoder = new TextEncoder();

/** The reader on a string; the counter hands it bytes. */
function parseTimestamp(text: string, timeZone: string): number {
  const bytes = encoder.encode(text);
  return createTimestampReader(timeZone)(bytes, 0, bytes.length);
}

const SAO_PAULO = "America/Sao_Paulo";
const utc = (iso: string) => Date.parse(iso);

/** The format, restated as a regular expression, and luxon asked row by row. */
const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[ Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function referenceParse(text: string, zone: string): number {
  const match = PATTERN.exec(text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ""));
  if (!match) return Number.NaN;
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = match;
  const fields = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s ?? 0),
    millisecond: Number(`${fraction ?? ""}000`.slice(0, 3)),
  };
  if (Number(oh ?? 0) > 23 || Number(om ?? 0) > 59) return Number.NaN;
  const inZone = z ? "utc" : sign ? `UTC${sign}${oh}:${om ?? "00"}` : zone;
  const parsed = DateTime.fromObject(fields, { zone: inZone });
  return parsed.isValid ? parsed.toMillis() : Number.NaN;
}

describe("reading session_created_at", () => {
  it("reads an offset-less time as Sao Paulo local time", () => {
    expect(parseTimestamp("2026-11-28 09:15:42", SAO_PAULO)).toBe(utc("2026-11-28T12:15:42Z"));
  });

  it("reads fractions, T, Z and offsets as given", () => {
    expect(parseTimestamp("2026-11-28T09:15:42.5", SAO_PAULO)).toBe(
      utc("2026-11-28T12:15:42.500Z"),
    );
    expect(parseTimestamp("2026-11-28 09:15:42.123456", SAO_PAULO)).toBe(
      utc("2026-11-28T12:15:42.123Z"),
    );
    expect(parseTimestamp("2026-11-28T09:15:42Z", SAO_PAULO)).toBe(utc("2026-11-28T09:15:42Z"));
    expect(parseTimestamp("2026-11-28T09:15:42+05:30", SAO_PAULO)).toBe(
      utc("2026-11-28T03:45:42Z"),
    );
    expect(parseTimestamp("2026-11-28 09:15:42-0200", SAO_PAULO)).toBe(utc("2026-11-28T11:15:42Z"));
    expect(parseTimestamp("  2026-11-28 09:15 ", SAO_PAULO)).toBe(utc("2026-11-28T12:15:00Z"));
  });

  it("uses the summer offset in force on past dates (DST ended in Brazil in 2019)", () => {
    // Prepare / Act / Assess: Sao Paulo was UTC-2 in summer until February 2019.
    expect(parseTimestamp("2018-12-25 10:00:00", SAO_PAULO)).toBe(utc("2018-12-25T12:00:00Z"));
    expect(parseTimestamp("2019-12-25 10:00:00", SAO_PAULO)).toBe(utc("2019-12-25T13:00:00Z"));
  });

  it("moves a time skipped by the 2018-11-04 spring-forward gap forward, as luxon does", () => {
    // Clocks jumped from 00:00 to 01:00; 00:30 never happened locally.
    expect(parseTimestamp("2018-11-03 23:59:59", SAO_PAULO)).toBe(utc("2018-11-04T02:59:59Z"));
    expect(parseTimestamp("2018-11-04 00:30:00", SAO_PAULO)).toBe(utc("2018-11-04T03:30:00Z"));
    expect(parseTimestamp("2018-11-04 01:00:00", SAO_PAULO)).toBe(utc("2018-11-04T03:00:00Z"));
  });

  it("reads the hour repeated by the 2019-02-17 fall-back as luxon does", () => {
    // Clocks went back from 00:00 (UTC-2) to 23:00 (UTC-3) on the 16th.
    const ambiguous = "2019-02-16 23:30:00";
    expect(parseTimestamp(ambiguous, SAO_PAULO)).toBe(referenceParse(ambiguous, SAO_PAULO));
    expect(parseTimestamp("2019-02-16 22:30:00", SAO_PAULO)).toBe(utc("2019-02-17T00:30:00Z"));
    expect(parseTimestamp("2019-02-17 00:30:00", SAO_PAULO)).toBe(utc("2019-02-17T03:30:00Z"));
  });

  it.each([
    "",
    "yesterday",
    "2026-02-29 10:00:00",
    "2026-13-01 10:00:00",
    "2026-11-28 24:00:00",
    "2026-11-28 09:15:60",
    "2026-11-28 09:15:",
    "2026-11-28 09:15:42.",
    "2026-11-28 09:15:42+3",
    "2026-11-28 09:15:42 UTC",
    "28/11/2026 09:15:42",
    "２026-11-28 09:15:42",
  ])("rejects %j", (text) => {
    expect(parseTimestamp(text, SAO_PAULO)).toBeNaN();
  });

  it("agrees with luxon on any timestamp, zone and format", () => {
    const zone = fc.constantFrom(
      SAO_PAULO,
      "Australia/Lord_Howe",
      "America/St_Johns",
      "Europe/London",
      "Asia/Kolkata",
      "UTC",
    );
    const instant = fc.integer({
      min: utc("1985-01-01T00:00:00Z"),
      max: utc("2030-01-01T00:00:00Z"),
    });
    const text = fc
      .record({
        at: instant,
        separator: fc.constantFrom(" ", "T"),
        seconds: fc.boolean(),
        fraction: fc.constantFrom("", ".5", ".12", ",123", ".123456789", ".1234567890"),
        offset: fc.constantFrom("", "", "", "Z", "+05:30", "-0300", "-02", "+14:00", "+24:00"),
        noise: fc.constantFrom("", " ", "x", "\t"),
      })
      .map(({ at, separator, seconds, fraction, offset, noise }) => {
        const wall = new Date(at).toISOString();
        const time = seconds ? `${wall.slice(11, 19)}${fraction}` : wall.slice(11, 16);
        return `${noise}${wall.slice(0, 10)}${separator}${time}${offset}${noise}`;
      });
    // One reader over many texts, as in a CSV: its caches must never change an answer.
    fc.assert(
      fc.property(zone, fc.array(text, { minLength: 1, maxLength: 30 }), (timeZone, texts) => {
        const read = createTimestampReader(timeZone);
        for (const value of texts) {
          const bytes = new TextEncoder().encode(value);
          expect(read(bytes, 0, bytes.length), value).toBe(referenceParse(value, timeZone));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("agrees with luxon through every hour of a DST changeover", () => {
    for (const [zone, day] of [
      [SAO_PAULO, "2018-11-04"],
      [SAO_PAULO, "2019-02-16"],
      ["Australia/Lord_Howe", "2024-04-07"],
      ["Australia/Lord_Howe", "2024-10-06"],
    ] as const) {
      const read = createTimestampReader(zone);
      for (let minute = -120; minute < 26 * 60; minute += 7) {
        const wall = new Date(Date.parse(`${day}T00:00:00Z`) + minute * 60_000).toISOString();
        const text = `${wall.slice(0, 10)} ${wall.slice(11, 19)}`;
        const bytes = new TextEncoder().encode(text);
        expect(read(bytes, 0, bytes.length), `${zone} ${text}`).toBe(referenceParse(text, zone));
      }
    }
  });
});
