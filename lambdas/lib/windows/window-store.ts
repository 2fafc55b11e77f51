import type { StoredWindow, WindowWrite } from "./window.js";

/**
 * The windows' storage port (docs/contract.md, "Live windows"): the DynamoDB table in Lambda
 * (dynamodb-window-store.ts), a Map in unit tests (memory-window-store.ts). Each method is one
 * request to the table, so a lookup costs one GetItem or Query.
 */
export interface WindowStore {
  /**
   * Writes the window only if it moves `lastInboundAt` forward (or the window is new); answers
   * whether it did. A replay, a duplicate or an older MO is a no-op, not an error.
   */
  advance(window: WindowWrite): Promise<boolean>;
  windowOf(destination: string, origin: string): Promise<StoredWindow | undefined>;
  windowsOf(destination: string): Promise<StoredWindow[]>;
  /** Windows of `origin` with `from <= closesAt <= to`, soonest first, a page at a time. */
  closingWindows(query: ClosingQuery): Promise<ClosingPage>;
  /** How many windows of `origin` have `closesAt > after`. */
  countClosingAfter(origin: string, after: string): Promise<number>;
}

/** Where a page of closing windows ended: the index's and the table's keys of its last item. */
export interface ClosingPosition {
  destination: string;
  origin: string;
  closesAt: string;
}

export interface ClosingQuery {
  origin: string;
  from: string;
  to: string;
  limit: number;
  startAfter?: ClosingPosition;
}

export interface ClosingPage {
  windows: StoredWindow[];
  next?: ClosingPosition;
}
