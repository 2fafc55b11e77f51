import { WEBHOOK_KIND, WEBHOOK_REJECTED_PREFIX } from "../contract.js";
import type { MetricPoint } from "../intelligence/ports.js";
import type { StatusMessageResult } from "../intelligence/status-callbacks.js";
import { maskNumber } from "./mask.js";
import { type ItemPlace, parseMoBulk, type Rejection } from "./wavy-callbacks.js";
import { latestPerWindow, windowWrite } from "./window.js";
import type { WindowStore } from "./window-store.js";

/**
 * One queued webhook body, applied (docs/contract.md, "Live windows"): valid MOs move their
 * windows forward, invalid items are kept under `webhooks/rejected/` with their reason, valid
 * status items go to window intelligence (processStatusMessage). Knows nothing of SQS: the handler passes the message's id, its
 * `kind` attribute and its body. Anything that throws (the store, the sink) fails the whole
 * message, which the queue then delivers again; re-applying it is harmless.
 */

export interface QueuedWebhook {
  /** The queue's id for the message: names its rejected items' object, so a redelivery overwrites it. */
  messageId: string;
  /** The `kind` attribute as the route set it; anything else is rejected whole. */
  kind: string | undefined;
  body: string;
}

/** Where rejected items are kept: the S3 adapter in Lambda, an array in tests. */
export interface RejectedItemSink {
  keep(key: string, document: RejectedItemDocument): Promise<void>;
}

/**
 * All the rejected items of one message, in one object: one PutObject per message whatever the
 * body holds, so a 1 MiB body of a hundred thousand bad items costs one write, not one each.
 */
export interface RejectedItemDocument {
  kind: string;
  messageId: string;
  rejectedAt: string;
  items: { index: ItemPlace; reason: string; item: unknown }[];
}

export interface WebhookLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/**
 * Window intelligence's status path (docs/contract.md, "Status callbacks explained"):
 * `processStatusMessage` bound to its store, bus, clock and targets by the handler.
 */
export type StatusCallbacks = (
  body: string,
) => Promise<Pick<StatusMessageResult, "rejected" | "eventsRefused" | "metrics">>;

/**
 * Thrown when the bus did not take all of a status message's events: the message fails, the
 * queue delivers it again, and none of its figures is emitted (counted once, when it settles).
 */
export class StatusEventsRefused extends Error {
  override readonly name = "StatusEventsRefused";
  constructor(readonly refused: number) {
    super(`${refused} window event(s) refused by the bus`);
  }
}

export interface WebhookDeps {
  store: WindowStore;
  statusCallbacks: StatusCallbacks;
  rejected: RejectedItemSink;
  nowMs: () => number;
  retentionDays: number;
  logger: WebhookLogger;
  /** How many writes one message keeps in flight. */
  concurrency?: number;
}

export interface WebhookOutcome {
  kind: string;
  /** Valid MO items (a no-op by the forward-only rule included). */
  applied: number;
  /** Windows actually written. */
  moved: number;
  rejected: number;
  /** Window intelligence's figures for a status message (DeliveryOutcomes, SendsRejected…). */
  points: MetricPoint[];
}

const KNOWN_KINDS: readonly string[] = Object.values(WEBHOOK_KIND);
/** Rejections a log line shows; the count and the stored object have them all. */
const LOGGED_REJECTIONS = 3;

export async function applyWebhookMessage(
  message: QueuedWebhook,
  deps: WebhookDeps,
): Promise<WebhookOutcome> {
  const nowMs = deps.nowMs();
  const kind =
    message.kind !== undefined && KNOWN_KINDS.includes(message.kind) ? message.kind : "unknown";
  const outcome: WebhookOutcome = { kind, applied: 0, moved: 0, rejected: 0, points: [] };
  let rejections: Rejection[];

  if (kind === WEBHOOK_KIND.mo) {
    const bulk = parseMoBulk(message.body, nowMs);
    rejections = bulk.rejections;
    outcome.applied = bulk.items.length;
    const writes = latestPerWindow(bulk.items).map((mo) =>
      windowWrite(mo, { retentionDays: deps.retentionDays, nowMs }),
    );
    const moved = await inPool(writes, deps.concurrency ?? 8, (write) => deps.store.advance(write));
    outcome.moved = moved.filter(Boolean).length;
  } else if (kind === WEBHOOK_KIND.status) {
    const result = await deps.statusCallbacks(message.body);
    // Before anything is kept or counted: the redelivery does both.
    if (result.eventsRefused > 0) throw new StatusEventsRefused(result.eventsRefused);
    rejections = statusRejections(message.body, result.rejected);
    outcome.points = result.metrics;
  } else {
    rejections = [
      {
        place: "body",
        reason: `unknown kind ${JSON.stringify(String(message.kind).slice(0, 40))}`,
        item: message.body,
      },
    ];
  }

  if (rejections.length > 0) {
    const rejectedAt = new Date(nowMs).toISOString();
    // One line per message, its first few reasons: a body of bad items cannot flood the log.
    deps.logger.warn("webhook items rejected", {
      kind,
      messageId: message.messageId,
      rejected: rejections.length,
      first: rejections.slice(0, LOGGED_REJECTIONS).map((rejection) => ({
        index: rejection.place,
        reason: maskedReason(rejection.reason),
        ...numbersOf(rejection.item),
      })),
    });
    await deps.rejected.keep(rejectedItemsKey(kind, rejectedAt, message.messageId), {
      kind,
      messageId: message.messageId,
      rejectedAt,
      items: rejections.map((rejection) => ({
        index: rejection.place,
        reason: rejection.reason,
        item: rejection.item,
      })),
    });
  }
  outcome.rejected = rejections.length;
  return outcome;
}

/**
 * Window intelligence answers a rejection by its index (-1: the whole body); the kept object
 * holds the item as Wavy sent it, as an MO rejection does.
 */
function statusRejections(
  body: string,
  rejected: readonly { index: number; reason: string }[],
): Rejection[] {
  if (rejected.length === 0) return [];
  let data: unknown[] = [];
  try {
    const json = JSON.parse(body) as { data?: unknown };
    if (Array.isArray(json?.data)) data = json.data;
  } catch {
    // Unreadable: the rejection is then the body's (index -1).
  }
  return rejected.map((rejection) =>
    rejection.index < 0
      ? { place: "body", reason: rejection.reason, item: body }
      : { place: rejection.index, reason: rejection.reason, item: data[rejection.index] },
  );
}

/** `webhooks/rejected/<kind>/<YYYY-MM-DD>/<messageId>.json` (docs/contract.md, "Rejected items"). */
export function rejectedItemsKey(kind: string, rejectedAt: string, messageId: string): string {
  const safeId = messageId.replace(/[^A-Za-z0-9_-]/g, "_");
  return `${WEBHOOK_REJECTED_PREFIX}${kind}/${rejectedAt.slice(0, 10)}/${safeId}.json`;
}

/** The item's numbers, masked, so an operator can match a log line to a complaint. */
function numbersOf(item: unknown): Record<string, string> {
  if (typeof item !== "object" || item === null) return {};
  const fields: Record<string, string> = {};
  for (const name of ["source", "destination", "origin"] as const) {
    const value = (item as Record<string, unknown>)[name];
    if (typeof value === "string" || typeof value === "number") fields[name] = maskNumber(value);
  }
  return fields;
}

/** A reason never quotes a number in full: runs of 5 or more digits are masked. */
function maskedReason(reason: string): string {
  return reason.replace(/\d{5,}/g, (digits) => maskNumber(digits));
}

/** `work` over `items`, at most `limit` at a time, results in order. */
async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}
