import * as z from "zod/mini";
import type { Clock } from "../clock.js";
import {
  INTELLIGENCE_DIMENSION,
  INTELLIGENCE_METRIC,
  OUTSIDE_WINDOW_CODES,
  WINDOW_EVENT,
} from "../contract.js";
import type { WindowRecord, WindowStore } from "../windows/window-store.js";
import { count, OriginDirectory, targetDimensions } from "./metric-points.js";
import type { MetricPoint, OriginTarget, WindowEvent, WindowEventBus } from "./ports.js";

/**
 * Wavy's status callbacks explained (docs/contract.md, "Status callbacks explained"): each item
 * counted by status; a 210 or 104 announced with what the table knew of that window when the
 * message was sent, so a CRM can switch to a template.
 */

const MINUTE_MS = 60_000;

/** Wavy's field table and examples disagree on types: a number or its digits. */
const digits = z.pipe(
  z.string().check(z.regex(/^\s*-?\d{1,15}\s*$/)),
  z.transform((text: string) => Number(text.trim())),
);
const numberish = z.union([z.number().check(z.refine(Number.isSafeInteger)), digits]);
const keyText = z.pipe(
  z.union([
    z.string().check(z.trim(), z.minLength(1), z.maxLength(64)),
    z.pipe(
      z.number().check(z.refine((n: number) => Number.isSafeInteger(n) && n > 0)),
      z.transform((n: number) => String(n)),
    ),
  ]),
  z.string(),
);
const optionalText = z.optional(z.nullable(z.union([z.string(), z.number()])));
/** Epoch ms or text: the table swaps `sentAt`/`sentDate` as it does `receivedAt`/`receivedDate`. */
const instant = z.optional(z.nullable(z.union([z.number(), z.string()])));

const ItemSchema = z.looseObject({
  id: optionalText,
  correlationId: optionalText,
  destination: keyText,
  origin: keyText,
  sentStatusCode: z.optional(z.nullable(numberish)),
  deliveredStatusCode: z.optional(z.nullable(numberish)),
  readStatusCode: z.optional(z.nullable(numberish)),
  statusCode: z.optional(z.nullable(numberish)),
  sentStatus: z.optional(z.nullable(z.string())),
  deliveredStatus: z.optional(z.nullable(z.string())),
  readStatus: z.optional(z.nullable(z.string())),
  status: z.optional(z.nullable(z.string())),
  sentAt: instant,
  sentDate: instant,
  updatedAt: instant,
  updatedDate: instant,
});
type StatusItem = z.output<typeof ItemSchema>;

const BodySchema = z.looseObject({
  total: z.optional(z.nullable(numberish)),
  data: z.array(z.unknown()),
  clientInfo: z.optional(
    z.nullable(
      z.looseObject({
        customerId: z.optional(z.nullable(z.union([z.string(), z.number()]))),
        subAccountId: z.optional(z.nullable(z.union([z.string(), z.number()]))),
      }),
    ),
  ),
});

export interface RejectedStatusItem {
  /** Position in `data`; -1 when the whole body was refused. */
  index: number;
  /** Why, without the item's numbers. */
  reason: string;
}

export interface StatusCallbackDeps {
  store: Pick<WindowStore, "windowOf">;
  clock: Clock;
  /** The targets and their origins, for the `Origin` labels and per-target counts. */
  targets?: readonly OriginTarget[];
}

export interface StatusCallbackOutcome {
  /** Items read (good and bad). */
  items: number;
  /** Items counted. */
  applied: number;
  rejected: RejectedStatusItem[];
  /** `Send Rejected Outside Window`, one per item with code 104 or 210. */
  events: WindowEvent[];
  metrics: MetricPoint[];
}

export type WindowState = "closed" | "open" | "reopened" | "never-seen";

export interface WindowAtSend {
  state: WindowState;
  lastInboundAt: string | null;
  closesAt: string | null;
  seenBy: string | null;
  closedMinutesBeforeSend: number | null;
}

/** What the product knew of the window when the message was sent. */
export function windowAtSend(record: WindowRecord | undefined, sentAtMs: number): WindowAtSend {
  if (!record) {
    return {
      state: "never-seen",
      lastInboundAt: null,
      closesAt: null,
      seenBy: null,
      closedMinutesBeforeSend: null,
    };
  }
  const lastInbound = Date.parse(record.lastInboundAt);
  const closes = Date.parse(record.closesAt);
  const known = {
    lastInboundAt: record.lastInboundAt,
    closesAt: record.closesAt,
    seenBy: record.seenBy,
  };
  if (lastInbound > sentAtMs) return { state: "reopened", ...known, closedMinutesBeforeSend: null };
  if (closes <= sentAtMs) {
    return {
      state: "closed",
      ...known,
      closedMinutesBeforeSend: Math.floor((sentAtMs - closes) / MINUTE_MS),
    };
  }
  return { state: "open", ...known, closedMinutesBeforeSend: null };
}

/** Epoch ms of a Wavy instant (epoch ms, its digits, or ISO-8601), or NaN. */
export function readInstant(value: number | string | null | undefined): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string" || !value.trim()) return Number.NaN;
  const text = value.trim();
  if (/^\d{10,15}$/.test(text)) return Number(text);
  // An ISO time without an offset is not UTC by any rule Wavy documents: refused, not guessed.
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) return Number.NaN;
  return Date.parse(text);
}

function sentAtOf(item: StatusItem): number {
  for (const value of [item.sentAt, item.sentDate, item.updatedAt, item.updatedDate]) {
    const ms = readInstant(value);
    if (!Number.isNaN(ms)) return ms;
  }
  return Number.NaN;
}

