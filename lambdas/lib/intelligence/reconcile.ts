import type { Clock } from "../clock.js";
import { INTELLIGENCE_DIMENSION, INTELLIGENCE_METRIC, SESSION_LIFETIME_MS } from "../contract.js";
import { createTimestampReader } from "../sessions/timestamp.js";
import { measureCsvZone, type ZoneMeasurement, type ZonePair } from "./csv-zone.js";
import { count, targetDimensions } from "./metric-points.js";
import type { MetricPoint, WindowRecord, WindowStore } from "./ports.js";

/**
 * A counter run's CSV merged into the windows table (docs/contract.md, "Snapshots reconciled"):
 * windows the webhook never saw are added with `seenBy: snapshot`, the drift is counted per
 * origin, and the destinations known to both sides measure the CSV's zone.
 */

const DAY_SECONDS = 86_400;
const PAGE = 500;
/** Conditional writes in flight at once: enough to hide latency, few enough for one partition. */
const WRITE_CONCURRENCY = 16;

export interface SnapshotRow {
  /** The CSV's `source`: the user's number (the table's `destination`). */
  destination: string;
  /** `session_created_at` exactly as written. */
  sessionCreatedAt: string;
}

export interface ReconcileInput {
  target: { customerId: string; subAccountId: string | null };
  /** The target's `origins` (CDK context); the CSV has no origin column. */
  origins: readonly string[];
  /** When Wavy was asked for the CSV (the counter's `measuredAt`). */
  measuredAt: Date;
  rows: Iterable<SnapshotRow> | AsyncIterable<SnapshotRow>;
}

export interface ReconcileDeps {
  store: Pick<WindowStore, "closing" | "advanceFromSnapshot">;
  clock: Clock;
  /** WAVY_TIMEZONE: offset-less times are read in it, as the counter reads them. */
  timeZone: string;
  /** WINDOW_RETENTION_DAYS: a written window's TTL is closesAt + this. */
  retentionDays: number;
}

export interface OriginDrift {
  origin: string;
  onlyInSnapshot: number;
  onlyLive: number;
  written: number;
}

export interface ReconcileResult {
  /** False when the target has no origins: nothing was read or written. */
  reconciled: boolean;
  rows: number;
  drift: OriginDrift[];
  /** Rows of a multi-origin target that matched no open window (not written). */
  ambiguous: number;
  /** Rows whose time could not be read, or whose 24 h had passed (not written). */
  notWritable: number;
  zone: ZoneMeasurement;
  metrics: MetricPoint[];
}

async function openWindows(
  store: ReconcileDeps["store"],
  origin: string,
  at: Date,
): Promise<WindowRecord[]> {
  const windows: WindowRecord[] = [];
  const query = {
    from: new Date(at.getTime() + 1).toISOString(),
    to: new Date(at.getTime() + SESSION_LIFETIME_MS).toISOString(),
    limit: PAGE,
  };
  let cursor: string | undefined;
  do {
    const page = await store.closing(origin, { ...query, cursor });
    windows.push(...page.windows);
    cursor = page.cursor;
  } while (cursor);
  return windows;
}

const encoder = new TextEncoder();

