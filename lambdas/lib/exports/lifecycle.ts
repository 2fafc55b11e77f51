import type { Readable } from "node:stream";
import { cleanupSignal, type Deadline } from "../clock.js";
import { EXPORT_STATUS, LIMITS, S3_PREFIX } from "../contract.js";
import { errorName, errorSummary, InternalError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import {
  type ExportManifest,
  ExportManifestSchema,
  type FailedManifest,
  manifestKey,
  newExportKeys,
  type RunningManifest,
  type SucceededManifest,
  targetOf,
} from "./export-document.js";
import { historyEntryKey } from "./history.js";
import { type ExportContext, IF_ABSENT, safeJson } from "./store.js";

/**
 * The one export lifecycle (docs/contract.md, "The export lifecycle"): record `running` → copy →
 * commit the CSV → finish with `If-Match` on the running version. Every trigger runs these
 * functions; only who calls them, and when, differs.
 */

/** A manifest as read, with the ETag a conditional write must name to replace it. */
export interface StoredManifest {
  manifest: ExportManifest;
  etag: string;
}

export type Started = Pick<RunningManifest, "exportId" | "trigger" | "deadlineAt" | "startedAt">;

/** The running index's entry: sorted by deadlineAt, so a sweep reads the overdue ones first. */
export const RUNNING_PREFIX = `${S3_PREFIX.manifests}running/`;
export function runningEntryKey(manifest: { exportId: string; deadlineAt: string }): string {
  return `${RUNNING_PREFIX}${String(Date.parse(manifest.deadlineAt)).padStart(13, "0")}-${manifest.exportId}.json`;
}

/** Step 1: the history entry, the running index's entry, then the manifest, each write-once. */
export async function begin(
  target: SessionTarget,
  started: Started & { createdAt: Date },
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<StoredManifest & { manifest: RunningManifest }> {
  const { createdAt, ...rest } = started;
  const manifest: RunningManifest = {
    ...rest,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: ctx.store.bucket,
    ...newExportKeys(target, started.exportId, createdAt),
    createdAt: createdAt.toISOString(),
    status: EXPORT_STATUS.running,
  };
  try {
    const entries = [historyEntryKey(manifest), runningEntryKey(manifest)];
    for (const key of entries) {
      if ((await ctx.store.put(key, "", IF_ABSENT, signal)) === undefined) throw freshIdTaken();
    }
    const etag = await ctx.store.put(
      manifestKey(manifest.exportId),
      JSON.stringify(manifest),
      IF_ABSENT,
      signal,
    );
    if (etag === undefined) throw freshIdTaken();
    return { manifest, etag };
  } catch (error) {
    await removeEntries(manifest, ctx);
    throw error;
  }
}

function freshIdTaken(): InternalError {
  logger.error("A new export's id was already stored");
  return new InternalError("Internal error");
}

/** What a copy committed: the figures, and every key it made visible (taken back if it loses). */
export interface Copied {
  figures: Pick<SucceededManifest, "rows" | "bytes" | "sha256" | "sessionsKey">;
  committed: string[];
}

export interface RunSteps {
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  /** Steps 2 and 3: streams the CSV into its key and commits it (copyToS3 in production). */
  copy: (csv: Readable, manifest: RunningManifest, deadline: Deadline) => Promise<Copied>;
}

/** Steps 2–3 for a claimed export: the ended manifest, or the failed one and its error. */
export async function copyExport(
  held: RunningManifest,
  steps: RunSteps,
  deadline: Deadline,
  ctx: ExportContext,
): Promise<
  { ended: SucceededManifest; committed: string[] } | { failed: FailedManifest; error: unknown }
> {
  try {
    const csv = await steps.openCsv(targetOf(held), deadline);
    const { figures, committed } = await steps.copy(csv, held, deadline);
    const ended: SucceededManifest = {
      ...endOf(held),
      status: EXPORT_STATUS.succeeded,
      ...figures,
      completedAt: ctx.clock().toISOString(),
    };
    return { ended, committed };
  } catch (error) {
    return { failed: failedOf(held, errorSummary(error), ctx), error };
  }
}

/**
 * Step 4: the end recorded with If-Match on the running version this run holds, then announced.
 * Losing means a settler recorded the export failed first: what this run committed is taken
 * back. Returns the manifest as it now stands.
 */
export async function finish(
  held: StoredManifest,
  ended: SucceededManifest | FailedManifest,
  committed: readonly string[],
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<ExportManifest> {
  const won = await ctx.store.put(
    manifestKey(ended.exportId),
    JSON.stringify(ended),
    { ifMatch: held.etag },
    live(signal),
  );
  if (won === undefined) {
    logger.warn("The export was settled before its run ended", { exportId: ended.exportId });
    await deleteQuietly(committed, ctx);
    return (await readManifest(ended.exportId, ctx, live(signal)))?.manifest ?? ended;
  }
  await deleteQuietly([runningEntryKey(held.manifest as RunningManifest)], ctx);
  logger.info("Export ended", { exportId: ended.exportId, status: ended.status });
  await ctx.events.put(ended, live(signal));
  return ended;
}

/**
 * A run whose caller is answered an error (a synchronous export, a snapshot, a worker that could
 * not be launched) stores nothing: its manifest is deleted on the running version it holds (a
 * settler that was first keeps its record), then its entries; the failure is announced.
 */
export async function abandon(
  held: StoredManifest,
  failed: FailedManifest,
  ctx: ExportContext,
): Promise<void> {
  const signal = cleanupSignal();
  const won = await ctx.store
    .delete(manifestKey(failed.exportId), held.etag, signal)
    .catch((error: unknown) => {
      logger.error("Could not remove a failed export's manifest", { errorName: errorName(error) });
      return false;
    });
  if (!won) return;
  // One grace for the whole clean-up: the answer waits for it, so it is bounded once.
  await Promise.all([removeEntries(held.manifest, ctx, signal), ctx.events.put(failed, signal)]);
}

/** The manifest and its ETag, or undefined when there is none. Unreadable → INTERNAL. */
export async function readManifest(
  exportId: string,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<StoredManifest | undefined> {
  const stored = await ctx.store.get(manifestKey(exportId), signal);
  if (!stored) return undefined;
  const parsed = ExportManifestSchema.safeParse(safeJson(stored.text));
  if (!parsed.success || parsed.data.exportId !== exportId || stored.etag === "") {
    logger.error("An export manifest is unreadable", { exportId });
    throw new InternalError("Internal error");
  }
  return { manifest: parsed.data as ExportManifest, etag: stored.etag };
}

/**
 * Every object key a running export may have made visible: its CSV. Its companion is built only
 * after an Export Succeeded (docs/contract.md, "Companions"), so a run that never finished has none.
 */
export function objectKeysOf(manifest: ExportManifest): string[] {
  return [manifest.key];
}

async function removeEntries(
  manifest: ExportManifest,
  ctx: ExportContext,
  signal?: AbortSignal,
): Promise<void> {
  const keys = [historyEntryKey(manifest)];
  if (manifest.status === EXPORT_STATUS.running) keys.push(runningEntryKey(manifest));
  await deleteQuietly(keys, ctx, signal);
}

/**
 * Best effort, under the clean-up grace: only what a failed or settled export leaves. S3 answers
 * a delete of a missing key with success (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
 */
export async function deleteQuietly(
  keys: readonly string[],
  ctx: ExportContext,
  signal: AbortSignal = cleanupSignal(),
): Promise<void> {
  await Promise.all(
    keys.map((key) =>
      ctx.store.delete(key, undefined, signal).catch((error: unknown) =>
        logger.error(
          "Could not remove an export's object; a running-index entry left is the sweep's to remove",
          {
            key,
            errorName: errorName(error),
          },
        ),
      ),
    ),
  );
}

/** The deadline's signal while it lasts; once it has fired, the clean-up grace. */
export function live(signal: AbortSignal): AbortSignal {
  return signal.aborted ? AbortSignal.timeout(LIMITS.cleanupGraceMs) : signal;
}

function endOf(manifest: RunningManifest) {
  const { status: _status, deadlineAt: _deadline, startedAt: _started, ...rest } = manifest;
  return rest;
}

export function failedOf(
  manifest: RunningManifest,
  error: FailedManifest["error"],
  ctx: Pick<ExportContext, "clock">,
): FailedManifest {
  return {
    ...endOf(manifest),
    status: EXPORT_STATUS.failed,
    error,
    completedAt: ctx.clock().toISOString(),
  };
}
