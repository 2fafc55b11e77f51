import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { EXPORT_STATUS } from "../contract.js";
import { errorName, UpstreamTimeoutError } from "../errors.js";
import { logger } from "../logger.js";
import type { ExportManifest, FailedManifest, RunningManifest } from "./export-document.js";
import type { ExportBucket } from "./exports.js";
import {
  deleteQuietly,
  readManifest,
  type StoredManifest,
  writeManifest,
} from "./manifest-store.js";

/**
 * A running export read past its deadlineAt has a dead worker: the worker stops itself before
 * then (docs/contract.md, "Asynchronous exports"). Whoever reads it records it as failed, then
 * takes back whatever the dead worker left: its open multipart uploads and any object at its key.
 */
export function isOverdue(manifest: ExportManifest, now: Date): manifest is RunningManifest {
  return (
    manifest.status === EXPORT_STATUS.running && now.getTime() >= Date.parse(manifest.deadlineAt)
  );
}

/** The manifest as it now stands: unchanged, or failed when it was an overdue running one. */
export async function settleIfOverdue(
  stored: StoredManifest,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<ExportManifest> {
  if (!isOverdue(stored.manifest, store.clock())) return stored.manifest;
  const running = stored.manifest;
  const failed: FailedManifest = {
    exportId: running.exportId,
    trigger: running.trigger,
    customerId: running.customerId,
    subAccountId: running.subAccountId,
    bucket: running.bucket,
    key: running.key,
    createdAt: running.createdAt,
    status: EXPORT_STATUS.failed,
    error: {
      code: new UpstreamTimeoutError("").code,
      message: `The export's worker did not finish by its deadline (${running.deadlineAt})`,
    },
    completedAt: store.clock().toISOString(),
  };
  // If-Match on the version judged overdue: of the observers (and a late worker), one records
  // the end; the others read what it recorded.
  const won = await writeManifest(failed, { kind: "replace", etag: stored.etag }, store, signal);
  if (won === undefined) {
    const now = await readManifest(running.exportId, store, signal);
    return now?.manifest ?? failed;
  }
  logger.warn("Settled an export whose worker died", { exportId: running.exportId });
  // After the record, not before: a worker that recorded first keeps its object.
  await abortOpenUploads(running.key, store, signal);
  await deleteQuietly(running.key, store);
  await store.events.put(failed);
  return failed;
}

/**
 * Aborts every multipart upload still open on the key. A dead worker's upload id died with it;
 * ListMultipartUploads with the key as prefix finds it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html). Failures are
 * logged, not thrown: the bucket's AbortIncompleteMultipartUpload rule (1 day) is the backstop.
 */
export async function abortOpenUploads(
  key: string,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<void> {
  try {
    const listing = await store.s3.send(
      new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: key }),
      { abortSignal: signal },
    );
    for (const upload of listing.Uploads ?? []) {
      if (upload.Key !== key || !upload.UploadId) continue;
      await store.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: store.bucket,
          Key: key,
          UploadId: upload.UploadId,
        }),
        { abortSignal: signal },
      );
    }
  } catch (error) {
    logger.error("Could not abort a dead worker's multipart upload", {
      key,
      errorName: errorName(error),
    });
  }
}
