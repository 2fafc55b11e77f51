import { Deadline } from "../clock.js";
import { EXPORT_STATUS, EXPORT_TRIGGER, WORKER } from "../contract.js";
import { errorName, errorSummary, InternalError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { type ExportManifest, manifestKey, type RunningManifest } from "./export-document.js";
import {
  abandon,
  begin,
  copyExport,
  failedOf,
  finish,
  type RunSteps,
  readManifest,
} from "./lifecycle.js";
import type { ExportContext } from "./store.js";
import type { WorkerLauncher } from "./worker-launcher.js";

/**
 * `Prefer: respond-async` (docs/contract.md, "Asynchronous exports"): step 1 of the lifecycle,
 * then the worker's launch under the request's deadline. A launch that fails or hangs leaves
 * nothing: the export is abandoned (its Export Failed put) and the caller gets 500, or 504 when
 * the deadline cut the launch short.
 */
export async function acceptExport(
  target: SessionTarget,
  accept: {
    exportId: string;
    launchWorker: WorkerLauncher;
    workerTimeoutMs: number;
    deadline: Deadline;
  },
  ctx: ExportContext,
): Promise<RunningManifest> {
  const createdAt = ctx.clock();
  const held = await begin(
    target,
    {
      exportId: accept.exportId,
      trigger: EXPORT_TRIGGER.request,
      createdAt,
      deadlineAt: new Date(createdAt.getTime() + accept.workerTimeoutMs).toISOString(),
    },
    ctx,
    accept.deadline.signal,
  );
  try {
    await accept.launchWorker(accept.exportId, accept.deadline.signal);
  } catch (error) {
    logger.error("Could not start the export worker", {
      exportId: accept.exportId,
      errorName: errorName(error),
    });
    const failure = accept.deadline.signal.aborted
      ? new UpstreamTimeoutError("The request budget ran out while starting the export's worker")
      : new InternalError("Internal error", { cause: error });
    await abandon(held, failedOf(held.manifest, errorSummary(failure), ctx), ctx);
    throw failure;
  }
  logger.info("Export accepted", {
    exportId: accept.exportId,
    deadlineAt: held.manifest.deadlineAt,
  });
  return held.manifest;
}

/**
 * The worker: claims the accepted export (If-Match), runs steps 2–4 within the earlier of its
 * deadlineAt and its own timeout, less WORKER.safetyMarginMs kept to record the end. Returns the
 * manifest as it ended, or undefined when there was nothing to do (no such export, or another
 * delivery of the same event has it).
 */
export async function runAcceptedExport(
  exportId: string,
  run: { remainingMs: number; steps: RunSteps },
  ctx: ExportContext,
): Promise<ExportManifest | undefined> {
  // The reads, the claim and the finish run within what the invocation has left.
  const invocation = AbortSignal.timeout(Math.max(1, run.remainingMs - WORKER.safetyMarginMs / 2));
  const stored = await readManifest(exportId, ctx, invocation);
  if (!stored) {
    logger.warn("The worker was asked for an export that is not stored", { exportId });
    return undefined;
  }
  const { manifest } = stored;
  if (manifest.status !== EXPORT_STATUS.running || manifest.startedAt !== undefined) {
    // Lambda may deliver an asynchronous event more than once: the first delivery owns it.
    logger.info("The export is already taken", { exportId, status: manifest.status });
    return undefined;
  }
  const now = ctx.clock();
  const budgetMs =
    Math.min(run.remainingMs, Date.parse(manifest.deadlineAt) - now.getTime()) -
    WORKER.safetyMarginMs;
  const late = new UpstreamTimeoutError("The export's worker started too late to run it");
  if (budgetMs <= 0) {
    return finish(stored, failedOf(manifest, errorSummary(late), ctx), [], ctx, invocation);
  }
  const claimed: RunningManifest = { ...manifest, startedAt: now.toISOString() };
  const key = manifestKey(exportId);
  const etag = await ctx.store.put(
    key,
    JSON.stringify(claimed),
    { ifMatch: stored.etag },
    invocation,
  );
  if (etag === undefined) {
    logger.info("Another delivery claimed the export first", { exportId });
    return undefined;
  }
  const outcome = await copyExport(claimed, run.steps, new Deadline(budgetMs), ctx);
  const held = { manifest: claimed, etag };
  return "failed" in outcome
    ? finish(held, outcome.failed, [], ctx, invocation)
    : finish(held, outcome.ended, outcome.committed, ctx, invocation);
}
