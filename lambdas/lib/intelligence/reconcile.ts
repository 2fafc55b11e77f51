import type { Clock } from "../clock.js";
import {
  CSV_ZONE,
  INTELLIGENCE_DIMENSION,
  INTELLIGENCE_METRIC,
  SESSION_LIFETIME_MS,
  WINDOW_SEEN_BY,
} from "../contract.js";
import { createTimestampReader } from "../sessions/timestamp.js";
import type { ClosingPosition, WindowRecord, WindowStore } from "../windows/window-store.js";
import { measureCsvZone, type ZoneMeasurement, type ZonePair } from "./csv-zone.js";
import { count, targetDimensions } from "./metric-points.js";
import type { MetricPoint } from "./ports.js";

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
  store: Pick<WindowStore, "closingWindows" | "advance">;
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

/** What the reconciliation keeps of an open window: ~100 bytes, not the whole item. */
type LiveWindow = Pick<WindowRecord, "destination" | "origin" | "lastInboundAt" | "seenBy">;

async function forEachOpenWindow(
  store: ReconcileDeps["store"],
  origin: string,
  at: Date,
  visit: (window: LiveWindow) => void,
): Promise<void> {
  const query = {
    origin,
    from: new Date(at.getTime() + 1).toISOString(),
    to: new Date(at.getTime() + SESSION_LIFETIME_MS).toISOString(),
    limit: PAGE,
  };
  let startAfter: ClosingPosition | undefined;
  do {
    const page = await store.closingWindows({ ...query, startAfter });
    for (const { destination, lastInboundAt, seenBy } of page.windows) {
      visit({ destination, origin, lastInboundAt, seenBy });
    }
    startAfter = page.next;
  } while (startAfter);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The reconciliation, fed row by row as the counter's scan meets them (`onRow` is the CSV
 * scanner's RowVisitor): `begin()` loads the open windows before the scan, `row()` matches each
 * row at once, `finish()` writes the rows to add (bounded concurrency) and counts. Only the rows
 * to write are held until then (a destination and a time each).
 */
export class SnapshotReconciler {
  private readonly live = new Map<string, LiveWindow[]>();
  private readonly drift: Map<string, OriginDrift>;
  private readonly matched = new Set<LiveWindow>();
  private readonly pairs: ZonePair[] = [];
  private readonly toWrite: { destination: string; createdMs: number }[] = [];
  private readonly readTime: ReturnType<typeof createTimestampReader>;
  private readonly single: string | undefined;
  private readonly now: number;
  private rows = 0;
  private ambiguous = 0;
  private notWritable = 0;

  constructor(
    private readonly input: Omit<ReconcileInput, "rows">,
    private readonly deps: ReconcileDeps,
  ) {
    this.drift = new Map(
      input.origins.map((origin) => [
        origin,
        { origin, onlyInSnapshot: 0, onlyLive: 0, written: 0 },
      ]),
    );
    this.readTime = createTimestampReader(deps.timeZone);
    this.single = input.origins.length === 1 ? input.origins[0] : undefined;
    this.now = deps.clock().getTime();
  }

  /** Loads the origins' windows open at `measuredAt` (the index, a page at a time). */
  async begin(): Promise<void> {
    for (const origin of this.input.origins) {
      await forEachOpenWindow(this.deps.store, origin, this.input.measuredAt, (window) => {
        const list = this.live.get(window.destination);
        if (list) list.push(window);
        else this.live.set(window.destination, [window]);
      });
    }
  }

  /** The CSV scanner's RowVisitor: `source` and `session_created_at` as bytes. */
  readonly onRow = (
    bytes: Uint8Array,
    sourceStart: number,
    sourceEnd: number,
    createdStart: number,
    createdEnd: number,
  ): void => {
    this.row(
      decoder.decode(bytes.subarray(sourceStart, sourceEnd)).trim(),
      bytes.subarray(createdStart, createdEnd),
    );
  };

  row(destination: string, sessionCreatedAt: string | Uint8Array): void {
    this.rows++;
    if (this.input.origins.length === 0) return;
    const windows = this.live.get(destination);
    if (windows) {
      // Several origins open for this user: the CSV row is the latest inbound's.
      const window = windows.reduce((a, b) => (b.lastInboundAt > a.lastInboundAt ? b : a));
      this.matched.add(window);
      if (window.seenBy === "webhook" && this.pairs.length < CSV_ZONE.maxPairs) {
        const text =
          typeof sessionCreatedAt === "string"
            ? sessionCreatedAt
            : decoder.decode(sessionCreatedAt);
        this.pairs.push({ receivedAt: window.lastInboundAt, sessionCreatedAt: text });
      }
      return;
    }
    if (this.single === undefined) {
      this.ambiguous++;
      return;
    }
    (this.drift.get(this.single) as OriginDrift).onlyInSnapshot++;
    const bytes =
      typeof sessionCreatedAt === "string" ? encoder.encode(sessionCreatedAt) : sessionCreatedAt;
    const createdMs = this.readTime(bytes, 0, bytes.length);
    if (Number.isNaN(createdMs) || createdMs + SESSION_LIFETIME_MS <= this.now) {
      this.notWritable++;
      return;
    }
    this.toWrite.push({ destination, createdMs });
  }

  async finish(): Promise<ReconcileResult> {
    const { origins, measuredAt, target } = this.input;
    if (origins.length === 0) {
      return {
        reconciled: false,
        rows: this.rows,
        drift: [],
        ambiguous: 0,
        notWritable: 0,
        zone: measureCsvZone([], this.deps.timeZone),
        metrics: [],
      };
    }
    await this.writeSnapshotWindows();

    const measuredMs = measuredAt.getTime();
    for (const windows of this.live.values()) {
      for (const window of windows) {
        // A window opened after Wavy wrote the CSV is not drift.
        if (this.matched.has(window) || Date.parse(window.lastInboundAt) > measuredMs) continue;
        const originDrift = this.drift.get(window.origin);
        if (originDrift) originDrift.onlyLive++;
      }
    }

    const zone = measureCsvZone(this.pairs, this.deps.timeZone);
    const metrics: MetricPoint[] = [];
    for (const { origin, onlyInSnapshot, onlyLive, written } of this.drift.values()) {
      const dims = { [INTELLIGENCE_DIMENSION.origin]: origin };
      metrics.push(count(INTELLIGENCE_METRIC.windowsOnlyInSnapshot, dims, onlyInSnapshot));
      metrics.push(count(INTELLIGENCE_METRIC.windowsOnlyLive, dims, onlyLive));
      metrics.push(count(INTELLIGENCE_METRIC.snapshotWindowsWritten, dims, written));
    }
    if (this.ambiguous > 0) {
      metrics.push(
        count(
          INTELLIGENCE_METRIC.windowsOnlyInSnapshot,
          { [INTELLIGENCE_DIMENSION.origin]: INTELLIGENCE_DIMENSION.ambiguousOrigin },
          this.ambiguous,
        ),
      );
    }
    metrics.push(...zoneMetrics(target, zone));
    return {
      reconciled: true,
      rows: this.rows,
      drift: [...this.drift.values()],
      ambiguous: this.ambiguous,
      notWritable: this.notWritable,
      zone,
      metrics,
    };
  }

  private async writeSnapshotWindows(): Promise<void> {
    const origin = this.single;
    if (origin === undefined) return;
    const originDrift = this.drift.get(origin) as OriginDrift;
    const updatedAt = new Date(this.now).toISOString();
    let next = 0;
    const worker = async () => {
      while (next < this.toWrite.length) {
        const { destination, createdMs } = this.toWrite[next++] as (typeof this.toWrite)[number];
        const closesMs = createdMs + SESSION_LIFETIME_MS;
        const written = await this.deps.store.advance({
          destination,
          origin,
          seenBy: WINDOW_SEEN_BY.snapshot,
          lastInboundAt: new Date(createdMs).toISOString(),
          closesAt: new Date(closesMs).toISOString(),
          expiresAt: Math.ceil(closesMs / 1000) + this.deps.retentionDays * DAY_SECONDS,
          updatedAt,
        });
        if (written) originDrift.written++;
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
  }
}

/** The whole reconciliation over rows given as an (async) iterable. */
export async function reconcileSnapshot(
  input: ReconcileInput,
  deps: ReconcileDeps,
): Promise<ReconcileResult> {
  const { rows, ...rest } = input;
  const reconciler = new SnapshotReconciler(rest, deps);
  if (rest.origins.length > 0) await reconciler.begin();
  for await (const row of rows) reconciler.row(row.destination, row.sessionCreatedAt);
  return reconciler.finish();
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
