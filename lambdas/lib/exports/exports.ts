import type { Deadline } from "../clock.js";
import { companionOf, pendingCompanion } from "../companions/readiness.js";
import { EXPORT_STATUS } from "../contract.js";
import { InternalError, NotFoundError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import {
  type ExportDocument,
  type ExportManifest,
  namesOwnCsv,
  type SucceededDocument,
  type SucceededManifest,
} from "./export-document.js";
import { abandon, begin, copyExport, finish, type RunSteps, readManifest } from "./lifecycle.js";
import { settle } from "./settle.js";
import type { ExportContext } from "./store.js";

export interface InlineRun {
  exportId: string;
  trigger: SucceededManifest["trigger"];
  /** The run's whole time, for deadlineAt: the budget plus the clean-up grace. */
  runMs: number;
  deadline: Deadline;
  steps: RunSteps;
}

/**
 * A synchronous export or a snapshot: the whole lifecycle inline, under the caller's deadline.
 * On failure the caller is answered the error, so the run stores nothing (lifecycle's abandon)
 * and the error is thrown as the copy raised it.
 */
export async function runInline(
  target: SessionTarget,
  run: InlineRun,
  ctx: ExportContext,
): Promise<SucceededManifest> {
  const createdAt = ctx.clock();
  const held = await begin(
    target,
    {
      exportId: run.exportId,
      trigger: run.trigger,
      createdAt,
      startedAt: createdAt.toISOString(),
      deadlineAt: new Date(createdAt.getTime() + run.runMs).toISOString(),
    },
    ctx,
    run.deadline.signal,
  );
  const outcome = await copyExport(held.manifest, run.steps, run.deadline, ctx);
  if ("failed" in outcome) {
    await abandon(held, outcome.failed, ctx);
    throw outcome.error;
  }
  const ended = await finish(held, outcome.ended, outcome.committed, ctx, run.deadline.signal);
  if (ended.status !== EXPORT_STATUS.succeeded) {
    throw new UpstreamTimeoutError("The export was settled before it could finish");
  }
  logger.info("Export stored", { exportId: ended.exportId, key: ended.key, rows: ended.rows });
  return ended;
}

/**
 * The export in its current status, an overdue running one settled first; a succeeded one with a
 * freshly minted download URL. NotFoundError if it is gone. Every call runs under `signal`.
 */
export async function readExport(
  exportId: string,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<ExportDocument> {
  const stored = await readManifest(exportId, ctx, signal);
  if (!stored) throw new NotFoundError(`No export with id "${exportId}"`);
  return toDocument(await settle(stored, ctx, signal), ctx, signal);
}

/**
 * What the API answers for a manifest. The manifest trust rule first (docs/contract.md, "S3
 * layout"): a manifest naming another bucket or key is a 500 for the operator, whatever its
 * status. A succeeded manifest is written only after its CSV is committed, so it gets a URL
 * without checking the object.
 */
export async function toDocument(
  manifest: ExportManifest,
  ctx: ExportContext,
  signal: AbortSignal,
  /** A just-finished export's companion is pending: its Export Succeeded is not even put. */
  fresh = false,
): Promise<ExportDocument> {
  if (!namesOwnCsv(manifest, ctx.store.bucket)) {
    // For the operator: someone rewrote it. The caller learns nothing more than a 500.
    logger.error("An export manifest names an object other than its own export's CSV", {
      exportId: manifest.exportId,
      bucket: manifest.bucket,
      key: manifest.key,
    });
    throw new InternalError("Internal error");
  }
  if (manifest.status !== EXPORT_STATUS.succeeded) return manifest;
  // sessionsKey is null, not absent, for manifests written before the companion existed.
  // The companion's readiness is read from its object (docs/contract.md, "Companions").
  const companion = fresh
    ? pendingCompanion(manifest)
    : await companionOf(manifest, (key) => ctx.store.exists(key, signal), ctx.clock());
  return {
    ...manifest,
    sessionsKey: manifest.sessionsKey ?? null,
    companion,
    ...(await presign(manifest.key, ctx)),
  };
}

/** A fresh presigned GET of an object in the configured bucket. */
export async function presign(
  key: string,
  ctx: ExportContext,
): Promise<Pick<SucceededDocument, "downloadUrl" | "downloadUrlExpiresAt">> {
  const now = ctx.clock();
  const downloadUrl = await ctx.store.presign(key, ctx.downloadUrlTtlSeconds, now);
  const expiresAt = new Date(now.getTime() + ctx.downloadUrlTtlSeconds * 1000);
  return { downloadUrl, downloadUrlExpiresAt: expiresAt.toISOString() };
}
