import { describe, expect, it } from "vitest";
import { sweepClosingNotices } from "../../../../lambdas/lib/intelligence/closing-notices.js";
import type { WindowEvent, WindowEventBus } from "../../../../lambdas/lib/intelligence/ports.js";
import { MemoryWindowStore } from "../../../../lambdas/lib/windows/memory-window-store.js";

const BUSINESS = "5511999990000";
const START = Date.parse("2026-12-06T12:00:00.000Z");
const MINUTE = 60_000;

/** A window whose 24 h end `minutesLeft` after START. */
function openWindow(store: MemoryWindowStore, destination: string, minutesLeft: number): void {
  const closesAt = START + minutesLeft * MINUTE;
  store.recordInbound({
    destination,
    origin: BUSINESS,
    lastInboundAt: new Date(closesAt - 86_400_000).toISOString(),
  });
}

class RecordingBus implements WindowEventBus {
  readonly events: WindowEvent[] = [];
  refuse = 0;
  async put(events: readonly WindowEvent[]): Promise<boolean[]> {
    return events.map((event) => {
      if (this.refuse > 0) {
        this.refuse--;
        return false;
      }
      this.events.push(event);
      return true;
    });
  }
}

function prepare() {
  const store = new MemoryWindowStore();
  const bus = new RecordingBus();
  let now = START;
  const deps = { store, bus, clock: () => new Date(now) };
  return { store, bus, deps, advance: (minutes: number) => (now += minutes * MINUTE) };
}

const destinations = (events: WindowEvent[]) => events.map((event) => event.detail.destination);

describe("sweepClosingNotices", () => {
  it("notices each window once it enters the lead, and never twice", async () => {
    const { store, bus, deps, advance } = prepare();
    openWindow(store, "5511900000001", 30);
    openWindow(store, "5511900000002", 61);
    openWindow(store, "5511900000003", 300);

    const first = await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(destinations(bus.events)).toEqual(["5511900000001"]);
    expect(bus.events[0]?.detail).toEqual({
      destination: "5511900000001",
      origin: BUSINESS,
      closesAt: new Date(START + 30 * MINUTE).toISOString(),
      lastInboundAt: new Date(START + 30 * MINUTE - 86_400_000).toISOString(),
      minutesLeft: 30,
      closingNoticeMinutes: 60,
      seenBy: "webhook",
    });
    expect(first.origins[0]).toMatchObject({ sent: 1, deferred: 0, complete: true });

    advance(5);
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(destinations(bus.events)).toEqual(["5511900000001", "5511900000002"]);
    advance(5);
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(bus.events).toHaveLength(2);
  });

  it("sends a new notice for a window restarted after its notice, none for the old instance", async () => {
    const { store, bus, deps, advance } = prepare();
    openWindow(store, "5511900000001", 30);
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(bus.events).toHaveLength(1);

    // The user writes again 10 minutes later: a new window instance closing in 24 h.
    advance(10);
    store.recordInbound({
      destination: "5511900000001",
      origin: BUSINESS,
      lastInboundAt: new Date(START + 10 * MINUTE).toISOString(),
    });
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(bus.events).toHaveLength(1);

    // ...and that instance gets its own notice once it enters the lead.
    advance(24 * 60 - 50);
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(bus.events).toHaveLength(2);
    expect(bus.events[1]?.detail.closesAt).toBe(
      new Date(START + 10 * MINUTE + 86_400_000).toISOString(),
    );
  });

  it("does not notice a window restarted between the query and the claim", async () => {
    const { store, bus, deps } = prepare();
    openWindow(store, "5511900000001", 30);
    const racing = {
      ...deps,
      store: {
        closingWindows: store.closingWindows.bind(store),
        releaseClosingNotice: store.releaseClosingNotice.bind(store),
        claimClosingNotice: async (...args: Parameters<typeof store.claimClosingNotice>) => {
          store.recordInbound({
            destination: "5511900000001",
            origin: BUSINESS,
            lastInboundAt: new Date(START).toISOString(),
          });
          return store.claimClosingNotice(...args);
        },
      },
    };
    const result = await sweepClosingNotices({ [BUSINESS]: 60 }, racing);
    expect(bus.events).toEqual([]);
    expect(result.origins[0]?.lostClaims).toBe(1);
  });

  it("puts exactly one event per window with two sweepers at once", async () => {
    const { store, bus, deps } = prepare();
    for (let i = 0; i < 250; i++)
      openWindow(store, `55119${String(i).padStart(8, "0")}`, 1 + (i % 59));
    const [a, b] = await Promise.all([
      sweepClosingNotices({ [BUSINESS]: 60 }, deps),
      sweepClosingNotices({ [BUSINESS]: 60 }, deps),
    ]);
    expect(bus.events).toHaveLength(250);
    expect(new Set(destinations(bus.events)).size).toBe(250);
    expect((a.origins[0]?.sent ?? 0) + (b.origins[0]?.sent ?? 0)).toBe(250);
  });

  it("is bounded per run, soonest first, and the next run resumes", async () => {
    const { store, bus, deps } = prepare();
    for (let i = 0; i < 30; i++) openWindow(store, `55119${String(i).padStart(8, "0")}`, 50 - i);
    const first = await sweepClosingNotices({ [BUSINESS]: 60 }, { ...deps, maxPerOrigin: 20 });
    expect(first.origins[0]).toMatchObject({ sent: 20, complete: false });
    expect(first.origins[0]?.deferred).toBeGreaterThan(0);
    // Soonest-closing first: the 20 sent close within 21-40 minutes.
    const left = bus.events.map((event) => event.detail.minutesLeft as number);
    expect(Math.max(...left)).toBe(40);
    const second = await sweepClosingNotices({ [BUSINESS]: 60 }, { ...deps, maxPerOrigin: 20 });
    expect(second.origins[0]).toMatchObject({ sent: 10, complete: true });
    expect(new Set(destinations(bus.events)).size).toBe(30);
  });

  it("stops taking pages when the run's time is spent", async () => {
    const { store, bus, deps } = prepare();
    openWindow(store, "5511900000001", 30);
    const result = await sweepClosingNotices({ [BUSINESS]: 60 }, { ...deps, remainingMs: () => 0 });
    expect(bus.events).toEqual([]);
    expect(result.origins[0]).toMatchObject({ complete: false, deferred: 1 });
  });

  it("takes back the claim of an event the bus refused, so the next run puts it", async () => {
    const { store, bus, deps } = prepare();
    openWindow(store, "5511900000001", 30);
    bus.refuse = 1;
    const first = await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(first.origins[0]).toMatchObject({ sent: 0, deferred: 1 });
    await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(destinations(bus.events)).toEqual(["5511900000001"]);
  });

  it("leaves origins without a setting alone and counts per origin", async () => {
    const { store, bus, deps } = prepare();
    openWindow(store, "5511900000001", 30);
    store.recordInbound({
      destination: "5511900000002",
      origin: "5511888880000",
      lastInboundAt: new Date(START + 30 * MINUTE - 86_400_000).toISOString(),
    });
    const result = await sweepClosingNotices({ [BUSINESS]: 60 }, deps);
    expect(destinations(bus.events)).toEqual(["5511900000001"]);
    expect(result.metrics).toContainEqual({
      name: "ClosingNoticesSent",
      dimensions: { Origin: BUSINESS },
      value: 1,
      unit: "Count",
    });
  });
});
