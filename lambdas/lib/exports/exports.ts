import type { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Clock, Deadline } from "../clock.js";
import { companionOf, pendingCompanion } from "../companions/readiness.js";
import { EXPORT_STATUS, EXPORT_TRIGGER } from "../contract.js";
import type { FieldVisitor } from "../csv/scanner.js";
import { errorSummary, InternalError, NotFoundError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { copyToS3 } from "./copy-to-s3.js";
import type { CompletionEvents } from "./events.js";
import {
  type ClosingDocument,
  type CompanionDocument,
  type ExportDocument,
  type ExportManifest,
  exportKey,
  type FailedManifest,
  manifestKey,
  namesOwnCsv,
  newExportId,
  type SucceededDocument,
  type SucceededManifest,
} from "./export-document.js";
import { exportSinks, type PendingClosing } from "./export-sinks.js";
import { deleteHistoryEntry, historyEntryKey, writeHistoryEntry } from "./history.js";
import { deleteQuietly, readManifest, writeManifest } from "./manifest-store.js";
import { settleIfOverdue } from "./settle.js";
import { storageFailure } from "./storage-failure.js";

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
  /** IANA zone of Wavy's offset-less timestamps (WAVY_TIMEZONE), for the companion. */
  timeZone?: string;
  /** GET /sessions/closing: also list the destinations closing within this many minutes. */
  closingWithinMinutes?: number;
}

/**
 * The synchronous export: Wavy → S3, the CSV copied byte for byte (and, in the same pass, the
 * closing-soon list when asked for), its history entry and manifest, the event, then a fresh
 * download URL. The companion is built after, by its own function (docs/contract.md, "Companions").
 *
 * The manifest is written before the CSV is made visible (copyToS3's beforeCommit), so a failed
 * manifest write aborts an upload nobody can see, instead of leaving under `exports/` a CSV the
 * API can never find. If the CSV's commit fails after the manifest, all three keys are deleted.
 * A failure stores nothing and is announced with the document the export would have had
 * (docs/contract.md, "Events").
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
  const beside = exportSinks(target, exportId, createdAt, {
    s3: deps.s3,
    bucket: deps.bucket,
    signal: deps.deadline.signal,
    closingWithinMinutes: deps.closingWithinMinutes,
  });
  let manifest: SucceededManifest | undefined;
  try {
    const csv = await deps.openCsv(target, deps.deadline);
    await copyToS3(csv, {
      s3: deps.s3,
      bucket: deps.bucket,
      key: started.key,
      signal: deps.deadline.signal,
      onTimestamp: deps.onTimestamp,
      rowSinks: beside.sinks,
      timeZone: deps.timeZone,
      beforeCommit: async (figures) => {
        const written: SucceededManifest = {
          ...started,
          status: EXPORT_STATUS.succeeded,
          ...figures,
          sessionsKey: beside.sessionsKey,
          completedAt: deps.clock().toISOString(),
        };
        await recordNewExport(written, deps, deps.deadline.signal);
        manifest = written;
      },
    });
  } catch (error) {
    if (manifest) {
      await Promise.all(
        [manifestKey(exportId), started.key, historyEntryKey(manifest)].map((key) =>
          deleteQuietly(key, deps),
        ),
      );
    }
    const failed: FailedManifest = {
      ...started,
      status: EXPORT_STATUS.failed,
      error: errorSummary(error),
      completedAt: deps.clock().toISOString(),
    };
    await deps.events.put(failed);
    throw error;
  }
  if (!manifest) throw new Error("copyToS3 returned without committing the manifest");
  const stored: SucceededManifest = manifest;
  logger.info("Export stored", { exportId, key: stored.key, rows: stored.rows });
  await deps.events.put(stored);
  const document = await withDownloadUrl(stored, deps, pendingCompanion(stored));
  if (!beside.closing) return document;
  return { ...document, closing: await closingDocument(beside.closing, deps) };
}

async function closingDocument(
  closing: PendingClosing,
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

/**
 * Stores a new export's history entry, then its manifest (If-None-Match: the id is fresh, so a
 * manifest already there is a bug). The entry goes first so that every manifest is listed; an
 * entry whose manifest failed is taken back, and one left by a crash in between is skipped by
 * the listing (it has no manifest to read).
 */