export async function reconcileSnapshot(
  input: ReconcileInput,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const { origins, measuredAt, target } = input;
  const emptyZone = measureCsvZone([], deps.timeZone);
  if (origins.length === 0) {
    return {
      reconciled: false,
      rows: 0,
      drift: [],
      ambiguous: 0,
      notWritable: 0,
      zone: emptyZone,
      metrics: [],
    };
  }

  // Destination -> its open windows (one per origin at most).
  const live = new Map<string, WindowRecord[]>();
  for (const origin of origins) {
    for (const window of await openWindows(deps.store, origin, measuredAt)) {
      const list = live.get(window.destination) ?? [];
      list.push(window);
      live.set(window.destination, list);
    }
  }

  const drift = new Map<string, OriginDrift>(
    origins.map((origin) => [origin, { origin, onlyInSnapshot: 0, onlyLive: 0, written: 0 }]),
  );
  const matched = new Set<WindowRecord>();
  const pairs: ZonePair[] = [];
  const readTime = createTimestampReader(deps.timeZone);
  const single = origins.length === 1 ? origins[0] : undefined;
  const now = deps.clock().getTime();
  const updatedAt = new Date(now).toISOString();
  const inFlight = new Set<Promise<void>>();
  let rows = 0;
  let ambiguous = 0;
  let notWritable = 0;

  for await (const row of input.rows) {
    rows++;
    const windows = live.get(row.destination);
    if (windows) {
      // Several origins open for this user: the CSV row is the latest inbound's.
      const window = windows.reduce((a, b) => (b.lastInboundAt > a.lastInboundAt ? b : a));
      matched.add(window);
      if (window.seenBy === "webhook") {
        pairs.push({ receivedAt: window.lastInboundAt, sessionCreatedAt: row.sessionCreatedAt });
      }
      continue;
    }
    if (single === undefined) {
      ambiguous++;
      continue;
    }
    const originDrift = drift.get(single) as OriginDrift;
    originDrift.onlyInSnapshot++;
    const bytes = encoder.encode(row.sessionCreatedAt);
    const createdMs = readTime(bytes, 0, bytes.length);
    const closesMs = createdMs + SESSION_LIFETIME_MS;
    if (Number.isNaN(createdMs) || closesMs <= now) {
      notWritable++;
      continue;
    }
    const write = deps.store
      .advanceFromSnapshot({
        destination: row.destination,
        origin: single,
        lastInboundAt: new Date(createdMs).toISOString(),
        closesAt: new Date(closesMs).toISOString(),
        expiresAt: Math.ceil(closesMs / 1000) + deps.retentionDays * DAY_SECONDS,
        updatedAt,
      })
      .then((written) => {
        if (written) originDrift.written++;
      })
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
    if (inFlight.size >= WRITE_CONCURRENCY) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);

  const measuredMs = measuredAt.getTime();
  for (const windows of live.values()) {
    for (const window of windows) {
      // A window opened after Wavy wrote the CSV is not drift.
      if (matched.has(window) || Date.parse(window.lastInboundAt) > measuredMs) continue;
      const originDrift = drift.get(window.origin);
      if (originDrift) originDrift.onlyLive++;
    }
  }

  const zone = measureCsvZone(pairs, deps.timeZone);
  const metrics: MetricPoint[] = [];
  for (const { origin, onlyInSnapshot, onlyLive, written } of drift.values()) {
    const dims = { [INTELLIGENCE_DIMENSION.origin]: origin };
    metrics.push(count(INTELLIGENCE_METRIC.windowsOnlyInSnapshot, dims, onlyInSnapshot));
    metrics.push(count(INTELLIGENCE_METRIC.windowsOnlyLive, dims, onlyLive));
    metrics.push(count(INTELLIGENCE_METRIC.snapshotWindowsWritten, dims, written));
  }
  if (ambiguous > 0) {
    metrics.push(
      count(
        INTELLIGENCE_METRIC.windowsOnlyInSnapshot,
        { [INTELLIGENCE_DIMENSION.origin]: INTELLIGENCE_DIMENSION.ambiguousOrigin },
        ambiguous,
      ),
    );
  }
  metrics.push(...zoneMetrics(target, zone));
  return {
    reconciled: true,
    rows,
    drift: [...drift.values()],
    ambiguous,
    notWritable,
    zone,
    metrics,
  };
}

/** The zone's figures per target; nothing while undecided (an alarm must not read "0"). */
export function zoneMetrics(
  target: { customerId: string; subAccountId: string | null },
  zone: ZoneMeasurement,
): MetricPoint[] {
  const dims = targetDimensions(target);
  const points: MetricPoint[] = [
    count(INTELLIGENCE_METRIC.csvZoneOutlierPairs, dims, zone.outliers.count),
  ];
  if (zone.decided && zone.offsetMinutes !== null) {
    points.push({
      name: INTELLIGENCE_METRIC.csvUtcOffsetMinutes,
      dimensions: dims,
      value: zone.offsetMinutes,
      unit: "None",
    });
    points.push(count(INTELLIGENCE_METRIC.csvZoneMismatch, dims, zone.mismatch ? 1 : 0));
  }
  return points;
}
