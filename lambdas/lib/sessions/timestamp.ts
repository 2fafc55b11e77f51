import { DateTime } from "luxon";

/**
 * Reads `session_created_at` straight from the CSV's bytes into epoch milliseconds (NaN when
 * unreadable). Accepted, after trimming ASCII white space:
 *
 *   YYYY-MM-DD(" "|"T")HH:mm[:ss[(.|,)f{1,9}]][Z | ±hh | ±hhmm | ±hh:mm]
 *
 * Without an offset the time is local to `timeZone` (an IANA zone), DST-correct for any date
 * as luxon reads it: a time skipped by a spring-forward gap moves forward, an ambiguous
 * fall-back time takes luxon's choice. Fractions are truncated to milliseconds, as luxon does.
 *
 * Why not luxon per row: DateTime.fromObject costs ~2 µs, which alone would hold the counter
 * to ~0.5 M rows/s. Here the digits are read from the bytes and the zone is asked once per
 * local hour (the gap between wall clock and UTC is constant within an hour in every zone
 * whose changes fall on whole hours; where one does not, that hour goes to luxon row by row).
 */
export type TimestampReader = (bytes: Uint8Array, start: number, end: number) => number;

const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
/** A cached hour whose UTC gap is not constant: ask luxon for each timestamp in it. */
const PER_ROW = Number.POSITIVE_INFINITY;

const ZERO = 0x30;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const PLUS = 0x2b;
const COLON = 0x3a;
const DOT = 0x2e;
const COMMA = 0x2c;
const UPPER_T = 0x54;
const LOWER_T = 0x74;
const UPPER_Z = 0x5a;
const LOWER_Z = 0x7a;

const isBlank = (byte: number | undefined) =>
  byte === SPACE || byte === TAB || byte === CR || byte === LF;

/** Two ASCII digits at `at`, or -1 (also past the end: undefined - ZERO is NaN). */
function twoDigits(bytes: Uint8Array, at: number): number {
  const high = (bytes[at] as number) - ZERO;
  const low = (bytes[at + 1] as number) - ZERO;
  if (!(high >= 0 && high <= 9 && low >= 0 && low <= 9)) return -1;
  return high * 10 + low;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100);
  return era * 146_097 + dayOfEra + dayOfYear - 719_468;
}

/** What luxon makes of a wall-clock time (given as if it were UTC) in `zone`, in epoch ms. */
function luxonLocal(wallMs: number, zone: string): number {
  const wall = DateTime.fromMillis(wallMs, { zone: "utc" });
  const local = DateTime.fromObject(
    {
      year: wall.year,
      month: wall.month,
      day: wall.day,
      hour: wall.hour,
      minute: wall.minute,
      second: wall.second,
      millisecond: wall.millisecond,
    },
    { zone },
  );
  return local.isValid ? local.toMillis() : Number.NaN;
}

/** Hours around the first one seen whose gaps live in a flat array (a Map costs ~50 ns/row). */
const WINDOW_HOURS = 1 << 13;

