import type { S3Client } from "@aws-sdk/client-s3";
import type { SessionTarget } from "../ids.js";
import { type ClosingList, createClosingList } from "../sessions/closing-list.js";
import type { SessionRowSink } from "../sessions/session-rows.js";
import { closingKey, sessionsKey } from "./export-document.js";
import { PartUploader } from "./part-uploader.js";

const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

/** The closing-soon list an export writes for GET /sessions/closing. */
export interface PendingClosing {
  list: ClosingList;
  key: string;
  withinMinutes: number;
}

/** What one copy pass writes beside the CSV, handed to copyToS3 as its row sinks. */
export interface ExportSinks {
  sinks: SessionRowSink[];
  /**
   * Where the companion function will write the export's Parquet companion (the manifest's
   * sessionsKey). Only its key: the companion is built after the export, from the stored CSV
   * (docs/contract.md, "Companions").
   */
  sessionsKey: string;
  closing?: PendingClosing;
}

/**
 * The row sinks of a copy pass: the closing-soon list when GET /sessions/closing asked for one,
 * since that list is the caller's answer; nothing otherwise. Derived data (the companion) is not
 * built here: the request path copies and counts, nothing more (issue 19).
 */
export function exportSinks(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  store: { s3: S3Client; bucket: string; signal?: AbortSignal; closingWithinMinutes?: number },
): ExportSinks {
  const companionKey = sessionsKey(target, exportId, createdAt);
  if (store.closingWithinMinutes === undefined) return { sinks: [], sessionsKey: companionKey };
  const withinMinutes = store.closingWithinMinutes;
  const key = closingKey(target, exportId, createdAt, withinMinutes);
  const list = createClosingList({
    fromMs: createdAt.getTime(),
    withinMinutes,
    sink: new PartUploader({
      s3: store.s3,
      bucket: store.bucket,
      key,
      contentType: CSV_CONTENT_TYPE,
      signal: store.signal,
    }),
  });
  return { sinks: [list], sessionsKey: companionKey, closing: { list, key, withinMinutes } };
}
