import type { Clock } from "../clock.js";
import {
  CLOSING_NOTICES,
  INTELLIGENCE_DIMENSION,
  INTELLIGENCE_METRIC,
  WINDOW_EVENT,
} from "../contract.js";
import type { ClosingPosition, WindowRecord, WindowStore } from "../windows/window-store.js";
import { count } from "./metric-points.js";
import type { MetricPoint, WindowEvent, WindowEventBus } from "./ports.js";

/**
 * The nudge before a window closes (docs/contract.md, "Closing notices"). One `Window Closing`
 * per window instance (destination, origin, closesAt): the window is claimed by a conditional
 * write BEFORE the event is put, so two sweepers at once put one event, and a window restarted
 * since (closesAt moved) fails the claim. At most once: a refused put takes its claim back; only
 * a sweeper dying between claim and put loses a notice (a duplicate would make a CRM send the
 * user two charged templates; a lost one costs one reminder).
 */

const MINUTE_MS = 60_000;
/** Windows read per query page; also the claims in flight at once. */
const PAGE = 100;
/** PutEvents takes at most 10 entries. */
const PUT_BATCH = 10;

/** Per origin (business number), the lead time in minutes: `CLOSING_NOTICES` / `closingNotices`. */
export type ClosingNoticeSettings = Readonly<Record<string, number>>;

export interface SweepDeps {
  store: Pick<WindowStore, "closingWindows" | "claimClosingNotice" | "releaseClosingNotice">;
  bus: WindowEventBus;
  clock: Clock;
  /** Notices per origin per run (CLOSING_NOTICES.maxPerOriginPerRun). */
  maxPerOrigin?: number;
  /** Time left for this run, in ms; the sweep stops taking new pages at 0. */
  remainingMs?: () => number;
}

export interface OriginSweep {
  origin: string;
  closingNoticeMinutes: number;
  sent: number;
  /** Claimed by another sweeper, or the window moved between the query and the claim. */
  lostClaims: number;
  /** Left for the next run: the cap, the budget, or a put the bus refused. */
  deferred: number;
  /** True when every window in the lead was looked at. */
  complete: boolean;
}

export interface SweepResult {
  origins: OriginSweep[];
  /** The events put (for local printing and tests). */
  events: WindowEvent[];
  metrics: MetricPoint[];
}

export function closingEvent(window: WindowRecord, minutes: number, nowMs: number): WindowEvent {
  return {
    detailType: WINDOW_EVENT.closing,
    detail: {
      destination: window.destination,
      origin: window.origin,
      closesAt: window.closesAt,
      lastInboundAt: window.lastInboundAt,
      minutesLeft: Math.max(0, Math.floor((Date.parse(window.closesAt) - nowMs) / MINUTE_MS)),
      closingNoticeMinutes: minutes,
      seenBy: window.seenBy,
    },
  };
}

async function sweepOrigin(
  origin: string,
  minutes: number,
  deps: SweepDeps,
  events: WindowEvent[],
): Promise<OriginSweep> {
  const cap = deps.maxPerOrigin ?? CLOSING_NOTICES.maxPerOriginPerRun;
  const nowMs = deps.clock().getTime();
  const now = new Date(nowMs).toISOString();
  const result: OriginSweep = {
    origin,
    closingNoticeMinutes: minutes,
    sent: 0,
    lostClaims: 0,
    deferred: 0,
    complete: false,
  };
  const query = {
    origin,
    // Strictly after now: a window closing this very millisecond is closed.
    from: new Date(nowMs + 1).toISOString(),
    to: new Date(nowMs + minutes * MINUTE_MS).toISOString(),
    unnoticedOnly: true,
    limit: PAGE,
  };
  let startAfter: ClosingPosition | undefined;
  do {
    if (result.sent >= cap || (deps.remainingMs && deps.remainingMs() <= 0)) {
      result.deferred++;
      return result;
    }
    const page = await deps.store.closingWindows({ ...query, startAfter });
    startAfter = page.next;
    const room = cap - result.sent;
    const todo = page.windows.slice(0, room);
    result.deferred += page.windows.length - todo.length;

    const claims = await Promise.all(
      todo.map((window) => deps.store.claimClosingNotice(window, window.closesAt, now)),
    );
    const claimed = todo.filter((_, at) => claims[at]);
    result.lostClaims += todo.length - claimed.length;

    for (let start = 0; start < claimed.length; start += PUT_BATCH) {
      const batch = claimed.slice(start, start + PUT_BATCH);
      const batchEvents = batch.map((window) => closingEvent(window, minutes, nowMs));
      let accepted: boolean[];
      try {
        accepted = await deps.bus.put(batchEvents);
      } catch {
        accepted = batch.map(() => false);
      }
      const refused: WindowRecord[] = [];
      batch.forEach((window, at) => {
        if (accepted[at]) {
          result.sent++;
          events.push(batchEvents[at] as WindowEvent);
        } else refused.push(window);
      });
      // Taken back so the next run tries again; a release that fails leaves it at most once.
      await Promise.all(
        refused.map((window) =>
          deps.store.releaseClosingNotice(window, window.closesAt, now).catch(() => undefined),
        ),
      );
      result.deferred += refused.length;
    }
    if (result.deferred > 0 && result.sent >= cap) return result;
  } while (startAfter);
  result.complete = result.deferred === 0;
  return result;
}

export async function sweepClosingNotices(
  settings: ClosingNoticeSettings,
  deps: SweepDeps,
): Promise<SweepResult> {
  const events: WindowEvent[] = [];
  const origins: OriginSweep[] = [];
  // Origins one after another: each is a handful of queries, and the budget is shared fairly
  // enough by the per-origin cap.
  for (const [origin, minutes] of Object.entries(settings)) {
    origins.push(await sweepOrigin(origin, minutes, deps, events));
  }
  const metrics = origins.flatMap(({ origin, sent, deferred }) => {
    const dims = { [INTELLIGENCE_DIMENSION.origin]: origin };
    return [
      count(INTELLIGENCE_METRIC.closingNoticesSent, dims, sent),
      count(INTELLIGENCE_METRIC.closingNoticesDeferred, dims, deferred),
    ];
  });
  return { origins, events, metrics };
}