export async function recordNewExport(
  manifest: ExportManifest,
  store: ExportBucket,
  signal: AbortSignal | undefined,
): Promise<void> {
  await writeHistoryEntry(manifest, store, signal);
  const written = await writeManifest(manifest, { kind: "new" }, store, signal).catch(
    async (error: unknown) => {
      await deleteHistoryEntry(manifest, store);
      throw error;
    },
  );
  if (written === undefined) {
    await deleteHistoryEntry(manifest, store);
    logger.error("A new export's manifest already existed", { exportId: manifest.exportId });
    throw new InternalError("Internal error");
  }
}

/**
 * The export in its current status, an overdue running one settled as failed first; a succeeded
 * one with a freshly minted download URL. NotFoundError if it is gone. `signal` is the request's
 * deadline; every S3 call and body read runs under it.
 */
export async function readExport(
  exportId: string,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<ExportDocument> {
  const stored = await readManifest(exportId, store, signal);
  if (!stored) throw new NotFoundError(`No export with id "${exportId}"`);
  return toDocument(await settleIfOverdue(stored, store, signal), store, signal);
}

/**
 * What the API answers for a manifest. The manifest trust rule first (docs/contract.md, "S3
 * layout"): a manifest naming another bucket or key is a 500 for the operator, whatever its
 * status. A succeeded export's CSV must be stored (see assertStored), and gets a fresh URL.
 */
export async function toDocument(
  manifest: ExportManifest,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<ExportDocument> {
  if (!namesOwnCsv(manifest, store.bucket)) {
    // For the operator: someone rewrote it. The caller learns nothing more than a 500.
    logger.error("An export manifest names an object other than its own export's CSV", {
      exportId: manifest.exportId,
      bucket: manifest.bucket,
      key: manifest.key,
    });
    throw new InternalError("Internal error");
  }
  if (manifest.status !== EXPORT_STATUS.succeeded) return manifest;
  await assertStored(manifest, store, signal);
  return withDownloadUrl(
    manifest,
    store,
    await companionOf(manifest, companionExists(store, signal), store.clock()),
  );
}

/**
 * A synchronous export's manifest is written just before its CSV is committed, so for a moment
 * (or for good, when the commit failed and so did the clean-up) a manifest can name a CSV that is
 * not there: that export does not exist, and a duplicate request waiting on it must keep waiting.
 * HeadObject needs s3:GetObject, and answers 404 rather than 403 only with s3:ListBucket
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); the roles have both.
 */
async function assertStored(
  manifest: SucceededManifest,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<void> {
  try {
    await store.s3.send(new HeadObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }), {
      abortSignal: signal,
    });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NotFound" || name === "NoSuchKey") {
      logger.warn("An export manifest names a CSV that is not stored", {
        exportId: manifest.exportId,
      });
      throw new NotFoundError(`No export with id "${manifest.exportId}"`);
    }
    throw storageFailure(`Checking the CSV of ${manifest.exportId} failed`, error, signal);
  }
}

async function withDownloadUrl(
  manifest: SucceededManifest,
  store: ExportBucket,
  companion: CompanionDocument,
): Promise<SucceededDocument> {
  // sessionsKey is null, not absent, for manifests written before the companion existed.
  return {
    ...manifest,
    sessionsKey: manifest.sessionsKey ?? null,
    companion,
    ...(await presign(manifest.key, store)),
  };
}

/**
 * HeadObject of the companion's key, under the request's deadline: the export function's role
 * may read `sessions/*` for it (s3:GetObject; s3:ListBucket so that a missing key is a 404,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 */
function companionExists(store: ExportBucket, signal: AbortSignal) {
  return async (key: string): Promise<boolean> => {
    try {
      await store.s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }), {
        abortSignal: signal,
      });
      return true;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NotFound" || name === "NoSuchKey") return false;
      throw storageFailure(`Checking the companion of ${key} failed`, error, signal);
    }
  };
}

/** A fresh presigned GET of an object in the configured bucket. */
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

export { isNoSuchKey, safeJson } from "./manifest-store.js";
