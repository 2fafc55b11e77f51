import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  DEFAULT_BACKOFF,
  parseRetryAfterSeconds,
} from "../../../../lambdas/lib/wavy/retry.js";

describe("backoff", () => {
  it("grows exponentially up to the cap, with full jitter below the ceiling", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((n) =>
      backoffDelayMs(n, DEFAULT_BACKOFF, () => 0.999999),
    );

    expect(ceilings).toEqual([199, 399, 799, 1599, 3199, 3999, 3999]);
    expect(backoffDelayMs(3, DEFAULT_BACKOFF, () => 0)).toBe(0);
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");

  it.each([
    ["7", 7],
    [" 120 ", 120],
    ["Sat, 28 Nov 2026 12:00:30 GMT", 30],
    ["Sat, 28 Nov 2026 11:59:00 GMT", 0],
    ["soon", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("reads %j as %j seconds", (value, seconds) => {
    expect(parseRetryAfterSeconds(value, now)).toBe(seconds);
  });
});
