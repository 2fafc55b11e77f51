import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod/mini";
import { cleanupSignal, type Deadline } from "../clock.js";
import { EXPORT_STATUS } from "../contract.js";
import { errorName, InvalidRequestError, UpstreamTimeoutError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { idempotencyRecordKeyOf } from "../layout.js";
import { logger } from "../logger.js";
import { type ExportDocument, newExportId } from "./export-document.js";
import { readIfStored } from "./exports.js";
import { type ExportContext, IF_ABSENT, readRecord } from "./ports.js";

/**
 * Idempotency-Key for POST /exports (docs/contract.md, "Idempotency") on the store's conditional
 * writes: a claim is written `If-None-Match: *`, and replaced or released `If-Match` on the ETag
 * of the claim judged, so of several requests one wins and none frees a key another took. Its
 * object key is the key's SHA-256: whatever alphabet keys use, they never shape an S3 key.
 */

/** How long a key holds its export: a day, as the payment APIs that popularised the header do. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * A claim whose export has no manifest after this long was abandoned (the Lambda that held it
 * was killed); a request's budget is below API Gateway's 29 s, so a minute is generous.
 */
const ABANDONED_CLAIM_MS = 60_000;
const POLL_MS = 200;

export function idempotencyRecordKey(idempotencyKey: string): string {
  return idempotencyRecordKeyOf(createHash("sha256").update(idempotencyKey).digest("hex"));
}

/** What makes two requests "the same": the target as parsed, so `42` and `"42"` are one. */
function fingerprintOf(target: SessionTarget): string {
  return createHash("sha256")
    .update(JSON.stringify([target.customerId, target.subAccountId]))
    .digest("hex");
}

const ClaimSchema = z.object({
  exportId: z.string(),
  fingerprint: z.string(),
  claimedAt: z.string(),
  // false: a synchronous export, whose replays wait while it runs. Absent on older records.
  respondAsync: z.optional(z.boolean()),
});

/**
 * Runs `run(exportId)` at most once per key and target within the TTL; every other request with
 * the key gets that export (`onReplay` is told: the `Idempotent-Replayed` header).
 */
export async function idempotentExport(
  idempotencyKey: string,
  target: SessionTarget,
  respondAsync: boolean,
  ctx: ExportContext & { deadline: Deadline },
  run: (exportId: string) => Promise<ExportDocument>,
  onReplay: () => void = () => {},
): Promise<ExportDocument> {
  const { store, deadline } = ctx;
  const recordKey = idempotencyRecordKey(idempotencyKey);
  const fingerprint = fingerprintOf(target);
  const stillRunning = () =>
    new UpstreamTimeoutError(
      "The first request with this Idempotency-Key is still running; retry it later",
    );
  // Once this request has waited for another, a read the deadline cuts short means just that.
  let waited = false;
  const read = <T>(call: () => Promise<T>): Promise<T> =>
    call().catch((error: unknown) => {
      throw waited && deadline.signal.aborted ? stillRunning() : error;
    });
  const readClaim = () => readRecord(store, recordKey, ClaimSchema, deadline.signal);
  /** Claims the key (replacing `etag` when given) and runs; undefined when another request won. */
  const claimAndRun = async (etag: string | undefined) => {
    const claimedAt = ctx.clock();
    const exportId = newExportId(claimedAt);
    const claim = { exportId, fingerprint, claimedAt: claimedAt.toISOString(), respondAsync };
    const condition = etag === undefined ? IF_ABSENT : { ifMatch: etag };
    const claimed = await store.put(recordKey, JSON.stringify(claim), condition, deadline.signal);
    if (claimed === undefined) return undefined;
    try {
      return await run(exportId);
    } catch (error) {
      // Free the key: the caller is answered an error, so a retry with it must run anew.
      await store.delete(recordKey, claimed, cleanupSignal()).catch((failure: unknown) =>
        logger.error("Could not release an Idempotency-Key after a failed export", {
          recordKey,
          errorName: errorName(failure),
        }),
      );
      throw error;
    }
  };

  // Read before writing: a retry of a finished export, or a key reused for another target,
  // is answered without any write to S3.
  let held = await readClaim();
  for (;;) {
    if (held) {
      const age = ctx.clock().getTime() - Date.parse(held.value.claimedAt);
      const expired = !(age < IDEMPOTENCY_TTL_MS);
      // An expired key is free, whatever body it was first used with.
      if (!expired && held.value.fingerprint !== fingerprint) {
        throw new InvalidRequestError(
          "This Idempotency-Key was already used with a different request body; use a new key",
        );
      }
      const { exportId } = held.value;
      const found = expired
        ? undefined
        : await read(() => readIfStored(exportId, ctx, deadline.signal));
      // A synchronous export answers its caller only once it has ended; one that ended failed
      // (its run died and was settled) was never answered, so the key is free.
      const synchronous = held.value.respondAsync === false;
      const failedSync = synchronous && found?.status === EXPORT_STATUS.failed;
      if (found && !failedSync && !(synchronous && found.status === EXPORT_STATUS.running)) {
        onReplay();
        return found;
      }
      if (!expired && !failedSync && (found || age < ABANDONED_CLAIM_MS)) {
        // Another request holds the key and is still at work: wait for its manifest.
        if (deadline.remainingMs() <= POLL_MS) throw stillRunning();
        waited = true;
        await sleep(POLL_MS, undefined, { signal: deadline.signal }).catch(() => {});
        held = await read(readClaim);
        continue;
      }
      if (!expired) logger.warn("Taking over an abandoned Idempotency-Key claim", { recordKey });
    }
    const answered = await claimAndRun(held?.etag);
    if (answered) return answered;
    held = await readClaim();
  }
}
