import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Clock, Deadline } from "../clock.js";
import { InternalError, NotFoundError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { type ClosingList, createClosingList } from "../sessions/closing-list.js";
import { createSessionRecordWriter } from "../sessions/session-records.js";
import type { SessionRowSink } from "../sessions/session-rows.js";
import { copyToS3 } from "./copy-to-s3.js";
import {
  type ClosingDocument,
  closingKey,
  type ExportDocument,
  type ExportManifest,
  ExportManifestSchema,
  exportKey,
  manifestKey,
  newExportId,
  sessionsKey,
} from "./export-document.js";
import { PartUploader } from "./part-uploader.js";

const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";
const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

export interface ExportBucket {
  s3: S3Client;
  bucket: string;
  downloadUrlTtlSeconds: number;
  clock: Clock;
}

export interface CreateExportDeps extends ExportBucket {
  /** Opens the target's CSV (openSessionCsv in production, with the handler's collaborators). */
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  deadline: Deadline;
  newExportId?: (createdAt: Date) => string;
  /** IANA zone of Wavy's offset-less timestamps (WAVY_TIMEZONE), for the companion. */
  timeZone: string;
  /** GET /sessions/closing: also list the destinations closing within this many minutes. */
  closingWithinMinutes?: number;
}

/**
 * Wavy → S3: the CSV copied byte for byte and, in the same pass, its normalised companion (and
 * the closing-soon list when asked for), then its manifest, then a fresh download URL.
 */
export async function createExport(
  target: SessionTarget,
  deps: CreateExportDeps,
): Promise<ExportDocument> {
  const createdAt = deps.clock();
  const exportId = (deps.newExportId ?? newExportId)(createdAt);
  const key = exportKey(target, exportId, createdAt);
  const companionKey = sessionsKey(target, exportId, createdAt);
  const upload = (objectKey: string, contentType: string) =>
    new PartUploader({
      s3: deps.s3,
      bucket: deps.bucket,
      key: objectKey,
      contentType,
      signal: deps.deadline.signal,
    });
  const companion = createSessionRecordWriter({
    exportId,
    exportedAt: createdAt,
    sink: upload(companionKey, PARQUET_CONTENT_TYPE),
  });
  const sinks: SessionRowSink[] = [companion];
  let closing: { list: ClosingList; key: string; withinMinutes: number } | undefined;
  if (deps.closingWithinMinutes !== undefined) {
    const withinMinutes = deps.closingWithinMinutes;
    const listKey = closingKey(target, exportId, createdAt, withinMinutes);
    const list = createClosingList({
      fromMs: createdAt.getTime(),
      withinMinutes,
      sink: upload(listKey, CSV_CONTENT_TYPE),
    });
    closing = { list, key: listKey, withinMinutes };
    sinks.push(list);
  }

  const csv = await deps.openCsv(target, deps.deadline);
  const figures = await copyToS3(csv, {
    s3: deps.s3,
    bucket: deps.bucket,
    key,
    signal: deps.deadline.signal,
    rowSinks: sinks,
    timeZone: deps.timeZone,
  });

  const manifest: ExportManifest = {
    exportId,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: deps.bucket,
    key,
    sessionsKey: companionKey,
    ...figures,
    createdAt: createdAt.toISOString(),
  };
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: manifestKey(exportId),
        Body: JSON.stringify(manifest),
        ContentType: "application/json",
      }),
    );
  } catch (error) {
    // A CSV without its manifest cannot be found through the API: take it back, and what was
    // written beside it.
    await Promise.all([
      deps.s3
        .send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }))
        .catch(() => logger.error("Could not remove the CSV after its manifest failed", { key })),
      ...sinks.map((sink) => sink.discard()),
    ]);
    logger.error("Writing the export manifest failed", { exportId });
    throw new InternalError("Internal error", { cause: error });
  }
  logger.info("Export stored", { exportId, key, rows: figures.rows, bytes: figures.bytes });
  const document = await withDownloadUrl(manifest, deps);
  if (!closing) return document;
  return { ...document, closing: await closingDocument(closing, deps) };
}

async function closingDocument(
  closing: { list: ClosingList; key: string; withinMinutes: number },
  store: ExportBucket,
): Promise<ClosingDocument> {
  const { downloadUrl, downloadUrlExpiresAt } = await presign(closing.key, store);
  return {
    withinMinutes: closing.withinMinutes,
    count: closing.list.count(),
    key: closing.key,
    downloadUrl,
    downloadUrlExpiresAt,
  };
}

/** The stored document with a freshly minted download URL; NotFoundError if it is gone. */
export async function readExport(exportId: string, store: ExportBucket): Promise<ExportDocument> {
  let text: string;
  try {
    const object = await store.s3.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey(exportId) }),
    );
    text = (await object.Body?.transformToString("utf-8")) ?? "";
  } catch (error) {
    if (isNoSuchKey(error)) {
      throw new NotFoundError(`No export with id "${exportId}"`);
    }
    throw error;
  }
  const parsed = ExportManifestSchema.safeParse(safeJson(text));
  if (!parsed.success || parsed.data.exportId !== exportId) {
    logger.error("An export manifest is unreadable", { exportId });
    throw new InternalError("Internal error");
  }
  return withDownloadUrl(parsed.data, store);
}

async function withDownloadUrl(
  manifest: ExportManifest,
  store: ExportBucket,
): Promise<ExportDocument> {
  return { sessionsKey: null, ...manifest, ...(await presign(manifest.key, store)) };
}

async function presign(
  key: string,
  store: ExportBucket,
): Promise<{ downloadUrl: string; downloadUrlExpiresAt: string }> {
  const now = store.clock();
  const downloadUrl = await getSignedUrl(
    store.s3,
    new GetObjectCommand({ Bucket: store.bucket, Key: key }),
    { expiresIn: store.downloadUrlTtlSeconds, signingDate: now },
  );
  const expiresAt = new Date(now.getTime() + store.downloadUrlTtlSeconds * 1000);
  return { downloadUrl, downloadUrlExpiresAt: expiresAt.toISOString() };
}

export function isNoSuchKey(error: unknown): boolean {
  return error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey";
}

/** The parsed JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
