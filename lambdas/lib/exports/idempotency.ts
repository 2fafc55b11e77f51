import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as z from "zod/mini";
import { cleanupSignal, type Deadline } from "../clock.js";
import {
  errorName,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  UpstreamTimeoutError,
} from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { idempotencyRecordKeyOf } from "../layout.js";
import { logger } from "../logger.js";
import { type ExportDocument, newExportId } from "./export-document.js";
import { type ExportBucket, isNoSuchKey, readExport, safeJson } from "./exports.js";
import { storageFailure } from "./storage-failure.js";

/**
 * Idempotency-Key for POST /exports, without a database: the key's record is an S3 object
 * written with a conditional PUT (`If-None-Match: *`), so exactly one request claims a key.
 * The record names the exportId the claimant is making; a retry with the same key and the same
 * target gets that export back (its manifest, with a fresh download URL) instead of a second
 * Wavy call. A claim whose export failed is deleted, so the caller can retry with the same key.
 *
 * Keys are kept for IDEMPOTENCY_TTL_MS; an older record is replaced (`If-Match` on its ETag, so
 * two requests racing to replace it still elect one). The record's object key is the key's
 * SHA-256, so whatever alphabet keys use, they never shape an S3 key.
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

const RecordSchema = z.object({
  exportId: z.string(),
  fingerprint: z.string(),
  claimedAt: z.string(),
});

type IdempotencyRecord = z.infer<typeof RecordSchema>;

export interface IdempotencyDeps extends ExportBucket {
  deadline: Deadline;
}

/**
 * Runs `run(exportId)` at most once per key and target within the TTL; every other request with
 * the key gets that export. Same key, different target → 400 INVALID_REQUEST (the contract has
 * no 409). A duplicate that arrives while the first is still running waits for it, within its
 * own budget, and answers 504 if the first has not finished by then.
 */
export async function idempotentExport(
  idempotencyKey: string,
  target: SessionTarget,
  deps: IdempotencyDeps,
  run: (exportId: string) => Promise<ExportDocument>,
): Promise<ExportDocument> {
  const recordKey = idempotencyRecordKey(idempotencyKey);
  const fingerprint = fingerprintOf(target);
  const runClaimed = async (exportId: string): Promise<ExportDocument> => {
    try {
      return await run(exportId);
    } catch (error) {
      // Free the key: the export failed, so a retry with it must be able to try again.
      await deps.s3
        .send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: recordKey }), {
          abortSignal: cleanupSignal(),
        })
        .catch((failure: unknown) =>
          logger.error("Could not release an Idempotency-Key after a failed export", {
            recordKey,
            errorName: errorName(failure),
          }),
        );
      throw error;
    }
  };
  const newRecord = (): IdempotencyRecord => {
    const claimedAt = deps.clock();
    return {
      exportId: newExportId(claimedAt),
      fingerprint,
      claimedAt: claimedAt.toISOString(),
    };
  };

  const stillRunning = () =>
    new UpstreamTimeoutError(
      "The first request with this Idempotency-Key is still running; retry it later",
    );
  // Once this request has waited for another, a read the deadline cuts short means just that.
  let waited = false;
  const read = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw waited && deps.deadline.signal.aborted ? stillRunning() : error;
    }
  };

  // Read before writing: a retry of a finished export, or a key reused for another target,
  // is answered without any write to S3.
  let held = await readRecord(recordKey, deps);
  for (;;) {
    if (!held) {
      const record = newRecord();
      if (await claim(recordKey, record, undefined, deps)) return runClaimed(record.exportId);
      held = await readRecord(recordKey, deps);
      continue;
    }
    const age = deps.clock().getTime() - Date.parse(held.record.claimedAt);
    const expired = !(age < IDEMPOTENCY_TTL_MS);
    // An expired key is free, whatever body it was first used with.
    if (!expired && held.record.fingerprint !== fingerprint) {
      throw new InvalidRequestError(
        "This Idempotency-Key was already used with a different request body; use a new key",
      );
    }
    const exportId = held.record.exportId;
    const document = expired
      ? undefined
      : await read(() => readIfFinished(exportId, deps, deps.deadline.signal));
    if (document) return document;
    if (expired || age >= ABANDONED_CLAIM_MS) {
      if (!expired) logger.warn("Taking over an abandoned Idempotency-Key claim", { recordKey });
      // If-Match on the record we judged: of several requests replacing it, one wins.
      const record = newRecord();
      if (await claim(recordKey, record, held.etag, deps)) return runClaimed(record.exportId);
      held = await readRecord(recordKey, deps);
      continue;
    }
    // Another request holds the key and is still at work: wait for its manifest.
    if (deps.deadline.remainingMs() <= POLL_MS) throw stillRunning();
    waited = true;
    await sleep(POLL_MS, undefined, { signal: deps.deadline.signal }).catch(() => {});
    held = await read(() => readRecord(recordKey, deps));
  }
}

/** true when this request now holds the key; false when another request does. */
async function claim(
  recordKey: string,
  record: IdempotencyRecord,
  replacingEtag: string | undefined,
  deps: IdempotencyDeps,
): Promise<boolean> {
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: recordKey,
        Body: JSON.stringify(record),
        ContentType: "application/json",
        ...(replacingEtag === undefined ? { IfNoneMatch: "*" } : { IfMatch: replacingEtag }),
      }),
      { abortSignal: deps.deadline.signal },
    );
    return true;
  } catch (error) {
    // 412: the condition failed (the key is held, or was replaced first); 409: S3 saw a
    // concurrent conditional write to the same key; 404: the record we meant to replace is gone.
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 412 || status === 409 || status === 404) return false;
    throw storageFailure("Claiming an Idempotency-Key failed", error, deps.deadline.signal);
  }
}

async function readRecord(
  recordKey: string,
  deps: IdempotencyDeps,
): Promise<{ record: IdempotencyRecord; etag: string } | undefined> {
  let text: string;
  let etag: string;
  try {
    const object = await deps.s3.send(
      new GetObjectCommand({ Bucket: deps.bucket, Key: recordKey }),
      { abortSignal: deps.deadline.signal },
    );
    text = (await object.Body?.transformToString("utf-8")) ?? "";
    etag = object.ETag ?? "";
  } catch (error) {
    if (isNoSuchKey(error)) return undefined;
    throw storageFailure("Reading an Idempotency-Key failed", error, deps.deadline.signal);
  }
  const parsed = RecordSchema.safeParse(safeJson(text));
  if (!parsed.success || etag === "") {
    logger.error("An Idempotency-Key record is unreadable", { recordKey });
    throw new InternalError("Internal error");
  }
  return { record: parsed.data, etag };
}

async function readIfFinished(
  exportId: string,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<ExportDocument | undefined> {
  try {
    return await readExport(exportId, store, signal);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}
