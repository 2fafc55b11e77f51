import { S3_PREFIX } from "../contract.js";
import { InvalidRequestError } from "../errors.js";
import { type SessionTarget, subAccountLabel } from "../ids.js";
import type { ExportManifest } from "./export-document.js";
import type { ExportStore } from "./store.js";

/**
 * The run history (docs/contract.md, "Run history"): one empty object per export, named so that
 * ListObjectsV2, which returns keys in ascending UTF-8 order, returns a target's exports newest
 * first: `history/customerId=42/subAccountId=all/<9999999999999 - createdAt ms>-<exportId>.json`.
 * A page is then one listing (StartAfter seeks `to` or the cursor) and one read per export
 * returned, however long the history: it reads only what it returns.
 */

/** 13 digits hold every millisecond timestamp up to the year 2286. */
const INVERTED_BASE = 9_999_999_999_999;
const ENTRY_NAME = /^(\d{13})-([A-Za-z0-9_-]{1,128})\.json$/;

export interface HistoryQuery {
  target: SessionTarget;
  /** Inclusive bounds on createdAt. */
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

export interface HistoryPage {
  exportIds: string[];
  nextCursor: string | null;
}

export function historyPrefix(target: SessionTarget): string {
  return `${S3_PREFIX.history}customerId=${target.customerId}/subAccountId=${subAccountLabel(target)}/`;
}

function invertedStamp(time: Date): string {
  return String(INVERTED_BASE - time.getTime()).padStart(13, "0");
}

export function historyEntryKey(manifest: ExportManifest): string {
  const target = { customerId: manifest.customerId, subAccountId: manifest.subAccountId };
  return `${historyPrefix(target)}${invertedStamp(new Date(manifest.createdAt))}-${manifest.exportId}.json`;
}

/** The cursor is the last entry returned, opaque to the caller. */
function encodeCursor(entryName: string): string {
  return Buffer.from(entryName, "utf-8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const name = /^[A-Za-z0-9_-]{1,400}$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf-8")
    : "";
  if (!ENTRY_NAME.test(name)) {
    throw new InvalidRequestError("cursor is not a nextCursor this API answered");
  }
  return name;
}

/** The export ids of one page, newest first, and the cursor of the next page if there is one. */
export async function listHistory(
  query: HistoryQuery,
  store: ExportStore,
  signal: AbortSignal,
): Promise<HistoryPage> {
  const prefix = historyPrefix(query.target);
  // Keys sort oldest-last, so `to` is a starting point and `from` an end: a key `<stamp>-…` is
  // longer than `<stamp>`, so StartAfter `<stamp of to>` keeps the exports made exactly at `to`.
  const startAfter =
    query.cursor !== undefined
      ? `${prefix}${decodeCursor(query.cursor)}`
      : query.to
        ? `${prefix}${invertedStamp(query.to)}`
        : undefined;
  const lastStamp = query.from ? invertedStamp(query.from) : undefined;
  // One more than the page: whether there is a next page is known without a second request.
  const keys = await store.list(prefix, { startAfter, maxKeys: query.limit + 1 }, signal);
  const names: string[] = [];
  let more = false;
  for (const key of keys) {
    const name = key.slice(prefix.length);
    const match = ENTRY_NAME.exec(name);
    if (!match) continue;
    if (lastStamp !== undefined && (match[1] ?? "") > lastStamp) break;
    if (names.length === query.limit) {
      more = true;
      break;
    }
    names.push(name);
  }
  const last = names.at(-1);
  return {
    exportIds: names.map((name) => ENTRY_NAME.exec(name)?.[2] ?? ""),
    nextCursor: more && last !== undefined ? encodeCursor(last) : null,
  };
}
