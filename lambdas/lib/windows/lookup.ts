import { WINDOW_LOOKUP } from "../contract.js";
import { InvalidRequestError } from "../errors.js";
import { type StoredWindow, viewOf, type WindowView } from "./window.js";
import type { ClosingPosition, WindowStore } from "./window-store.js";

/**
 * The two lookups (docs/contract.md, "Live windows", "Lookups"): one store call each, and "now"
 * read once, after the store answered, so `open` and `minutesLeft` agree with each other and
 * with what was read.
 */

export interface DestinationWindows {
  destination: string;
  windows: WindowView[];
}

export interface ClosingWindows {
  origin: string;
  closingWithinMinutes: number;
  windows: (WindowView & { destination: string })[];
  nextCursor: string | null;
}

export interface ClosingRequest {
  origin: string;
  closingWithinMinutes: number;
  limit: number;
  cursor?: string;
}

export async function windowsOfDestination(
  destination: string,
  origin: string | undefined,
  deps: { store: WindowStore; nowMs: () => number },
): Promise<DestinationWindows> {
  const stored =
    origin === undefined
      ? await deps.store.windowsOf(destination)
      : [await deps.store.windowOf({ destination, origin })].filter(
          (window): window is StoredWindow => window !== undefined,
        );
  const nowMs = deps.nowMs();
  return { destination, windows: stored.map((window) => viewOf(window, nowMs)) };
}

export async function windowsClosingSoon(
  request: ClosingRequest,
  deps: { store: WindowStore; nowMs: () => number },
): Promise<ClosingWindows> {
  const startAfter =
    request.cursor === undefined ? undefined : decodeCursor(request.cursor, request.origin);
  const queryNow = deps.nowMs();
  let to = new Date(queryNow + request.closingWithinMinutes * 60_000).toISOString();
  // A page resumes at its cursor, which DynamoDB requires to lie inside the key condition: so
  // `from` is the cursor's closesAt, and windows that closed since are dropped below.
  const from = startAfter?.closesAt ?? new Date(queryNow + 1).toISOString();
  if (startAfter && startAfter.closesAt > to) to = startAfter.closesAt;
  const page = await deps.store.closingWindows({
    origin: request.origin,
    from,
    to,
    limit: request.limit,
    ...(startAfter && { startAfter }),
  });
  const nowMs = deps.nowMs();
  const windows = page.windows
    .map((window) => ({ destination: window.destination, ...viewOf(window, nowMs) }))
    .filter((window) => window.open);
  return {
    origin: request.origin,
    closingWithinMinutes: request.closingWithinMinutes,
    windows,
    nextCursor: page.next ? encodeCursor(page.next) : null,
  };
}

export function encodeCursor(position: ClosingPosition): string {
  return Buffer.from(
    JSON.stringify([position.closesAt, position.destination, position.origin]),
  ).toString("base64url");
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A cursor of ours, for this origin; anything else is the caller's mistake. */
export function decodeCursor(cursor: string, origin: string): ClosingPosition {
  const invalid = () =>
    new InvalidRequestError("cursor: not a cursor this route gave, or for another origin");
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf-8"));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !parsed.every((part) => typeof part === "string" && part.length > 0)
  ) {
    throw invalid();
  }
  const [closesAt, destination, cursorOrigin] = parsed as [string, string, string];
  if (
    cursorOrigin !== origin ||
    !ISO_MS.test(closesAt) ||
    destination.length > WINDOW_LOOKUP.maxNumberLength
  ) {
    throw invalid();
  }
  return { closesAt, destination, origin };
}
