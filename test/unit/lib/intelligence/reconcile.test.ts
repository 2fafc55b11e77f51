import { describe, expect, it } from "vitest";
import { createCsvScanner } from "../../../../lambdas/lib/csv/scanner.js";
import { aggregate } from "../../../../lambdas/lib/intelligence/metric-points.js";
import type { MetricPoint } from "../../../../lambdas/lib/intelligence/ports.js";
import {
  reconcileSnapshot,
  SnapshotReconciler,
  type SnapshotRow,
} from "../../../../lambdas/lib/intelligence/reconcile.js";
import { MemoryWindowStore } from "../../../../lambdas/lib/windows/memory-window-store.js";

const NOW = "2026-12-06T12:00:00.000Z";
const MEASURED = "2026-12-06T11:59:50.000Z";
const BUSINESS = "5511999990000";
const SECOND = "5511999990001";
const TARGET = { customerId: "42", subAccountId: null };
const SAO_PAULO = "America/Sao_Paulo";

const hoursAgo = (h: number) => new Date(Date.parse(NOW) - h * 3_600_000).toISOString();
/** São Paulo wall clock (UTC-3) of a UTC instant, as Wavy's CSV writes it. */
const saoPaulo = (iso: string) =>
  new Date(Date.parse(iso) - 3 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
const utcText = (iso: string) => iso.slice(0, 19).replace("T", " ");

function prepare() {
  const store = new MemoryWindowStore();
  const deps = { store, clock: () => new Date(NOW), timeZone: SAO_PAULO, retentionDays: 7 };
  return { store, deps };
}

const metricValue = (metrics: MetricPoint[], name: string, dims: Record<string, string>) =>
  aggregate(metrics).find(
    (point) => point.name === name && JSON.stringify(point.dimensions) === JSON.stringify(dims),
  )?.value;

describe("reconcileSnapshot", () => {
  it("adds the windows the webhook missed, seenBy snapshot, and counts the drift both ways", async () => {
    const { store, deps } = prepare();
    store.recordInbound({
      destination: "5511900000001",
      origin: BUSINESS,
      lastInboundAt: hoursAgo(2),
    });
    store.recordInbound({
      destination: "5511900000002",
      origin: BUSINESS,
      lastInboundAt: hoursAgo(3),
    });
    const rows: SnapshotRow[] = [
      { destination: "5511900000001", sessionCreatedAt: saoPaulo(hoursAgo(2)) },
      { destination: "5511900000003", sessionCreatedAt: saoPaulo(hoursAgo(5)) },
      { destination: "5511900000004", sessionCreatedAt: saoPaulo(hoursAgo(23)) },
    ];

    const result = await reconcileSnapshot(
      { target: TARGET, origins: [BUSINESS], measuredAt: new Date(MEASURED), rows },
      deps,
    );

    expect(result.drift).toEqual([
      { origin: BUSINESS, onlyInSnapshot: 2, onlyLive: 1, written: 2 },
    ]);
    expect(await store.windowOf({ destination: "5511900000003", origin: BUSINESS })).toMatchObject({
      lastInboundAt: hoursAgo(5),
      closesAt: hoursAgo(5 - 24),
      seenBy: "snapshot",
    });
    const stored = store.item({ destination: "5511900000003", origin: BUSINESS });
    expect(stored?.expiresAt).toBe(Date.parse(hoursAgo(5 - 24)) / 1000 + 7 * 86_400);
    // The matched window is left as the webhook wrote it.
    expect(await store.windowOf({ destination: "5511900000001", origin: BUSINESS })).toMatchObject({
      seenBy: "webhook",
    });
    expect(metricValue(result.metrics, "WindowsOnlyInSnapshot", { Origin: BUSINESS })).toBe(2);
    expect(metricValue(result.metrics, "WindowsOnlyLive", { Origin: BUSINESS })).toBe(1);
    expect(metricValue(result.metrics, "SnapshotWindowsWritten", { Origin: BUSINESS })).toBe(2);
  });

  it("never moves a window backward", async () => {
    const { store, deps } = prepare();
    // Closed by our clock (opened 30 h ago), so the row does not match an open window...
    store.recordInbound({
      destination: "5511900000001",
      origin: BUSINESS,
      lastInboundAt: hoursAgo(30),
    });
    // ...and a closed window with a later inbound than the CSV's (the CSV is older than it).
    const later = new MemoryWindowStore();
    later.recordInbound({
      destination: "5511900000002",
      origin: BUSINESS,
      lastInboundAt: hoursAgo(1),
    });
    const result = await reconcileSnapshot(
      {
        target: TARGET,
        origins: [BUSINESS],
        measuredAt: new Date(MEASURED),
        rows: [{ destination: "5511900000001", sessionCreatedAt: saoPaulo(hoursAgo(4)) }],
      },
      deps,
    );
    expect(result.drift[0]?.written).toBe(1);
    expect(
      (await store.windowOf({ destination: "5511900000001", origin: BUSINESS }))?.lastInboundAt,
    ).toBe(hoursAgo(4));
    // The same store rule refuses an older time outright.
    expect(
      await later.advance({
        destination: "5511900000002",
        origin: BUSINESS,
        seenBy: "snapshot",
        lastInboundAt: hoursAgo(2),
        closesAt: hoursAgo(-22),
        expiresAt: 0,
        updatedAt: NOW,
      }),
    ).toBe(false);
  });

  it("does not write an unreadable time or a row whose 24 h have passed", async () => {
    const { store, deps } = prepare();
    const result = await reconcileSnapshot(
      {
        target: TARGET,
        origins: [BUSINESS],
        measuredAt: new Date(MEASURED),
        rows: [
          { destination: "5511900000001", sessionCreatedAt: "not a time" },
          { destination: "5511900000002", sessionCreatedAt: saoPaulo(hoursAgo(25)) },
        ],
      },
      deps,
    );
    expect(result.notWritable).toBe(2);
    expect(result.drift[0]).toMatchObject({ onlyInSnapshot: 2, written: 0 });
    expect(store.items.size).toBe(0);
  });

  it("with several origins matches rows to open windows and writes none it cannot place", async () => {
    const { store, deps } = prepare();
    store.recordInbound({
      destination: "5511900000001",
      origin: SECOND,
      lastInboundAt: hoursAgo(2),
    });
    const result = await reconcileSnapshot(
      {
        target: TARGET,
        origins: [BUSINESS, SECOND],
        measuredAt: new Date(MEASURED),
        rows: [
          { destination: "5511900000001", sessionCreatedAt: saoPaulo(hoursAgo(2)) },
          { destination: "5511900000009", sessionCreatedAt: saoPaulo(hoursAgo(2)) },
        ],
      },
      deps,
    );
    expect(result.ambiguous).toBe(1);
    expect(store.items.size).toBe(1);
    expect(result.drift.every((drift) => drift.onlyLive === 0 && drift.written === 0)).toBe(true);
    expect(metricValue(result.metrics, "WindowsOnlyInSnapshot", { Origin: "ambiguous" })).toBe(1);
  });

  it("does nothing for a target without origins", async () => {
    const { store, deps } = prepare();
    const result = await reconcileSnapshot(
      {
        target: TARGET,
        origins: [],
        measuredAt: new Date(MEASURED),
        rows: [{ destination: "5511900000001", sessionCreatedAt: saoPaulo(hoursAgo(2)) }],
      },
      deps,
    );
    expect(result.reconciled).toBe(false);
    expect(store.items.size).toBe(0);
  });

  it("measures a CSV written in UTC while WAVY_TIMEZONE says São Paulo: offset 0, alarm", async () => {
    const { store, deps } = prepare();
    const rows: SnapshotRow[] = [];
    for (let i = 1; i <= 4; i++) {
      const destination = `551190000000${i}`;
      store.recordInbound({ destination, origin: BUSINESS, lastInboundAt: hoursAgo(i) });
      rows.push({ destination, sessionCreatedAt: utcText(hoursAgo(i)) });
    }
    // A snapshot-written window never measures: it holds the zone's own assumption.
    await store.advance({
      destination: "5511900000009",
      origin: BUSINESS,
      seenBy: "snapshot",
      lastInboundAt: hoursAgo(1),
      closesAt: hoursAgo(-23),
      expiresAt: 0,
      updatedAt: NOW,
    });
    rows.push({ destination: "5511900000009", sessionCreatedAt: saoPaulo(hoursAgo(1)) });

    const result = await reconcileSnapshot(
      { target: TARGET, origins: [BUSINESS], measuredAt: new Date(MEASURED), rows },
      deps,
    );

    expect(result.zone).toMatchObject({
      decided: true,
      pairs: 4,
      offsetMinutes: 0,
      expectedOffsetMinutes: -180,
      mismatch: true,
    });
    const dims = { CustomerId: "42", SubAccountId: "all" };
    expect(metricValue(result.metrics, "CsvUtcOffsetMinutes", dims)).toBe(0);
    expect(metricValue(result.metrics, "CsvZoneMismatch", dims)).toBe(1);
  });

  it("reads rows from an async iterable (the counter's stream)", async () => {
    const { deps } = prepare();
    async function* rows() {
      yield { destination: "5511900000003", sessionCreatedAt: saoPaulo(hoursAgo(5)) };
    }
    const result = await reconcileSnapshot(
      { target: TARGET, origins: [BUSINESS], measuredAt: new Date(MEASURED), rows: rows() },
      deps,
    );
    expect(result.rows).toBe(1);
    expect(result.drift[0]?.written).toBe(1);
  });

  it("takes its rows from the counter's CSV scanner (onRow), in chunks", async () => {
    const { store, deps } = prepare();
    store.recordInbound({
      destination: "5511900000001",
      origin: BUSINESS,
      lastInboundAt: hoursAgo(2),
    });
    const reconciler = new SnapshotReconciler(
      { target: TARGET, origins: [BUSINESS], measuredAt: new Date(MEASURED) },
      deps,
    );
    await reconciler.begin();
    const scanner = createCsvScanner({ onRow: reconciler.onRow });
    const csv = `source;session_created_at\r\n5511900000001;${saoPaulo(hoursAgo(2))}\r\n"5511900000003";${saoPaulo(hoursAgo(5))}\r\n`;
    const bytes = new TextEncoder().encode(csv);
    for (let at = 0; at < bytes.length; at += 7) scanner.write(bytes.subarray(at, at + 7));
    expect(scanner.finish()).toBe(2);

    const result = await reconciler.finish();
    expect(result.rows).toBe(2);
    expect(result.drift[0]).toMatchObject({ onlyInSnapshot: 1, onlyLive: 0, written: 1 });
    expect(await store.windowOf({ destination: "5511900000003", origin: BUSINESS })).toMatchObject({
      seenBy: "snapshot",
      lastInboundAt: hoursAgo(5),
    });
  });
});
