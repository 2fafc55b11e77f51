import type { StoredWindow, WindowWrite } from "./window.js";
import type { ClosingPage, ClosingQuery, WindowStore } from "./window-store.js";

/** The store's rules over a Map, for unit tests of the domain. Same answers as the table. */
export class MemoryWindowStore implements WindowStore {
  readonly items = new Map<string, WindowWrite>();
  /** Requests made, by method: the lookups' "one call per request" is checked on it. */
  readonly calls: string[] = [];

  async advance(window: WindowWrite): Promise<boolean> {
    this.calls.push("advance");
    const key = keyOf(window.destination, window.origin);
    const stored = this.items.get(key);
    if (stored && !(stored.lastInboundAt < window.lastInboundAt)) return false;
    this.items.set(key, { ...window });
    return true;
  }

  async windowOf(destination: string, origin: string): Promise<StoredWindow | undefined> {
    this.calls.push("windowOf");
    const stored = this.items.get(keyOf(destination, origin));
    return stored && stripped(stored);
  }

  async windowsOf(destination: string): Promise<StoredWindow[]> {
    this.calls.push("windowsOf");
    return [...this.items.values()]
      .filter((item) => item.destination === destination)
      .sort((a, b) => (a.origin < b.origin ? -1 : 1))
      .map(stripped);
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
    const windows = matching.slice(0, query.limit).map(stripped);
    const last = windows.at(-1);
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
}

const keyOf = (destination: string, origin: string) => `${destination}\u0000${origin}`;

function stripped(window: WindowWrite): StoredWindow {
  const { destination, origin, lastInboundAt, closesAt, seenBy } = window;
  return { destination, origin, lastInboundAt, closesAt, seenBy };
}
