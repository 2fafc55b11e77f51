import { createHash } from "node:crypto";
import { InvalidRequestError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import {
  HISTORY_STAMP_MAX_MS,
  historyPrefix,
  invertedStamp,
  parseHistoryEntryName,
} from "../layout.js";
import type { ExportStore } from "./ports.js";

/**
 * The run history (docs/contract.md, "Run history"): one empty object per export, named so that
 * ListObjectsV2's ascending order lists a target's exports newest first (historyEntryKey). A page
 * is then one listing (StartAfter seeks `to` or the cursor), however long the history.
 */
export interface HistoryQuery {
  target: SessionTarget;
  /** Inclusive bounds on createdAt. */
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

/** The export ids of one page, newest first, and the cursor of the next page if there is one. */
export async function listHistory(
  query: HistoryQuery,
  store: ExportStore,
  signal: AbortSignal,
): Promise<{ exportIds: string[]; nextCursor: string | null }> {
  const prefix = historyPrefix(query.target);
  // Keys sort oldest-last, so `to` is a starting point and `from` an end: a key `<stamp>-…` is
  // longer than `<stamp>`, so StartAfter `<stamp of to>` keeps the exports made exactly at `to`.
  // The later of the cursor and `to`: a page never starts before its query's `to`.
  const seeks = [
    query.to && `${prefix}${invertedStamp(query.to)}`,
    query.cursor !== undefined && `${prefix}${decodeCursor(query.cursor, query)}`,
  ].filter((key) => typeof key === "string");
  const startAfter = seeks.sort().at(-1);
  const lastStamp = query.from && invertedStamp(query.from);
  // Before 1970 (or past 2286) nothing is stored: a `to` there, or a `from` past it, is empty.
  if ((query.to?.getTime() ?? 0) < 0 || (query.from?.getTime() ?? 0) > HISTORY_STAMP_MAX_MS) {
    return { exportIds: [], nextCursor: null };
  }
  // One more than the page: whether there is a next page is known without a second request.
  const keys = await store.list(prefix, { startAfter, maxKeys: query.limit + 1 }, signal);
  const names: string[] = [];
  const exportIds: string[] = [];
  for (const key of keys) {
    const name = key.slice(prefix.length);
    const entry = parseHistoryEntryName(name);
    if (entry === undefined) continue;
    if (lastStamp !== undefined && entry.stamp > lastStamp) break;
    if (names.length === query.limit) {
      const cursor = `${names.at(-1)}/${queryTag(query)}`;
      return { exportIds, nextCursor: Buffer.from(cursor, "utf-8").toString("base64url") };
    }
    names.push(name);
    exportIds.push(entry.exportId);
  }
  return { exportIds, nextCursor: null };
}

/**
 * The cursor is the last entry returned and the query it belongs to (target and bounds), opaque
 * to the caller: a cursor given with another query could seek past that query's `to`.
 */
function queryTag(query: HistoryQuery): string {
  const bounds = [historyPrefix(query.target), query.from?.getTime(), query.to?.getTime()];
  return createHash("sha256").update(JSON.stringify(bounds)).digest("base64url").slice(0, 16);
}

function decodeCursor(cursor: string, query: HistoryQuery): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf-8")
    : "";
  const [name = "", tag] = text.split("/");
  if (parseHistoryEntryName(name) === undefined || tag === undefined) {
    throw new InvalidRequestError("cursor is not a nextCursor this API answered");
  }
  if (tag !== queryTag(query)) {
    throw new InvalidRequestError(
      "cursor belongs to another query: pass it with the same customerId, subAccountId, from and to",
    );
  }
  return name;
}
