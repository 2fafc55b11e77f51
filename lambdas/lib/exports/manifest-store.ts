import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { cleanupSignal } from "../clock.js";
import { errorName, InternalError } from "../errors.js";
import { logger } from "../logger.js";
import { type ExportManifest, ExportManifestSchema, manifestKey } from "./export-document.js";
import type { ExportBucket } from "./exports.js";
import { storageFailure } from "./storage-failure.js";

/** A manifest as read, with the ETag a conditional write must name to replace it. */
export interface StoredManifest {
  manifest: ExportManifest;
  etag: string;
}

/**
 * How a write is conditioned: `new` only if no manifest exists (If-None-Match: *), `replace` only
 * if the manifest is still the version read (If-Match). S3 supports both on PutObject:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html — a failed
 * condition answers 412, a concurrent conditional write to the same key 409.
 */
export type WriteCondition = { kind: "new" } | { kind: "replace"; etag: string };

/** The manifest and its ETag, or undefined when there is none. Unreadable → INTERNAL. */
export async function readManifest(
  exportId: string,
  store: ExportBucket,
  signal: AbortSignal | undefined,
): Promise<StoredManifest | undefined> {
  let text: string;
  let etag: string;
  try {
    const object = await store.s3.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey(exportId) }),
      { abortSignal: signal },
    );
    text = (await object.Body?.transformToString("utf-8")) ?? "";
    etag = object.ETag ?? "";
  } catch (error) {
    if (isNoSuchKey(error)) return undefined;
    throw storageFailure(`Reading the manifest of ${exportId} failed`, error, signal);
  }
  const parsed = ExportManifestSchema.safeParse(safeJson(text));
  if (!parsed.success || parsed.data.exportId !== exportId) {
    logger.error("An export manifest is unreadable", { exportId });
    throw new InternalError("Internal error");
  }
  return { manifest: parsed.data as ExportManifest, etag };
}

/** The new ETag, or undefined when the condition failed (another writer was first). */
export async function writeManifest(
  manifest: ExportManifest,
  condition: WriteCondition,
  store: ExportBucket,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  try {
    const written = await store.s3.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: manifestKey(manifest.exportId),
        Body: JSON.stringify(manifest),
        ContentType: "application/json",
        ...(condition.kind === "new" ? { IfNoneMatch: "*" } : { IfMatch: condition.etag }),
      }),
      { abortSignal: signal },
    );
    return written.ETag ?? "";
  } catch (error) {
    // 412: the condition failed; 409: a concurrent conditional write; 404: If-Match on a manifest
    // that is gone. Each means another writer decided first.
    if ([409, 412, 404].includes(httpStatusOf(error) ?? 0)) return undefined;
    throw storageFailure(`Writing the manifest of ${manifest.exportId} failed`, error, signal);
  }
}

/**
 * Best effort, under the clean-up grace: used only to take back what a failed export wrote. S3
 * answers a delete of a key that does not exist with success
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html).
 */
export async function deleteQuietly(key: string, store: ExportBucket): Promise<void> {
  await store.s3
    .send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }), {
      abortSignal: cleanupSignal(),
    })
    .catch((error: unknown) =>
      logger.error("Could not remove an object of a failed export", {
        key,
        errorName: errorName(error),
      }),
    );
}

export function isNoSuchKey(error: unknown): boolean {
  return (error as { name?: string }).name === "NoSuchKey";
}

export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The parsed JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