/** The furthest stage the item reports, as a bounded dimension value. */
export function statusOf(item: StatusItem): string {
  const raw = item.readStatus ?? item.deliveredStatus ?? item.sentStatus ?? item.status;
  const status = raw?.trim().toUpperCase();
  return status && /^[A-Z0-9_]{1,40}$/.test(status) ? status : "UNKNOWN";
}

export function outsideWindowCode(item: StatusItem): number | undefined {
  const codes = [
    item.sentStatusCode,
    item.deliveredStatusCode,
    item.readStatusCode,
    item.statusCode,
  ].filter((code): code is number => typeof code === "number");
  return OUTSIDE_WINDOW_CODES.find((code) => codes.includes(code));
}

const textOrNull = (value: string | number | null | undefined): string | null =>
  value === undefined || value === null || value === "" ? null : String(value);

function parseBody(
  body: string | unknown,
): { ok: true; data: z.output<typeof BodySchema> } | { ok: false; reason: string } {
  let json: unknown = body;
  if (typeof body === "string") {
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, reason: "the body is not JSON" };
    }
  }
  const parsed = BodySchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: "the body has no data array" };
  return { ok: true, data: parsed.data };
}

function itemReason(error: z.core.$ZodError): string {
  const fields = [...new Set(error.issues.map((issue) => issue.path.join(".") || "item"))];
  return `unreadable ${fields.slice(0, 5).join(", ")}`;
}

/**
 * Reads a status bulk (the queue message's body, as Wavy sent it) and says what to emit. A bad
 * item never stops the rest. The table is only read (for 104/210 items), never written: a status
 * callback says nothing about the user's window opening.
 */
export async function applyStatusCallbacks(
  body: string | unknown,
  deps: StatusCallbackDeps,
): Promise<StatusCallbackOutcome> {
  const parsed = parseBody(body);
  if (!parsed.ok) {
    return {
      items: 0,
      applied: 0,
      rejected: [{ index: -1, reason: parsed.reason }],
      events: [],
      metrics: [],
    };
  }
  const { data, clientInfo } = parsed.data;
  const directory = new OriginDirectory(deps.targets);
  const readAt = deps.clock().getTime();
  const rejected: RejectedStatusItem[] = [];
  const metrics: MetricPoint[] = [];
  const outside: { item: StatusItem; code: number }[] = [];

  data.forEach((raw, index) => {
    const item = ItemSchema.safeParse(raw);
    if (!item.success) {
      rejected.push({ index, reason: itemReason(item.error) });
      return;
    }
    const origin = directory.label(item.data.origin);
    metrics.push(
      count(INTELLIGENCE_METRIC.deliveryOutcomes, {
        [INTELLIGENCE_DIMENSION.origin]: origin,
        [INTELLIGENCE_DIMENSION.status]: statusOf(item.data),
      }),
    );
    const code = outsideWindowCode(item.data);
    if (code !== undefined) outside.push({ item: item.data, code });
  });

  // One read per rejected send, all at once: a bulk is small (a queue message, 256 KB at most).
  const records = await Promise.all(
    outside.map(({ item }) =>
      deps.store.windowOf(
        { destination: item.destination, origin: item.origin },
        { consistent: true },
      ),
    ),
  );
  const events: WindowEvent[] = outside.map(({ item, code }, at) => {
    const sentAt = sentAtOf(item);
    const target = directory.targetOf(item.origin);
    metrics.push(
      count(INTELLIGENCE_METRIC.sendsRejectedOutsideWindow, {
        [INTELLIGENCE_DIMENSION.origin]: directory.label(item.origin),
      }),
    );
    if (target)
      metrics.push(count(INTELLIGENCE_METRIC.sendsRejectedOutsideWindow, targetDimensions(target)));
    return {
      detailType: WINDOW_EVENT.sendRejected,
      detail: {
        destination: item.destination,
        origin: item.origin,
        code,
        status: statusOf(item),
        messageId: textOrNull(item.id),
        correlationId: textOrNull(item.correlationId),
        sentAt: Number.isNaN(sentAt) ? null : new Date(sentAt).toISOString(),
        customerId: textOrNull(clientInfo?.customerId),
        subAccountId: textOrNull(clientInfo?.subAccountId),
        window: windowAtSend(records[at], Number.isNaN(sentAt) ? readAt : sentAt),
      },
    };
  });

  return {
    items: data.length,
    applied: data.length - rejected.length,
    rejected,
    events,
    metrics,
  };
}

export interface StatusMessageDeps extends StatusCallbackDeps {
  bus: WindowEventBus;
}

export interface StatusMessageResult extends StatusCallbackOutcome {
  /** Events the bus did not take: the processor reports the message as a batch item failure. */
  eventsRefused: number;
}

/**
 * What the queue processor calls for a message with `kind` = `status`: the bulk applied, its
 * events put. When some event could not be put, the message is to be retried (SQS redelivers
 * it; the events already put go out again, which consumers deduplicate on messageId + code).
 * The metrics are the caller's to emit once the message is settled (emitMetricPoints), so a
 * retried message is not counted twice.
 */
export async function processStatusMessage(
  body: string | unknown,
  deps: StatusMessageDeps,
): Promise<StatusMessageResult> {
  const outcome = await applyStatusCallbacks(body, deps);
  const accepted = outcome.events.length > 0 ? await deps.bus.put(outcome.events) : [];
  return { ...outcome, eventsRefused: accepted.filter((ok) => !ok).length };
}
