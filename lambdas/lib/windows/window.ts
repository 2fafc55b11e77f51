import { SESSION_LIFETIME_MS, WINDOW_SEEN_BY } from "../contract.js";
import type { InboundMessage } from "./wavy-callbacks.js";

/**
 * The window rule (docs/contract.md, "Live windows", "Applying an MO"): a user's message opens
 * or restarts the 24 h window of (destination, origin); `lastInboundAt` only moves forward, which
 * the store enforces with a conditional write.
 */

export type SeenBy = (typeof WINDOW_SEEN_BY)[keyof typeof WINDOW_SEEN_BY];

/** A window as stored (the table's item less the bookkeeping). */
export interface StoredWindow {
  destination: string;
  origin: string;
  /** ISO-8601 UTC with milliseconds: sorts as it reads. */
  lastInboundAt: string;
  closesAt: string;
  seenBy: SeenBy;
}

/**
 * What one MO, or one snapshot row (`seenBy: snapshot`), asks the store to write, if it moves the
 * window forward.
 */
export interface WindowWrite extends StoredWindow {
  /** The MO's id; absent for a snapshot row, whose write removes the older MO's id. */
  lastMessageId?: string;
  /** Epoch seconds: DynamoDB's TTL removes the item after. */
  expiresAt: number;
  updatedAt: string;
}

/** What the lookups answer for one window. */
export interface WindowView {
  origin: string;
  open: boolean;
  lastInboundAt: string;
  closesAt: string;
  minutesLeft: number;
  seenBy: SeenBy;
}

const DAY_SECONDS = 86_400;

export function windowWrite(
  message: InboundMessage,
  options: { retentionDays: number; nowMs: number },
): WindowWrite {
  const closesAtMs = message.receivedAtMs + SESSION_LIFETIME_MS;
  return {
    destination: message.destination,
    origin: message.origin,
    lastInboundAt: new Date(message.receivedAtMs).toISOString(),
    closesAt: new Date(closesAtMs).toISOString(),
    seenBy: WINDOW_SEEN_BY.webhook,
    lastMessageId: message.id,
    expiresAt: Math.ceil(closesAtMs / 1000) + options.retentionDays * DAY_SECONDS,
    updatedAt: new Date(options.nowMs).toISOString(),
  };
}

/**
 * The latest MO per window of one body: one write per window instead of one per MO. Equal times
 * keep the first, as the store's `<` condition would.
 */
export function latestPerWindow(messages: readonly InboundMessage[]): InboundMessage[] {
  const latest = new Map<string, InboundMessage>();
  for (const message of messages) {
    const key = `${message.destination}\u0000${message.origin}`;
    const kept = latest.get(key);
    if (!kept || message.receivedAtMs > kept.receivedAtMs) latest.set(key, message);
  }
  return [...latest.values()];
}

/**
 * `open` and `minutesLeft` from one clock reading: minutes are rounded up, so `open` is exactly
 * `minutesLeft > 0` and a window never reads open with 0 minutes left.
 */
export function viewOf(window: StoredWindow, nowMs: number): WindowView {
  const leftMs = Date.parse(window.closesAt) - nowMs;
  const open = leftMs > 0;
  return {
    origin: window.origin,
    open,
    lastInboundAt: window.lastInboundAt,
    closesAt: window.closesAt,
    minutesLeft: open ? Math.ceil(leftMs / 60_000) : 0,
    seenBy: window.seenBy,
  };
}
