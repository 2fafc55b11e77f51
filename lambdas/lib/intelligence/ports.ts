/**
 * What window intelligence talks to (docs/contract.md, "Window intelligence"): the windows table,
 * the event bus and the metrics, as ports. The adapters (DynamoDB, EventBridge, EMF) and the
 * in-memory store for tests implement them; the domain modules import only this file.
 */

/** One window as issue 20's table holds it (ISO-8601 UTC strings with milliseconds). */
export interface WindowRecord {
  destination: string;
  origin: string;
  lastInboundAt: string;
  closesAt: string;
  /** `webhook` | `snapshot`: who last moved the window. */
  seenBy: string;
  lastMessageId?: string;
  /** The closesAt a `Window Closing` notice was claimed for (the sweeper's claim). */
  closingNoticeFor?: string;
}

export interface WindowKey {
  destination: string;
  origin: string;
}

/** A window added from a counter's CSV (`seenBy: snapshot`). */
export interface SnapshotWindow extends WindowKey {
  lastInboundAt: string;
  closesAt: string;
  /** Epoch seconds: closesAt + the retention, for the table's TTL. */
  expiresAt: number;
  updatedAt: string;
}

export interface ClosingQuery {
  /** closesAt in [from, to], soonest first. */
  from: string;
  to: string;
  /** Leave out windows whose notice was claimed for their current closesAt. */
  unnoticedOnly?: boolean;
  limit: number;
  /** From the previous page; undefined for the first. */
  cursor?: string;
}

export interface ClosingPage {
  windows: WindowRecord[];
  /** Undefined on the last page. */
  cursor?: string;
}

export interface WindowStore {
  get(key: WindowKey): Promise<WindowRecord | undefined>;
  /** One page of an origin's windows by closesAt: the index `byOriginClosesAt`, never a scan. */
  closing(origin: string, query: ClosingQuery): Promise<ClosingPage>;
  /**
   * The webhook's rule: written only if the item has no lastInboundAt or an earlier one, so a
   * window never moves backward. False when the condition kept the item as it was.
   */
  advanceFromSnapshot(window: SnapshotWindow): Promise<boolean>;
  /**
   * Claims the notice of the window instance ending at `closesAt`: true for exactly one caller,
   * and only while the item still closes then and no notice was claimed for that closesAt.
   */
  claimClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<boolean>;
  /** Takes back a claim whose event could not be put (only if it is still that claim). */
  releaseClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<void>;
}

/** An event for the bus: source `wavy-sessions`, the detail as a JSON object. */
export interface WindowEvent {
  detailType: string;
  detail: Record<string, unknown>;
}

export interface WindowEventBus {
  /** Puts the events; answers, per event in order, whether the bus accepted it. */
  put(events: readonly WindowEvent[]): Promise<boolean[]>;
}

/** A metric datum to emit; the emitter aggregates equal name + dimensions. */
export interface MetricPoint {
  name: string;
  dimensions: Record<string, string>;
  value: number;
  unit: "Count" | "None";
}

/** Who a business number belongs to: the stack's targets and their `origins`. */
export interface OriginTarget {
  customerId: string;
  subAccountId: string | null;
  origins: readonly string[];
}
