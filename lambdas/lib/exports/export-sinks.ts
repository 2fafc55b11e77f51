import type { S3Client } from "@aws-sdk/client-s3";
import type { SessionTarget } from "../ids.js";
import { type ClosingList, createClosingList } from "../sessions/closing-list.js";
import { createSessionRecordWriter } from "../sessions/session-records.js";
import type { SessionRowSink } from "../sessions/session-rows.js";
import { closingKey, sessionsKey } from "./export-document.js";
import { PartUploader } from "./part-uploader.js";

const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";
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
  /** The normalised companion's key (the manifest's sessionsKey). */
  sessionsKey: string;
  closing?: PendingClosing;
}

/**
 * The row sinks of every copy pass (synchronous export, worker, scheduled snapshot): always the
 * normalised Parquet companion; the closing-soon list when asked for. One place, so no pass can
 * forget the companion.
 */
export function exportSinks(
  target: SessionTarget,
  exportId: string,
  createdAt: Date,
  store: { s3: S3Client; bucket: string; signal?: AbortSignal; closingWithinMinutes?: number },
): ExportSinks {
  const upload = (key: string, contentType: string) =>
    new PartUploader({
      s3: store.s3,
      bucket: store.bucket,
      key,
      contentType,
      signal: store.signal,
    });
  const companionKey = sessionsKey(target, exportId, createdAt);
  const sinks: SessionRowSink[] = [
    createSessionRecordWriter({
      exportId,
      exportedAt: createdAt,
      sink: upload(companionKey, PARQUET_CONTENT_TYPE),
    }),
  ];
  if (store.closingWithinMinutes === undefined) return { sinks, sessionsKey: companionKey };
  const withinMinutes = store.closingWithinMinutes;
  const key = closingKey(target, exportId, createdAt, withinMinutes);
  const list = createClosingList({
    fromMs: createdAt.getTime(),
    withinMinutes,
    sink: upload(key, CSV_CONTENT_TYPE),
  });
  sinks.push(list);
  return { sinks, sessionsKey: companionKey, closing: { list, key, withinMinutes } };
}
