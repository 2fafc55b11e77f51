import { Deadline } from "../clock.js";
import { EXPORT_STATUS, EXPORT_TRIGGER, WORKER } from "../contract.js";
import { errorName, InternalError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import {
  type ExportManifest,
  manifestKey,
  type RunningManifest,
  type SucceededManifest,
} from "./export-document.js";
import {
  abandon,
  begin,
  type Copy,
  copyAndEnd,
  end,
  failedOf,
  readManifest,
  type Start,
} from "./lifecycle.js";
import type { ExportContext, WorkerLauncher } from "./ports.js";

/**
 * A synchronous export or a snapshot: the whole lifecycle under the caller's deadline, whose
 * `runMs` (the budget plus the clean-up grace) sets deadlineAt. On failure the run stores
 * nothing and the error is thrown as the copy raised it.
 */
export async function runInline(
  target: SessionTarget,
  run: Start & { deadline: Deadline; copy: Copy },
  ctx: ExportContext,
): Promise<SucceededManifest> {
  const { deadline } = run;
  const held = await begin(target, { ...run, claimed: true }, ctx, deadline.signal);
  const how = { deadline, signal: deadline.signal, onFailure: "abandon" } as const;
  const ended = await copyAndEnd(held, run.copy, how, ctx);
  if (ended.status !== EXPORT_STATUS.succeeded) {
    throw new UpstreamTimeoutError("The export was settled before it could finish");
  }
  return ended;
}

/**
 * `Prefer: respond-async` (docs/contract.md, "Asynchronous exports"): step 1, then the worker's
 * launch under the request's deadline. A launch that fails or hangs leaves nothing: the export
 * is abandoned and the caller gets 500, or 504 when the deadline cut the launch short.
 */
export async function acceptExport(
  target: SessionTarget,
  accept: Omit<Start, "trigger"> & { launchWorker: WorkerLauncher; deadline: Deadline },
  ctx: ExportContext,
): Promise<RunningManifest> {
  const { exportId, deadline } = accept;
  const run = { ...accept, trigger: EXPORT_TRIGGER.request, claimed: false };
  const held = await begin(target, run, ctx, deadline.signal);
  try {
    await accept.launchWorker(exportId, deadline.signal);
  } catch (error) {
    logger.error("Could not start the export worker", { exportId, errorName: errorName(error) });
    const failure = deadline.signal.aborted
      ? new UpstreamTimeoutError("The request budget ran out while starting the export's worker")
      : new InternalError("Internal error", { cause: error });
    await abandon(held, failedOf(held.manifest, failure, ctx), ctx);
    throw failure;
  }
  logger.info("Export accepted", { exportId, deadlineAt: held.manifest.deadlineAt });
  return held.manifest;
}

/**
 * The worker: claims the accepted export (If-Match), runs steps 2–4 within the earlier of its
 * deadlineAt and its own timeout, less WORKER.safetyMarginMs kept to record the end. Returns the
 * manifest as it ended, or undefined when there was nothing to do (no such export, or another
 * delivery of the same event has it: Lambda may deliver an asynchronous event more than once).
 */
export async function runAcceptedExport(
  exportId: string,
  run: { remainingMs: number; copy: Copy },
  ctx: ExportContext,
): Promise<ExportManifest | undefined> {
  // The reads, the claim and the finish run within what the invocation has left.
  const invocation = AbortSignal.timeout(Math.max(1, run.remainingMs - WORKER.safetyMarginMs / 2));
  const stored = await readManifest(exportId, ctx, invocation);
  if (
    stored?.manifest.status !== EXPORT_STATUS.running ||
    stored.manifest.startedAt !== undefined
  ) {
    logger.info("No export for the worker to run", { exportId, status: stored?.manifest.status });
    return undefined;
  }
  const manifest = stored.manifest;
  const now = ctx.clock();
  const deadlineMs = Date.parse(manifest.deadlineAt) - now.getTime();
  const budgetMs = Math.min(run.remainingMs, deadlineMs) - WORKER.safetyMarginMs;
  if (budgetMs <= 0) {
    const late = new UpstreamTimeoutError("The export's worker started too late to run it");
    return end({ manifest, etag: stored.etag }, failedOf(manifest, late, ctx), ctx, invocation);
  }
  const claimed: RunningManifest = { ...manifest, startedAt: now.toISOString() };
  const etag = await ctx.store.put(
    manifestKey(exportId),
    JSON.stringify(claimed),
    { ifMatch: stored.etag },
    invocation,
  );
  if (etag === undefined) {
    logger.info("Another delivery claimed the export first", { exportId });
    return undefined;
  }
  const deadline = new Deadline(budgetMs);
  const how = { deadline, signal: invocation, onFailure: "record" } as const;
  return copyAndEnd({ manifest: claimed, etag }, run.copy, how, ctx);
}
