import { companionOf, pendingCompanion } from "../companions/readiness.js";
import { EXPORT_STATUS } from "../contract.js";
import { InternalError, NotFoundError } from "../errors.js";
import { logger } from "../logger.js";
import {
  type DownloadUrl,
  type ExportDocument,
  type ExportManifest,
  namesOwnCsv,
} from "./export-document.js";
import { type HistoryQuery, listHistory } from "./history.js";
import { readManifest, settle } from "./lifecycle.js";
import type { ExportContext } from "./ports.js";

/**
 * The export in its current status, an overdue running one settled first; a succeeded one with a
 * freshly minted download URL. Undefined when it is not stored. Every call runs under `signal`.
 */
export async function readIfStored(
  exportId: string,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<ExportDocument | undefined> {
  const held = await readManifest(exportId, ctx, signal);
  return held && toDocument(await settle(held, ctx, signal), ctx, signal);
}

/** readIfStored, for a route: an export that is not stored is a 404. */
export async function readExport(exportId: string, ctx: ExportContext, signal: AbortSignal) {
  const document = await readIfStored(exportId, ctx, signal);
  if (!document) throw new NotFoundError(`No export with id "${exportId}"`);
  return document;
}

/** Manifests read at once for a history page: a page is at most 100, S3 takes far more. */
const HISTORY_READ_CONCURRENCY = 20;

/** A page of the run history as documents, newest first. */
export async function listExports(
  query: HistoryQuery,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<{ exports: ExportDocument[]; nextCursor: string | null }> {
  const { exportIds, nextCursor } = await listHistory(query, ctx.store, signal);
  const documents: (ExportDocument | undefined)[] = [];
  let next = 0;
  const readNext = async () => {
    for (let index = next++; index < exportIds.length; index = next++) {
      // An entry without a manifest (a crash between the writes, or a failed synchronous
      // export being taken back) is not an export, so not listed.
      documents[index] = await readIfStored(exportIds[index] ?? "", ctx, signal);
    }
  };
  await Promise.all(Array.from({ length: HISTORY_READ_CONCURRENCY }, readNext));
  return { exports: documents.filter((document) => document !== undefined), nextCursor };
}

/**
 * What the API answers for a manifest. The manifest trust rule first (docs/contract.md, "S3
 * layout"): a manifest naming another bucket or key is a 500 for the operator, whatever its
 * status. A succeeded manifest is written only after its CSV is committed, so it gets a URL
 * without checking the object. `fresh`: a just-finished export, whose companion is pending (its
 * Export Succeeded is not even put); otherwise readiness is read from the companion object.
 */
export async function toDocument(
  manifest: ExportManifest,
  ctx: ExportContext,
  signal: AbortSignal,
  fresh = false,
): Promise<ExportDocument> {
  if (!namesOwnCsv(manifest, ctx.store.bucket)) {
    // For the operator: someone rewrote it. The caller learns nothing more than a 500.
    const { exportId, bucket, key } = manifest;
    const what = { exportId, bucket, key };
    logger.error("An export manifest names an object other than its own export's CSV", what);
    throw new InternalError("Internal error");
  }
  if (manifest.status !== EXPORT_STATUS.succeeded) return manifest;
  const companion = fresh
    ? pendingCompanion(manifest)
    : await companionOf(manifest, (key) => ctx.store.exists(key, signal), ctx.clock());
  const url = await presign(manifest.key, ctx);
  return { ...manifest, sessionsKey: manifest.sessionsKey ?? null, companion, ...url };
}

/** A fresh presigned GET of an object in the configured bucket. */
export async function presign(key: string, ctx: ExportContext): Promise<DownloadUrl> {
  const now = ctx.clock();
  const downloadUrl = await ctx.store.presign(key, ctx.downloadUrlTtlSeconds, now);
  const expiresAt = new Date(now.getTime() + ctx.downloadUrlTtlSeconds * 1000);
  return { downloadUrl, downloadUrlExpiresAt: expiresAt.toISOString() };
}