export function createTimestampReader(timeZone: string): TimestampReader {
  // Local hour (wall-clock ms / 1 h) -> UTC minus wall clock, in ms; NaN: not asked yet.
  const window = new Float64Array(WINDOW_HOURS).fill(Number.NaN);
  let windowStart = Number.NaN;
  const farGaps = new Map<number, number>();

  const askLuxon = (hour: number): number => {
    const start = hour * MS_PER_HOUR;
    const end = start + MS_PER_HOUR - 1;
    const atStart = luxonLocal(start, timeZone) - start;
    const atEnd = luxonLocal(end, timeZone) - end;
    return atStart === atEnd ? atStart : PER_ROW;
  };

  const gapOf = (hour: number): number => {
    if (Number.isNaN(windowStart)) windowStart = hour - WINDOW_HOURS / 2;
    const slot = hour - windowStart;
    if (slot >= 0 && slot < WINDOW_HOURS) {
      let gap = window[slot] as number;
      if (Number.isNaN(gap)) {
        gap = askLuxon(hour);
        window[slot] = gap;
      }
      return gap;
    }
    let gap = farGaps.get(hour);
    if (gap === undefined) {
      gap = askLuxon(hour);
      farGaps.set(hour, gap);
    }
    return gap;
  };

  // The last date-and-hour seen at each hour of the day, with its wall clock (as if UTC; NaN
  // for a date that does not exist) and its gap. A day's rows hit these 24 slots, so a row
  // costs its digits and one comparison, not a calendar computation.
  const slotKeys = new Int32Array(24).fill(-1);
  const slotWall = new Float64Array(24);
  const slotGap = new Float64Array(24);

  return (bytes, from, to) => {
    let start = from;
    let end = to;
    while (start < end && isBlank(bytes[start])) start++;
    while (end > start && isBlank(bytes[end - 1])) end--;
    if (end - start < 16) return Number.NaN;

    const century = twoDigits(bytes, start);
    const yy = twoDigits(bytes, start + 2);
    const month = twoDigits(bytes, start + 5);
    const day = twoDigits(bytes, start + 8);
    const hours = twoDigits(bytes, start + 11);
    const minutes = twoDigits(bytes, start + 14);
    const separator = bytes[start + 10];
    if (
      century < 0 ||
      yy < 0 ||
      bytes[start + 4] !== DASH ||
      month < 1 ||
      month > 12 ||
      bytes[start + 7] !== DASH ||
      day < 1 ||
      day > 31 ||
      (separator !== SPACE && separator !== UPPER_T && separator !== LOWER_T) ||
      hours < 0 ||
      hours > 23 ||
      bytes[start + 13] !== COLON ||
      minutes < 0 ||
      minutes > 59
    ) {
      return Number.NaN;
    }

    let at = start + 16;
    let seconds = 0;
    let millis = 0;
    if (at < end && bytes[at] === COLON) {
      seconds = twoDigits(bytes, at + 1);
      if (seconds < 0 || seconds > 59 || at + 3 > end) return Number.NaN;
      at += 3;
      if (at < end && (bytes[at] === DOT || bytes[at] === COMMA)) {
        at++;
        let digits = 0;
        while (at < end) {
          const digit = (bytes[at] as number) - ZERO;
          if (!(digit >= 0 && digit <= 9)) break;
          if (digits < 3) millis = millis * 10 + digit;
          digits++;
          at++;
        }
        if (digits === 0 || digits > 9) return Number.NaN;
        if (digits === 1) millis *= 100;
        else if (digits === 2) millis *= 10;
      }
    }

    const year = century * 100 + yy;
    const key = ((year * 13 + month) * 32 + day) * 24 + hours;
    if (slotKeys[hours] !== key) {
      const wall =
        day > daysInMonth(year, month)
          ? Number.NaN
          : daysFromCivil(year, month, day) * MS_PER_DAY + hours * MS_PER_HOUR;
      slotKeys[hours] = key;
      slotWall[hours] = wall;
      // Only offset-less timestamps need the zone; the gap is asked for lazily below.
      slotGap[hours] = Number.NaN;
    }
    const hourWall = slotWall[hours] as number;
    const wall = hourWall + minutes * MS_PER_MINUTE + seconds * 1000 + millis;

    if (at === end) {
      let gap = slotGap[hours] as number;
      if (Number.isNaN(gap)) {
        if (Number.isNaN(hourWall)) return Number.NaN;
        gap = gapOf(hourWall / MS_PER_HOUR);
        slotGap[hours] = gap;
      }
      return gap === PER_ROW ? luxonLocal(wall, timeZone) : wall + gap;
    }

    const sign = bytes[at];
    if ((sign === UPPER_Z || sign === LOWER_Z) && at + 1 === end) return wall;
    if (sign !== PLUS && sign !== DASH) return Number.NaN;
    const offsetHours = twoDigits(bytes, at + 1);
    if (offsetHours < 0 || offsetHours > 23 || at + 3 > end) return Number.NaN;
    at += 3;
    let offsetMinutes = 0;
    if (at < end) {
      if (bytes[at] === COLON) at++;
      offsetMinutes = twoDigits(bytes, at);
      if (offsetMinutes < 0 || offsetMinutes > 59 || at + 2 !== end) return Number.NaN;
    }
    const offset = (offsetHours * 60 + offsetMinutes) * MS_PER_MINUTE;
    return sign === PLUS ? wall - offset : wall + offset;
  };
}
