import type { S3Client } from "@aws-sdk/client-s3";
import type { SessionTarget } from "../ids.js";
import { PartUploader } from "../s3/part-uploader.js";
import { type ClosingList, createClosingList } from "../sessions/closing-list.js";
import type { SessionRowSink } from "../sessions/session-rows.js";
import { closingKey, sessionsKey } from "./export-document.js";

/** The closing-soon list an export writes for GET /sessions/closing. */
export interface PendingClosing {
  list: ClosingList;
  key: string;
  withinMinutes: number;
}

/**
 * What one copy pass writes beside the CSV (copyToS3's row sinks): the closing-soon list when
 * GET /sessions/closing asked for one, nothing otherwise; and only the key of the Parquet
 * companion, which is built after the export from the stored CSV (docs/contract.md,
 * "Companions"): the request path copies and counts, nothing more (issue 19).
 */
export interface ExportSinks {
  sinks: SessionRowSink[];
  sessionsKey: string;
  closing?: PendingClosing;
}

export function exportSinks(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  store: { s3: S3Client; bucket: string; signal?: AbortSignal; closingWithinMinutes?: number },
): ExportSinks {
  const companionKey = sessionsKey(target, exportId, createdAt);
  const withinMinutes = store.closingWithinMinutes;
  if (withinMinutes === undefined) return { sinks: [], sessionsKey: companionKey };
  const key = closingKey(target, exportId, createdAt, withinMinutes);
  const { s3, bucket, signal } = store;
  const sink = new PartUploader({
    s3,
    bucket,
    key,
    contentType: "text/csv; charset=utf-8",
    signal,
  });
  const list = createClosingList({ fromMs: createdAt.getTime(), withinMinutes, sink });
  return { sinks: [list], sessionsKey: companionKey, closing: { list, key, withinMinutes } };
}
