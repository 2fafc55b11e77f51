import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../../../lambdas/lib/errors.js";
import {
  encodeCursor,
  windowsClosingSoon,
  windowsOfDestination,
} from "../../../../lambdas/lib/windows/lookup.js";
import { maskNumber } from "../../../../lambdas/lib/windows/mask.js";
import { MemoryWindowStore } from "../../../../lambdas/lib/windows/memory-window-store.js";
import { countOpenWindows } from "../../../../lambdas/lib/windows/open-windows.js";
import { windowWrite } from "../../../../lambdas/lib/windows/window.js";

const NOW = Date.parse("2026-12-06T12:00:00.000Z");
const BUSINESS = "5511999990000";
const HOUR = 3_600_000;

/** A store holding one window per destination, opened `hoursAgo` before NOW. */
async function storeWith(windows: [destination: string, hoursAgo: number, origin?: string][]) {
  const store = new MemoryWindowStore();
  for (const [destination, hoursAgo, origin = BUSINESS] of windows) {
    await store.advance(
      windowWrite(
        { id: destination, destination, origin, receivedAtMs: NOW - hoursAgo * HOUR },
        { retentionDays: 7, nowMs: NOW },
      ),
    );
  }
  store.calls.length = 0;
  return store;
}

describe("GET /windows/{destination}'s answer", () => {
  it("answers [] for a destination never seen", async () => {
    const store = await storeWith([]);

    expect(
      await windowsOfDestination("5511000000000", undefined, { store, nowMs: () => NOW }),
    ).toEqual({ destination: "5511000000000", windows: [] });
  });

  it("answers every origin's window with open and minutesLeft, in one store call", async () => {
    const store = await storeWith([
      ["5511900000001", 23.5],
      ["5511900000001", 25, "5511888880000"],
    ]);

    const answer = await windowsOfDestination("5511900000001", undefined, {
      store,
      nowMs: () => NOW,
    });

    expect(answer.windows).toEqual([
      expect.objectContaining({ origin: "5511888880000", open: false, minutesLeft: 0 }),
      expect.objectContaining({ origin: BUSINESS, open: true, minutesLeft: 30 }),
    ]);
    expect(store.calls).toEqual(["windowsOf"]);
  });

  it("with origin, reads that one window with one GetItem-like call", async () => {
    const store = await storeWith([["5511900000001", 1]]);

    const answer = await windowsOfDestination("5511900000001", BUSINESS, {
      store,
      nowMs: () => NOW,
    });

    expect(answer.windows).toHaveLength(1);
    expect(store.calls).toEqual(["windowOf"]);
  });

  it("rounds minutes up, so a window with seconds left is open with 1 minute", async () => {
    const store = await storeWith([["5511900000001", 24 - 30 / 3600]]);

    const [window] = (
      await windowsOfDestination("5511900000001", undefined, { store, nowMs: () => NOW })
    ).windows;

    expect(window).toMatchObject({ open: true, minutesLeft: 1 });
  });

  it("answers a window that closes during the query as closed with 0 minutes, consistently", async () => {
    // Closes 10 s after the request starts; the table answers 20 s later.
    const store = await storeWith([["5511900000001", 24 - 10 / 3600]]);
    let now = NOW;
    const slow = Object.create(store) as MemoryWindowStore;
    slow.windowsOf = async (destination) => {
      const found = await store.windowsOf(destination);
      now += 20_000;
      return found;
    };

    const [window] = (
      await windowsOfDestination("5511900000001", undefined, { store: slow, nowMs: () => now })
    ).windows;

    expect(window).toMatchObject({ open: false, minutesLeft: 0 });
  });
});

describe("GET /windows?origin&closingWithinMinutes's answer", () => {
  it("lists the open windows closing within N minutes, soonest first, a page at a time", async () => {
    const store = await storeWith([
      ["5511900000001", 23.9],
      ["5511900000002", 23.5],
      ["5511900000003", 23.7],
      ["5511900000004", 10],
      ["5511900000005", 30],
      ["5511900000006", 23.8, "5511888880000"],
    ]);
    const deps = { store, nowMs: () => NOW };

    const first = await windowsClosingSoon(
      { origin: BUSINESS, closingWithinMinutes: 60, limit: 2 },
      deps,
    );
    const second = await windowsClosingSoon(
      { origin: BUSINESS, closingWithinMinutes: 60, limit: 2, cursor: first.nextCursor ?? "" },
      deps,
    );

    expect(first.windows.map((w) => w.destination)).toEqual(["5511900000001", "5511900000003"]);
    expect(first.nextCursor).not.toBeNull();
    expect(second.windows.map((w) => w.destination)).toEqual(["5511900000002"]);
    expect(second.nextCursor).toBeNull();
    expect(store.calls).toEqual(["closingWindows", "closingWindows"]);
  });

  it("leaves out a window that closed between two pages", async () => {
    const store = await storeWith([
      ["5511900000001", 24 - 1 / 60],
      ["5511900000002", 24 - 2 / 60],
      ["5511900000003", 23],
    ]);
    let now = NOW;
    const first = await windowsClosingSoon(
      { origin: BUSINESS, closingWithinMinutes: 120, limit: 1 },
      { store, nowMs: () => now },
    );
    now += 150_000;

    const second = await windowsClosingSoon(
      { origin: BUSINESS, closingWithinMinutes: 120, limit: 5, cursor: first.nextCursor ?? "" },
      { store, nowMs: () => now },
    );

    expect(first.windows.map((w) => w.destination)).toEqual(["5511900000001"]);
    expect(second.windows.map((w) => w.destination)).toEqual(["5511900000003"]);
  });

  it.each([
    ["garbage", "%%%"],
    [
      "another origin's cursor",
      encodeCursor({ closesAt: "2026-12-06T12:30:00.000Z", destination: "1", origin: "other" }),
    ],
    [
      "a forged closesAt",
      Buffer.from(JSON.stringify(["soon", "1", BUSINESS])).toString("base64url"),
    ],
  ])("refuses %s as a cursor before reading the table", async (_name, cursor) => {
    const store = await storeWith([]);

    await expect(
      windowsClosingSoon(
        { origin: BUSINESS, closingWithinMinutes: 60, limit: 5, cursor },
        { store, nowMs: () => NOW },
      ),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(store.calls).toEqual([]);
  });
});

describe("OpenWindows", () => {
  it("counts each origin's open windows and their sum", async () => {
    const store = await storeWith([
      ["5511900000001", 1],
      ["5511900000002", 25],
      ["5511900000003", 2, "5511888880000"],
    ]);

    const counted = await countOpenWindows([BUSINESS, "5511888880000", "5511777770000"], {
      store,
      nowMs: () => NOW,
    });

    expect(counted).toEqual({
      byOrigin: { [BUSINESS]: 1, "5511888880000": 1, "5511777770000": 0 },
      total: 2,
    });
  });
});

describe("maskNumber", () => {
  it.each([
    ["5511987654321", "*********4321"],
    ["1234", "****"],
    ["", ""],
  ])("masks %j as %j", (input, masked) => {
    expect(maskNumber(input)).toBe(masked);
  });
});
