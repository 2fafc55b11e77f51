import { describe, expect, it } from "vitest";
import {
  measureCsvZone,
  pairOffset,
  readWallClock,
  type ZonePair,
} from "../../../../lambdas/lib/intelligence/csv-zone.js";

const SAO_PAULO = "America/Sao_Paulo";

/** The CSV's text for an instant, written as wall clock `offsetMinutes` from UTC. */
function written(receivedAt: string, offsetMinutes: number, extraMs = 0): string {
  const wall = new Date(Date.parse(receivedAt) + offsetMinutes * 60_000 + extraMs);
  return wall.toISOString().slice(0, 19).replace("T", " ");
}

const pairsAt = (offsetMinutes: number, n: number): ZonePair[] =>
  Array.from({ length: n }, (_, i) => {
    const receivedAt = new Date(
      Date.parse("2026-12-06T10:00:00.000Z") - i * 3_600_000,
    ).toISOString();
    // A few seconds of jitter: Wavy's clock and ours are not the same clock.
    return { receivedAt, sessionCreatedAt: written(receivedAt, offsetMinutes, (i % 3) * 1_700) };
  });

describe("measureCsvZone", () => {
  it("measures 0 for a CSV written in UTC, which disagrees with São Paulo (-180)", () => {
    const zone = measureCsvZone(pairsAt(0, 5), SAO_PAULO);
    expect(zone).toMatchObject({
      decided: true,
      offsetMinutes: 0,
      expectedOffsetMinutes: -180,
      mismatch: true,
      pairs: 5,
      agreeing: 5,
    });
  });

  it("measures -180 for a CSV in São Paulo time, which agrees", () => {
    const zone = measureCsvZone(pairsAt(-180, 4), SAO_PAULO);
    expect(zone).toMatchObject({ decided: true, offsetMinutes: -180, mismatch: false });
  });

  it("takes the strict majority and reports the pairs off it, earlier or later", () => {
    const pairs = pairsAt(-180, 5);
    // The CSV holds the window's first inbound: 2 h before the last MO the webhook saw.
    const first = pairs[0] as ZonePair;
    pairs.push({
      receivedAt: first.receivedAt,
      sessionCreatedAt: written(first.receivedAt, -180 - 120),
    });
    // The webhook missed an MO 40 minutes after the one it saw.
    pairs.push({ receivedAt: first.receivedAt, sessionCreatedAt: written(first.receivedAt, -140) });
    const zone = measureCsvZone(pairs, SAO_PAULO);
    expect(zone.offsetMinutes).toBe(-180);
    expect(zone.outliers).toEqual({ count: 2, csvEarlier: 1, csvLater: 1, maxGapMinutes: 120 });
  });

  it("stays undecided with too few pairs or no majority, and then raises no alarm", () => {
    expect(measureCsvZone(pairsAt(0, 2), SAO_PAULO)).toMatchObject({
      decided: false,
      offsetMinutes: null,
      mismatch: null,
    });
    const split = [...pairsAt(0, 2), ...pairsAt(-180, 2)];
    expect(measureCsvZone(split, SAO_PAULO).decided).toBe(false);
  });

  it("compares text with its own offset against that offset, not the zone", () => {
    const pairs = pairsAt(-180, 3).map((pair) => ({
      ...pair,
      sessionCreatedAt: `${pair.sessionCreatedAt}-03:00`,
    }));
    expect(measureCsvZone(pairs, "UTC")).toMatchObject({
      offsetMinutes: -180,
      expectedOffsetMinutes: -180,
      mismatch: false,
    });
  });

  it("reads the zone's offset at the pair's instant (DST-correct)", () => {
    // New York: -300 in winter, -240 in summer.
    const summer = "2026-07-01T12:00:00.000Z";
    const pairs = [0, 1, 2].map(() => ({
      receivedAt: summer,
      sessionCreatedAt: written(summer, -240),
    }));
    expect(measureCsvZone(pairs, "America/New_York")).toMatchObject({
      offsetMinutes: -240,
      mismatch: false,
    });
  });
});

describe("pairOffset and readWallClock", () => {
  it("rounds to the quarter hour and reads both separators and fractions", () => {
    expect(
      pairOffset({
        receivedAt: "2026-12-06T10:00:00.000Z",
        sessionCreatedAt: "2026-12-06T07:07:00",
      })?.offsetMinutes,
    ).toBe(-180);
    expect(readWallClock("2026-12-06 07:00:00,5")?.wallMs).toBe(
      Date.parse("2026-12-06T07:00:00.500Z"),
    );
    expect(readWallClock("2026-02-30 07:00:00")).toBeUndefined();
    expect(readWallClock("yesterday")).toBeUndefined();
  });
});
