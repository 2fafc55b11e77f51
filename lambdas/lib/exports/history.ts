import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { InvalidRequestError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import {
  historyEntryName,
  invertedStamp,
  historyPrefix as layoutHistoryPrefix,
  parseHistoryEntryName,
} from "../layout.js";
import type { ExportManifest } from "./export-document.js";
import type { ExportBucket } from "./exports.js";
import { deleteQuietly } from "./manifest-store.js";
import { storageFailure } from "./storage-failure.js";

/**
 * The run history (docs/contract.md, "Run history"): one empty object per export, named so that
 * ListObjectsV2, which returns keys in ascending UTF-8 order, returns a target's exports newest
 * first: `history/customerId=42/subAccountId=all/<9999999999999 - createdAt ms>-<exportId>.json`.
 * A page is then one ListObjectsV2 (StartAfter seeks `to` or the cursor) and one GetObject per
 * export returned, however long the history: it reads only what it returns.
 */

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

/** The entries' keys are index keys, the same under every layout (lambdas/lib/layout.ts). */
export function historyPrefix(target: SessionTarget): string {
  return layoutHistoryPrefix(target);
}

export function historyEntryKey(manifest: ExportManifest): string {
  const target = { customerId: manifest.customerId, subAccountId: manifest.subAccountId };
  return `${historyPrefix(target)}${historyEntryName(new Date(manifest.createdAt), manifest.exportId)}`;
}

export async function writeHistoryEntry(
  manifest: ExportManifest,
  store: ExportBucket,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await store.s3.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: historyEntryKey(manifest),
        Body: "",
        ContentType: "application/json",
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw storageFailure("Writing a history entry failed", error, signal);
  }
}

export function deleteHistoryEntry(manifest: ExportManifest, store: ExportBucket): Promise<void> {
  return deleteQuietly(historyEntryKey(manifest), store);
}

/** The cursor is the last entry returned, opaque to the caller. */
function encodeCursor(entryName: string): string {
  return Buffer.from(entryName, "utf-8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const name = /^[A-Za-z0-9_-]{1,400}$/.test(cursor)
    ? Buffer.from(cursor, "base64url").toString("utf-8")
    : "";
  if (parseHistoryEntryName(name) === undefined) {
    throw new InvalidRequestError("cursor is not a nextCursor this API answered");
  }
  return name;
}

/** The export ids of one page, newest first, and the cursor of the next page if there is one. */
export async function listHistory(
  query: HistoryQuery,
  store: ExportBucket,
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
  let listing: ListObjectsV2CommandOutput;
  try {
    // One more than the page: whether there is a next page is known without a second request.
    listing = await store.s3.send(
      new ListObjectsV2Command({
        Bucket: store.bucket,
        Prefix: prefix,
        MaxKeys: query.limit + 1,
        ...(startAfter !== undefined && { StartAfter: startAfter }),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw storageFailure("Listing the run history failed", error, signal);
  }
  const names: string[] = [];
  const exportIds: string[] = [];
  let more = false;
  for (const object of listing.Contents ?? []) {
    const name = (object.Key ?? "").slice(prefix.length);
    const entry = parseHistoryEntryName(name);
    if (entry === undefined) continue;
    if (lastStamp !== undefined && entry.stamp > lastStamp) break;
    if (names.length === query.limit) {
      more = true;
      break;
    }
    names.push(name);
    exportIds.push(entry.exportId);
  }
  const last = names.at(-1);
  return {
    exportIds,
    nextCursor: more && last !== undefined ? encodeCursor(last) : null,
  };
}
