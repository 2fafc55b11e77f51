import * as z from "zod/mini";
import { cleanupSignal, type Deadline } from "../clock.js";
import { EXPORT_STATUS, LIMITS, S3_PREFIX } from "../contract.js";
import { errorName, errorSummary, InternalError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import {
  type ExportManifest,
  ExportManifestSchema,
  type FailedManifest,
  historyEntryKey,
  manifestKey,
  newExportKeys,
  type RunningManifest,
  type SucceededManifest,
} from "./export-document.js";
import { type ExportContext, IF_ABSENT, readRecord } from "./ports.js";

// The one export lifecycle (docs/contract.md, "The export lifecycle"), whichever trigger runs it.

/** A manifest as read, with the ETag a conditional write must name to replace it. */
interface Held<M extends ExportManifest = ExportManifest> {
  manifest: M;
  etag: string;
}

/**
 * Steps 2 and 3: opens the CSV, streams it into the manifest's key and commits it (copyToS3 in
 * production). Returns the figures and every key it made visible (taken back if the run loses).
 */
export type Copy = (
  manifest: RunningManifest,
  deadline: Deadline,
) => Promise<{
  figures: Pick<SucceededManifest, "rows" | "bytes" | "sha256" | "sessionsKey">;
  committed: string[];
}>;

/** The running index's entry: sorted by deadlineAt, so a sweep reads the overdue ones first. */
export const RUNNING_PREFIX = `${S3_PREFIX.manifests}running/`;
const RUNNING_ENTRY = /^(\d{13})-([A-Za-z0-9_-]{1,128})\.json$/;
const runningEntryKey = (manifest: RunningManifest) =>
  `${RUNNING_PREFIX}${String(Date.parse(manifest.deadlineAt)).padStart(13, "0")}-${manifest.exportId}.json`;
/** The empty index entries of a running export: its run history's, the running index's. */
const entriesOf = (manifest: RunningManifest) => [
  historyEntryKey(manifest),
  runningEntryKey(manifest),
];

/** What starts an export: `runMs` from now is its deadlineAt. */
export interface Start {
  exportId: string;
  trigger: RunningManifest["trigger"];
  runMs: number;
}

/**
 * Step 1: the index entries, then the manifest, each write-once. `claimed`: the caller runs the
 * copy itself (a request, a snapshot), not a worker.
 */
export async function begin(
  target: SessionTarget,
  run: Start & { claimed: boolean },
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<Held<RunningManifest>> {
  const createdAt = ctx.clock();
  const manifest: RunningManifest = {
    exportId: run.exportId,
    trigger: run.trigger,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: ctx.store.bucket,
    ...newExportKeys(target, run.exportId, createdAt),
    createdAt: createdAt.toISOString(),
    status: EXPORT_STATUS.running,
    deadlineAt: new Date(createdAt.getTime() + run.runMs).toISOString(),
    ...(run.claimed && { startedAt: createdAt.toISOString() }),
  };
  const writeOnce = async (key: string, text: string) => {
    const etag = await ctx.store.put(key, text, IF_ABSENT, signal);
    if (etag !== undefined) return etag;
    logger.error("A new export's id was already stored");
    throw new InternalError("Internal error");
  };
  try {
    for (const key of entriesOf(manifest)) await writeOnce(key, "");
    return { manifest, etag: await writeOnce(manifestKey(run.exportId), JSON.stringify(manifest)) };
  } catch (error) {
    await deleteQuietly(entriesOf(manifest), ctx);
    throw error;
  }
}

/**
 * Steps 2–4 for the run holding `held`. A failure is recorded as the export's end when nobody
 * waits for it (`"record"`: the worker); a caller answered the error instead (`"abandon"`: a
 * request, a snapshot) gets it thrown, and the run stores nothing.
 */
export async function copyAndEnd(
  held: Held<RunningManifest>,
  copy: Copy,
  run: { deadline: Deadline; signal: AbortSignal; onFailure: "record" | "abandon" },
  ctx: ExportContext,
): Promise<ExportManifest> {
  let copied: Awaited<ReturnType<Copy>>;
  try {
    copied = await copy(held.manifest, run.deadline);
  } catch (error) {
    const failed = failedOf(held.manifest, error, ctx);
    if (run.onFailure === "record") return end(held, failed, ctx, run.signal);
    await abandon(held, failed, ctx);
    throw error;
  }
  const ended = endedOf(held.manifest, { status: EXPORT_STATUS.succeeded, ...copied.figures }, ctx);
  return end(held, ended, ctx, run.signal, { committed: copied.committed });
}

/**
 * Step 4, by the run or by a settler: the end recorded with If-Match on the running version held
 * (of a run and any settlers, one records it). The winner then removes what a dead run left
 * (`leftOver`: its data keys, open uploads aborted) and the running-index entry, and announces the
 * end; a loser takes back what it `committed`. Returns the manifest as it now stands.
 */
export async function end(
  held: Held<RunningManifest>,
  ended: SucceededManifest | FailedManifest,
  ctx: ExportContext,
  signal: AbortSignal,
  objects: { committed?: readonly string[]; leftOver?: readonly string[] } = {},
): Promise<ExportManifest> {
  const { exportId, status } = ended;
  const text = JSON.stringify(ended);
  if (!(await ctx.store.put(manifestKey(exportId), text, { ifMatch: held.etag }, live(signal)))) {
    logger.warn("Another recorded the export's end first", { exportId, status });
    await deleteQuietly(objects.committed ?? [], ctx);
    return (await readManifest(exportId, ctx, live(signal)))?.manifest ?? ended;
  }
  // After the record, not before: a run that recorded first keeps its objects.
  const leftOver = objects.leftOver ?? [];
  for (const key of leftOver) await ctx.store.abortUploads(key, live(signal));
  await deleteQuietly([...leftOver, runningEntryKey(held.manifest)], ctx);
  // A settler's end means a run died: worth a warning for whoever watches the logs.
  if (objects.leftOver) logger.warn("Settled an export whose run died", { exportId, status });
  else logger.info("Export ended", { exportId, status, key: ended.key });
  await ctx.events.put(ended, live(signal));
  return ended;
}

/**
 * A run whose caller is answered an error (a synchronous export, a snapshot, a worker that could
 * not be launched) stores nothing: its manifest is deleted on the running version it holds (a
 * settler that was first keeps its record), then its entries; the failure is announced.
 */
export async function abandon(
  held: Held<RunningManifest>,
  failed: FailedManifest,
  ctx: ExportContext,
): Promise<void> {
  // One grace for the whole clean-up: the answer waits for it, so it is bounded once.
  const signal = cleanupSignal();
  const won = await ctx.store
    .delete(manifestKey(failed.exportId), held.etag, signal)
    .catch((error: unknown) => {
      logger.error("Could not remove a failed export's manifest", { errorName: errorName(error) });
      return false;
    });
  if (!won) return;
  await Promise.all([
    deleteQuietly(entriesOf(held.manifest), ctx, signal),
    ctx.events.put(failed, signal),
  ]);
}

/**
 * The one settle step, called by readers and by the sweep: a running export past its deadlineAt
 * has a dead run, recorded failed; its CSV and open upload are what it can have left (a run that
 * never finished has no companion: that is built after an Export Succeeded). Returns the
 * manifest as it now stands.
 */
export async function settle(
  held: Held,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<ExportManifest> {
  const { manifest } = held;
  if (manifest.status !== EXPORT_STATUS.running) return manifest;
  if (ctx.clock().getTime() < Date.parse(manifest.deadlineAt)) return manifest;
  const why = `The export's run did not finish by its deadline (${manifest.deadlineAt})`;
  const failed = failedOf(manifest, new UpstreamTimeoutError(why), ctx);
  return end({ manifest, etag: held.etag }, failed, ctx, signal, { leftOver: [manifest.key] });
}

/** At most this many entries per sweep: a run stays well inside its timeout, the next continues. */
export const SWEEP_LIMIT = 50;

export interface SweepResult {
  settled: number;
  /** Overdue entries this run left for the next (the limit, or its time ran out). */
  remaining: boolean;
}

/**
 * The scheduled sweep: the running index lists exports by deadlineAt, so the overdue ones come
 * first, each settled. Stops at the first entry still in time.
 */
export async function sweep(ctx: ExportContext, signal: AbortSignal): Promise<SweepResult> {
  const keys = await ctx.store.list(RUNNING_PREFIX, { maxKeys: SWEEP_LIMIT + 1 }, signal);
  let settled = 0;
  for (const [index, key] of keys.entries()) {
    const match = RUNNING_ENTRY.exec(key.slice(RUNNING_PREFIX.length));
    if (!match) continue;
    if (Number(match[1]) > ctx.clock().getTime()) return { settled, remaining: false };
    if (index === SWEEP_LIMIT || signal.aborted) return { settled, remaining: true };
    const held = await readManifest(match[2] ?? "", ctx, signal);
    const wasRunning = held?.manifest.status === EXPORT_STATUS.running;
    const ended = held && (await settle(held, ctx, signal));
    if (wasRunning && ended?.status === EXPORT_STATUS.failed) settled++;
    // Gone, settled (by this sweep or another meanwhile) or ended: its entry goes either way.
    if (ended?.status !== EXPORT_STATUS.running) await deleteQuietly([key], ctx);
  }
  return { settled, remaining: false };
}

/** The manifest and its ETag, or undefined when there is none. Unreadable → INTERNAL. */
export async function readManifest(
  exportId: string,
  ctx: ExportContext,
  signal: AbortSignal,
): Promise<Held | undefined> {
  const own = ExportManifestSchema.check(z.refine((manifest) => manifest.exportId === exportId));
  const stored = await readRecord(ctx.store, manifestKey(exportId), own, signal);
  return stored && { manifest: stored.value, etag: stored.etag };
}

/** The failed end of a run, as `error` is answered (errorSummary: an unknown one is INTERNAL). */
export function failedOf(
  manifest: RunningManifest,
  error: unknown,
  ctx: Pick<ExportContext, "clock">,
): FailedManifest {
  return endedOf(manifest, { status: EXPORT_STATUS.failed, error: errorSummary(error) }, ctx);
}

/** A running manifest's end: what only a run has dropped, the outcome and completedAt added. */
function endedOf<T extends Pick<SucceededManifest | FailedManifest, "status">>(
  manifest: RunningManifest,
  outcome: T,
  ctx: Pick<ExportContext, "clock">,
) {
  const { status: _status, deadlineAt: _deadline, startedAt: _started, ...rest } = manifest;
  return { ...rest, ...outcome, completedAt: ctx.clock().toISOString() };
}

/**
 * Best effort, under the clean-up grace: only what a failed or settled export leaves (a
 * running-index entry left is the sweep's to remove). S3 answers a delete of a missing key with
 * success (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
 */
async function deleteQuietly(
  keys: readonly string[],
  ctx: ExportContext,
  signal: AbortSignal = cleanupSignal(),
): Promise<void> {
  const remove = (key: string) =>
    ctx.store.delete(key, undefined, signal).catch((error: unknown) => {
      logger.error("Could not remove an export's object", { key, errorName: errorName(error) });
    });
  await Promise.all(keys.map(remove));
}

/** The deadline's signal while it lasts; once it has fired, the clean-up grace. */
function live(signal: AbortSignal): AbortSignal {
  return signal.aborted ? AbortSignal.timeout(LIMITS.cleanupGraceMs) : signal;
}
