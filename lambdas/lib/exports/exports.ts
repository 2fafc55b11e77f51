import type { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Clock, Deadline } from "../clock.js";
import { EXPORT_STATUS, EXPORT_TRIGGER } from "../contract.js";
import type { FieldVisitor } from "../csv/scanner.js";
import { errorSummary, InternalError, NotFoundError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { copyToS3 } from "./copy-to-s3.js";
import type { CompletionEvents } from "./events.js";
import {
  type ExportDocument,
  type ExportManifest,
  exportKey,
  type FailedManifest,
  newExportId,
  type SucceededDocument,
  type SucceededManifest,
} from "./export-document.js";
import { deleteHistoryEntry, writeHistoryEntry } from "./history.js";
import { deleteQuietly, readManifest, writeManifest } from "./manifest-store.js";
import { settleIfOverdue } from "./settle.js";

export interface ExportBucket {
  s3: S3Client;
  bucket: string;
  downloadUrlTtlSeconds: number;
  clock: Clock;
  events: CompletionEvents;
}

export interface CreateExportDeps extends ExportBucket {
  /** Opens the target's CSV (openSessionCsv in production, with the handler's collaborators). */
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  deadline: Deadline;
  newExportId?: (createdAt: Date) => string;
  trigger?: SucceededManifest["trigger"];
  /** Sees every data row's session_created_at as the copy scans it (a snapshot's tally). */
  onTimestamp?: FieldVisitor;
}

/**
 * The synchronous export: Wavy → S3, the CSV copied byte for byte, then its history entry and
 * manifest, then the event, then a fresh download URL. A failure stores nothing and is announced
 * with the document the export would have had (docs/contract.md, "Events").
 */
export async function createExport(
  target: SessionTarget,
  deps: CreateExportDeps,
): Promise<SucceededDocument> {
  const createdAt = deps.clock();
  const exportId = (deps.newExportId ?? newExportId)(createdAt);
  const started = {
    exportId,
    trigger: deps.trigger ?? EXPORT_TRIGGER.request,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: deps.bucket,
    key: exportKey(target, exportId, createdAt),
    createdAt: createdAt.toISOString(),
  };
  let manifest: SucceededManifest;
  try {
    const csv = await deps.openCsv(target, deps.deadline);
    const figures = await copyToS3(csv, {
      s3: deps.s3,
      bucket: deps.bucket,
      key: started.key,
      signal: deps.deadline.signal,
      onTimestamp: deps.onTimestamp,
    });
    manifest = {
      ...started,
      status: EXPORT_STATUS.succeeded,
      ...figures,
      completedAt: deps.clock().toISOString(),
    };
    await recordNewExport(manifest, deps).catch(async (error: unknown) => {
      // A CSV without its manifest cannot be found through the API: take it back.
      await deleteQuietly(started.key, deps);
      throw error;
    });
  } catch (error) {
    const failed: FailedManifest = {
      ...started,
      status: EXPORT_STATUS.failed,
      error: errorSummary(error),
      completedAt: deps.clock().toISOString(),
    };
    await deps.events.put(failed);
    throw error;
  }
  logger.info("Export stored", { exportId, key: manifest.key, rows: manifest.rows });
  await deps.events.put(manifest);
  return withDownloadUrl(manifest, deps);
}

/**
 * Stores a new export's history entry, then its manifest (If-None-Match: the id is fresh, so a
 * manifest already there is a bug). The entry goes first so that every manifest is listed; an
 * entry whose manifest failed is taken back, and one left by a crash in between is skipped by
 * the listing (it has no manifest to read).
 */
export async function recordNewExport(
  manifest: ExportManifest,
  store: ExportBucket,
): Promise<void> {
  await writeHistoryEntry(manifest, store);
  const written = await writeManifest(manifest, { kind: "new" }, store).catch(
    async (error: unknown) => {
      await deleteHistoryEntry(manifest, store);
      throw error;
    },
  );
  if (written === undefined) {
    logger.error("A new export's manifest already existed", { exportId: manifest.exportId });
    throw new InternalError("Internal error");
  }
}

/** The export in its current status (an overdue running one is settled as failed first). */
export async function readExport(exportId: string, store: ExportBucket): Promise<ExportDocument> {
  const stored = await readManifest(exportId, store);
  if (!stored) throw new NotFoundError(`No export with id "${exportId}"`);
  return toDocument(await settleIfOverdue(stored, store), store);
}

/** What the API answers for a manifest: a succeeded export gets a fresh download URL. */
export function toDocument(manifest: ExportManifest, store: ExportBucket): Promise<ExportDocument> {
  return manifest.status === EXPORT_STATUS.succeeded
    ? withDownloadUrl(manifest, store)
    : Promise.resolve(manifest);
}

async function withDownloadUrl(
  manifest: SucceededManifest,
  store: ExportBucket,
): Promise<SucceededDocument> {
  const now = store.clock();
  const downloadUrl = await getSignedUrl(
    store.s3,
    new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }),
    { expiresIn: store.downloadUrlTtlSeconds, signingDate: now },
  );
  const expiresAt = new Date(now.getTime() + store.downloadUrlTtlSeconds * 1000);
  return { ...manifest, downloadUrl, downloadUrlExpiresAt: expiresAt.toISOString() };
}

export { isNoSuchKey, safeJson } from "./manifest-store.js";
