import type {
  ClosingPage,
  ClosingQuery,
  SnapshotWindow,
  WindowKey,
  WindowRecord,
  WindowStore,
} from "./ports.js";

interface StoredWindow extends WindowRecord {
  expiresAt?: number;
  updatedAt?: string;
  closingNoticeAt?: string;
}

const keyOf = ({ destination, origin }: WindowKey) => JSON.stringify([destination, origin]);

/**
 * The store port in memory, with the DynamoDB adapter's semantics (the same conditions, the
 * index's order, Limit counted before the filter, a cursor after the last item read), for unit
 * tests; test/integration runs the same cases against dynalite.
 */
export class MemoryWindowStore implements WindowStore {
  readonly items = new Map<string, StoredWindow>();

  /** What the webhook's processor does for an MO (issue 20's rule), for tests. */
  recordInbound(window: WindowKey & { lastInboundAt: string; closesAt?: string }): boolean {
    const stored = this.items.get(keyOf(window));
    if (stored && !(stored.lastInboundAt < window.lastInboundAt)) return false;
    const closesAt =
      window.closesAt ?? new Date(Date.parse(window.lastInboundAt) + 86_400_000).toISOString();
    this.items.set(keyOf(window), {
      ...stored,
      destination: window.destination,
      origin: window.origin,
      lastInboundAt: window.lastInboundAt,
      closesAt,
      seenBy: "webhook",
    });
    return true;
  }

  async get(key: WindowKey): Promise<WindowRecord | undefined> {
    const stored = this.items.get(keyOf(key));
    return stored ? { ...stored } : undefined;
  }

  async closing(origin: string, query: ClosingQuery): Promise<ClosingPage> {
    const after = query.cursor ? (JSON.parse(query.cursor) as [string, string]) : undefined;
    const inRange = [...this.items.values()]
      .filter((w) => w.origin === origin && w.closesAt >= query.from && w.closesAt <= query.to)
      .sort((a, b) =>
        a.closesAt === b.closesAt
          ? a.destination.localeCompare(b.destination)
          : a.closesAt.localeCompare(b.closesAt),
      )
      .filter(
        (w) =>
          !after ||
          w.closesAt > after[0] ||
          (w.closesAt === after[0] && w.destination.localeCompare(after[1]) > 0),
      );
    const read = inRange.slice(0, query.limit);
    const last = read.at(-1);
    const more = inRange.length > read.length && last;
    return {
      windows: read
        .filter((w) => !query.unnoticedOnly || w.closingNoticeFor !== w.closesAt)
        .map((w) => ({ ...w })),
      ...(more && { cursor: JSON.stringify([last.closesAt, last.destination]) }),
    };
  }

  async advanceFromSnapshot(window: SnapshotWindow): Promise<boolean> {
    const stored = this.items.get(keyOf(window));
    if (stored && !(stored.lastInboundAt < window.lastInboundAt)) return false;
    this.items.set(keyOf(window), {
      ...stored,
      ...window,
      seenBy: "snapshot",
    });
    return true;
  }

  async claimClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<boolean> {
    const stored = this.items.get(keyOf(key));
    if (!stored || stored.closesAt !== closesAt || stored.closingNoticeFor === closesAt) {
      return false;
    }
    stored.closingNoticeFor = closesAt;
    stored.closingNoticeAt = claimedAt;
    return true;
  }

  async releaseClosingNotice(key: WindowKey, closesAt: string, claimedAt: string): Promise<void> {
    const stored = this.items.get(keyOf(key));
    if (stored?.closingNoticeFor === closesAt && stored.closingNoticeAt === claimedAt) {
      delete stored.closingNoticeFor;
      delete stored.closingNoticeAt;
    }
  }
}
