import { SESSION_LIFETIME_MS, WINDOW_SEEN_BY } from "../contract.js";
import type { WindowWrite } from "./window.js";
import type {
  ClosingPage,
  ClosingQuery,
  WindowKey,
  WindowRecord,
  WindowStore,
} from "./window-store.js";

/** An item as the table holds it: the record and its bookkeeping. */
export interface StoredItem extends WindowRecord {
  expiresAt?: number;
  updatedAt?: string;
  closingNoticeAt?: string;
}

/**
 * The store's rules over a Map, for unit tests of the domain, with the DynamoDB adapter's
 * answers: the same conditions, the index's order (closesAt, then destination), `limit` counted
 * before `unnoticedOnly`, a page's `next` after the last item read. test/integration runs the
 * same cases against dynalite.
 */
export class MemoryWindowStore implements WindowStore {
  readonly items = new Map<string, StoredItem>();
  /** Requests made, by method: the lookups' "one call per request" is checked on it. */
  readonly calls: string[] = [];

  /** The stored item, bookkeeping included, as a test inspects the table. */
  item(key: WindowKey): StoredItem | undefined {
    return this.items.get(keyOf(key));
  }

  /** What the webhook's processor writes for an MO at `lastInboundAt` (synchronous, for tests). */
  recordInbound(
    mo: WindowKey & { lastInboundAt: string; closesAt?: string; lastMessageId?: string },
  ): boolean {
    const { closesAt, lastMessageId, ...window } = mo;
    return this.write({
      ...window,
      closesAt:
        closesAt ?? new Date(Date.parse(mo.lastInboundAt) + SESSION_LIFETIME_MS).toISOString(),
      lastMessageId: lastMessageId ?? "mo-1",
      seenBy: WINDOW_SEEN_BY.webhook,
      expiresAt: 0,
      updatedAt: mo.lastInboundAt,
    });
  }

  async advance(window: WindowWrite): Promise<boolean> {
    this.calls.push("advance");
    return this.write(window);
  }

  async windowOf(key: WindowKey): Promise<WindowRecord | undefined> {
    this.calls.push("windowOf");
    const stored = this.items.get(keyOf(key));
    return stored && record(stored);
  }

  async windowsOf(destination: string): Promise<WindowRecord[]> {
    this.calls.push("windowsOf");
    return [...this.items.values()]
      .filter((item) => item.destination === destination)
      .sort((a, b) => (a.origin < b.origin ? -1 : 1))
      .map(record);
  }

  async closingWindows(query: ClosingQuery): Promise<ClosingPage> {
    this.calls.push("closingWindows");
    const order = (w: { closesAt: string; destination: string }) =>
      `${w.closesAt}\u0000${w.destination}`;
    const after = query.startAfter && order(query.startAfter);
    const matching = [...this.items.values()]
      .filter(
        (w) => w.origin === query.origin && w.closesAt >= query.from && w.closesAt <= query.to,
      )
      .filter((w) => after === undefined || order(w) > after)
      .sort((a, b) => (order(a) < order(b) ? -1 : 1));
    const read = matching.slice(0, query.limit).map(record);
    const windows = query.unnoticedOnly
      ? read.filter((w) => w.closingNoticeFor !== w.closesAt)
      : read;
    const last = read.at(-1);
    return matching.length > query.limit && last
      ? {
          windows,
          next: { destination: last.destination, origin: last.origin, closesAt: last.closesAt },
        }
      : { windows };
  }

  async countClosingAfter(origin: string, after: string): Promise<number> {
    this.calls.push("countClosingAfter");
    return [...this.items.values()].filter((w) => w.origin === origin && w.closesAt > after).length;
  }

  async claimClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<boolean> {
    this.calls.push("claimClosingNotice");
    const stored = this.items.get(keyOf(key));
    if (!stored || stored.closesAt !== closesAt || stored.closingNoticeFor === closesAt) {
      return false;
    }
    stored.closingNoticeFor = closesAt;
    stored.closingNoticeAt = claimedAt;
    return true;
  }

  async releaseClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<void> {
    this.calls.push("releaseClosingNotice");
    const stored = this.items.get(keyOf(key));
    if (stored?.closingNoticeFor === closesAt && stored.closingNoticeAt === claimedAt) {
      delete stored.closingNoticeFor;
      delete stored.closingNoticeAt;
    }
  }

  /** The forward-only rule; a write without `lastMessageId` removes the stored one, as REMOVE does. */
  private write(window: WindowWrite): boolean {
    const key = keyOf(window);
    const stored = this.items.get(key);
    if (stored && !(stored.lastInboundAt < window.lastInboundAt)) return false;
    const { lastMessageId: _older, ...kept } = stored ?? ({} as Partial<StoredItem>);
    this.items.set(key, { ...kept, ...window });
    return true;
  }
}

const keyOf = ({ destination, origin }: WindowKey) => `${destination}\u0000${origin}`;

function record(item: StoredItem): WindowRecord {
  const { expiresAt: _e, updatedAt: _u, closingNoticeAt: _c, ...window } = item;
  return { ...window };
}
