import * as z from "zod/mini";
import { WINDOW_LOOKUP } from "../contract.js";
import { describeIssues } from "../ids.js";

/**
 * Wavy's callback bodies, item by item (docs/contract.md, "Live windows", "MO items"): a bulk
 * `{"total", "data": [...]}` whose items are judged one at a time, so one bad item never stops
 * the rest. Pure: no I/O, the clock comes in as a number.
 */

/** An MO that can open or restart a window. */
export interface InboundMessage {
  id: string;
  /** The user's number (Wavy's `source`): the window's `destination`. */
  destination: string;
  /** The business number that received it. */
  origin: string;
  receivedAtMs: number;
}

/** Where in the body a rejection is: an item's index in `data`, or the body as a whole. */
export type ItemPlace = number | "body";

export interface Rejection {
  place: ItemPlace;
  reason: string;
  /** The item exactly as parsed from the body, or the raw body when the body is unreadable. */
  item: unknown;
}

export interface ParsedBulk<T> {
  items: T[];
  rejections: Rejection[];
}

/** Received times before this are not Wavy's (epoch seconds read as milliseconds land in 1970). */
const EARLIEST_RECEIVED_MS = Date.UTC(2010, 0, 1);
/** Clock skew allowed between Wavy and the processor. */
const FUTURE_SKEW_MS = 5 * 60_000;

const numberMessage = `must be a string of 1-${WINDOW_LOOKUP.maxNumberLength} characters without control characters`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;
const contactNumber = z.string(numberMessage).check(
  z.minLength(1, numberMessage),
  z.maxLength(WINDOW_LOOKUP.maxNumberLength, numberMessage),
  z.refine((text: string) => !CONTROL.test(text), numberMessage),
);
const messageId = z
  .string("must be a string of 1-128 characters")
  .check(
    z.minLength(1, "must be a string of 1-128 characters"),
    z.maxLength(128, "must be a string of 1-128 characters"),
  );
/** Wavy's table types `total` and `campaignId` as strings, its examples as numbers. */
const numberOrString = z.optional(
  z.union([z.number(), z.string()], "must be a number or a string"),
);

const MoItemSchema = z.object(
  {
    id: messageId,
    source: contactNumber,
    origin: contactNumber,
    receivedAt: z.optional(z.unknown()),
    receivedDate: z.optional(z.unknown()),
    campaignId: numberOrString,
  },
  "must be a JSON object",
);

const BulkSchema = z.object(
  { total: numberOrString, data: z.array(z.unknown(), "must be an array") },
  "must be a JSON object with a data array",
);

/**
 * One of `receivedAt`/`receivedDate` read whichever way it is written: Wavy's examples put epoch
 * milliseconds in `receivedAt` and ISO-8601 in `receivedDate`, its field table the reverse. A
 * number or a string of digits is epoch milliseconds; a date string needs `Z` or an offset,
 * since a zone-less time could be São Paulo's or UTC's.
 */
export function readInstant(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^[0-9]{1,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    return undefined;
  }
  const ms = Date.parse(text.replace(" ", "T"));
  return Number.isNaN(ms) ? undefined : ms;
}

function receivedTime(
  item: { receivedAt?: unknown; receivedDate?: unknown },
  nowMs: number,
): number | string {
  const ms = readInstant(item.receivedAt) ?? readInstant(item.receivedDate);
  if (ms === undefined) {
    return "receivedAt/receivedDate: neither holds epoch milliseconds or an ISO-8601 time with a zone";
  }
  if (ms < EARLIEST_RECEIVED_MS)
    return "receivedAt: before 2010 (epoch seconds instead of milliseconds?)";
  if (ms > nowMs + FUTURE_SKEW_MS) return "receivedAt: more than 5 minutes in the future";
  return ms;
}

/** The bulk's items, or a rejection of the whole body. */
function bulkItems(body: string): unknown[] | Rejection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { place: "body", reason: "the body is not JSON", item: body };
  }
  const bulk = BulkSchema.safeParse(parsed);
  if (!bulk.success) {
    return { place: "body", reason: `the body ${describeIssues(bulk.error)}`, item: body };
  }
  return bulk.data.data;
}

export function parseMoBulk(body: string, nowMs: number): ParsedBulk<InboundMessage> {
  const items = bulkItems(body);
  if (!Array.isArray(items)) return { items: [], rejections: [items] };
  const result: ParsedBulk<InboundMessage> = { items: [], rejections: [] };
  items.forEach((item, place) => {
    const parsed = MoItemSchema.safeParse(item);
    if (!parsed.success) {
      result.rejections.push({ place, reason: describeIssues(parsed.error), item });
      return;
    }
    const time = receivedTime(parsed.data, nowMs);
    if (typeof time === "string") {
      result.rejections.push({ place, reason: time, item });
      return;
    }
    result.items.push({
      id: parsed.data.id,
      destination: parsed.data.source,
      origin: parsed.data.origin,
      receivedAtMs: time,
    });
  });
  return result;
}
