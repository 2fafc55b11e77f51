import type { StoredWindow, WindowWrite } from "./window.js";

/**
 * The windows table's one storage port (docs/contract.md, "Live windows" and "Window
 * intelligence"): the webhook's processor, the lookups, the counter, the reconciliation and the
 * closing-notice sweeper all talk to it. Adapters: the DynamoDB table in Lambda
 * (dynamodb-window-store.ts), a Map in unit tests (memory-window-store.ts). Each method but the
 * counts is one request to the table, so a lookup costs one GetItem or Query. A failed condition
 * is an answer (false), never an error.
 */
export interface WindowStore {
  /**
   * The forward-only rule: writes the window only if it is new or moves `lastInboundAt` forward;
   * answers whether it did. A replay, a duplicate or an older MO (or snapshot row) is a no-op.
   * A write without `lastMessageId` (a snapshot's) removes the stored one, which named an older MO.
   */
  advance(window: WindowWrite): Promise<boolean>;
  /**
   * One GetItem. `consistent`: a strongly consistent read, for a read right after a write
   * (a 210 read right after the MO that closed the gap must see it); it costs twice the units.
   */
  windowOf(key: WindowKey, options?: { consistent?: boolean }): Promise<WindowRecord | undefined>;
  /** Every window of one destination, by origin. */
  windowsOf(destination: string): Promise<WindowRecord[]>;
  /**
   * Windows of `origin` with `from <= closesAt <= to`, soonest first, a page at a time: the index
   * `byOriginClosesAt`, never a scan. `limit` counts the windows read, before `unnoticedOnly`
   * leaves some out, so a page may hold fewer and still have a `next`.
   */
  closingWindows(query: ClosingQuery): Promise<ClosingPage>;
  /** How many windows of `origin` have `closesAt > after`. */
  countClosingAfter(origin: string, after: string): Promise<number>;
  /**
   * Claims the notice of the window instance ending at `closesAt`: true for exactly one caller,
   * and only while the item still closes then and no notice was claimed for that closesAt.
   */
  claimClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<boolean>;
  /** Takes back a claim whose event could not be put (only if it is still that claim). */
  releaseClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<void>;
}

export interface WindowKey {
  destination: string;
  origin: string;
}

/** A window as read back: the stored window and what the MO and the sweeper add to it. */
export interface WindowRecord extends StoredWindow {
  lastMessageId?: string;
  /** The closesAt a `Window Closing` notice was claimed for (the sweeper's claim). */
  closingNoticeFor?: string;
}

/** Where a page of closing windows ended: the index's and the table's keys of its last item. */
export interface ClosingPosition extends WindowKey {
  closesAt: string;
}

export interface ClosingQuery {
  origin: string;
  from: string;
  to: string;
  limit: number;
  /** The previous page's `next`; absent for the first page. */
  startAfter?: ClosingPosition;
  /** Leave out windows whose notice was claimed for their current closesAt. */
  unnoticedOnly?: boolean;
}

export interface ClosingPage {
  windows: WindowRecord[];
  /** Absent on the last page. */
  next?: ClosingPosition;
}
