import { EXPORT_STATUS } from "../contract.js";
import { UpstreamTimeoutError } from "../errors.js";
import { logger } from "../logger.js";
import type { ExportManifest } from "./export-document.js";
import { manifestKey } from "./export-document.js";
import {
  deleteQuietly,
  failedOf,
  live,
  objectKeysOf,
  RUNNING_PREFIX,
  readManifest,
  runningEntryKey,
  type StoredManifest,
} from "./lifecycle.js";
import type { ExportContext } from "./store.js";

/**
 * The one settle step (docs/contract.md, "The export lifecycle"), called by readers and by the
 * sweeper: a running export past its deadlineAt has a dead run. It is recorded failed (If-Match
 * on the version judged overdue: of several settlers and a late run, one records the end), then
 * what the dead run left is taken back and `Export Failed` put. Returns the manifest as it now
 * stands.
 */
export async function settle(
  stored: StoredManifest,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<ExportManifest> {
  const running = stored.manifest;
  if (running.status !== EXPORT_STATUS.running) return running;
  if (ctx.clock().getTime() < Date.parse(running.deadlineAt)) return running;
  const failed = failedOf(
    running,
    {
      code: new UpstreamTimeoutError("").code,
      message: `The export's run did not finish by its deadline (${running.deadlineAt})`,
    },
    ctx,
  );
  const key = manifestKey(running.exportId);
  if (
    (await ctx.store.put(key, JSON.stringify(failed), { ifMatch: stored.etag }, signal)) ===
    undefined
  ) {
    return (await readManifest(running.exportId, ctx, signal))?.manifest ?? failed;
  }
  logger.warn("Settled an export whose run died", { exportId: running.exportId });
  // After the record, not before: a run that recorded first keeps its objects.
  const objects = objectKeysOf(running);
  for (const object of objects) await ctx.store.abortUploads(object, signal);
  await deleteQuietly([...objects, runningEntryKey(running)], ctx);
  await ctx.events.put(failed, live(signal));
  return failed;
}

/** At most this many entries per sweep: a run stays well inside its timeout, the next continues. */
export const SWEEP_LIMIT = 50;
const RUNNING_ENTRY = /^(\d{13})-([A-Za-z0-9_-]{1,128})\.json$/;

export interface SweepResult {
  settled: number;
  /** Overdue entries this run left for the next (the limit, or its time ran out). */
  remaining: boolean;
}

/**
 * The scheduled sweep (docs/contract.md, "The export lifecycle"): the running index lists exports
 * by deadlineAt, so the overdue ones come first; each is settled (or its entry removed when the
 * manifest is gone or already ended). Stops at the first entry still in time.
 */
export async function sweep(ctx: ExportContext, signal: AbortSignal): Promise<SweepResult> {
  const keys = await ctx.store.list(RUNNING_PREFIX, { maxKeys: SWEEP_LIMIT + 1 }, signal);
  let settled = 0;
  for (const [index, key] of keys.entries()) {
    const match = RUNNING_ENTRY.exec(key.slice(RUNNING_PREFIX.length));
    if (!match) continue;
    if (Number(match[1]) > ctx.clock().getTime()) return { settled, remaining: false };
    if (index === SWEEP_LIMIT || signal.aborted) return { settled, remaining: true };
    const stored = await readManifest(match[2] ?? "", ctx, signal);
    if (stored?.manifest.status === EXPORT_STATUS.running) {
      const ended = await settle(stored, ctx, signal);
      if (ended.status === EXPORT_STATUS.failed) settled++;
      // Settled by another meanwhile, or ended: its entry goes either way.
      if (ended.status !== EXPORT_STATUS.running) await deleteQuietly([key], ctx);
    } else {
      await deleteQuietly([key], ctx);
    }
  }
  return { settled, remaining: false };
}
