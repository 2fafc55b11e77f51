import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type Clock, cleanupSignal, type Deadline } from "../clock.js";
import { errorName, InternalError, NotFoundError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { copyToS3 } from "./copy-to-s3.js";
import {
  type ExportDocument,
  type ExportManifest,
  ExportManifestSchema,
  exportKey,
  manifestKey,
  namesOwnCsv,
  newExportId,
} from "./export-document.js";
import { storageFailure } from "./storage-failure.js";

export interface ExportBucket {
  s3: S3Client;
  bucket: string;
  downloadUrlTtlSeconds: number;
  clock: Clock;
}

export interface CreateExportDeps extends ExportBucket {
  /** Opens the target's CSV (openSessionCsv in production, with the handler's collaborators). */
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  deadline: Deadline;
  newExportId?: (createdAt: Date) => string;
}

/**
 * Wavy → S3: the CSV copied byte for byte, its manifest, then a fresh download URL.
 *
 * The manifest is written before the CSV is made visible (copyToS3's beforeCommit), so a failed
 * manifest write aborts an upload nobody can see, instead of leaving under `exports/` a CSV the
 * API can never find (and that a clean-up delete, against the same failing S3, could not take
 * back). If the CSV's commit fails after the manifest, both keys are deleted.
 */
export async function createExport(
  target: SessionTarget,
  deps: CreateExportDeps,
): Promise<ExportDocument> {
  const createdAt = deps.clock();
  const exportId = (deps.newExportId ?? newExportId)(createdAt);
  const key = exportKey(target, exportId, createdAt);

  const csv = await deps.openCsv(target, deps.deadline);
  let manifest: ExportManifest | undefined;
  try {
    await copyToS3(csv, {
      s3: deps.s3,
      bucket: deps.bucket,
      key,
      signal: deps.deadline.signal,
      beforeCommit: async (figures) => {
        const written: ExportManifest = {
          exportId,
          customerId: target.customerId,
          subAccountId: target.subAccountId,
          bucket: deps.bucket,
          key,
          ...figures,
          createdAt: createdAt.toISOString(),
        };
        await writeManifest(written, deps);
        manifest = written;
      },
    });
  } catch (error) {
    if (manifest) await takeBack([manifestKey(exportId), key], deps);
    throw error;
  }
  if (!manifest) throw new Error("copyToS3 returned without committing the manifest");
  logger.info("Export stored", { exportId, key, rows: manifest.rows, bytes: manifest.bytes });
  return withDownloadUrl(manifest, deps);
}

async function writeManifest(manifest: ExportManifest, deps: CreateExportDeps): Promise<void> {
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: manifestKey(manifest.exportId),
        Body: JSON.stringify(manifest),
        ContentType: "application/json",
      }),
      { abortSignal: deps.deadline.signal },
    );
  } catch (error) {
    throw storageFailure(
      `Writing the manifest of ${manifest.exportId} failed`,
      error,
      deps.deadline.signal,
    );
  }
}

/**
 * Deletes what a failed export wrote, under the clean-up grace. The CSV's key is deleted too in
 * case S3 completed the object but its answer was lost; S3 answers a delete of a key that does
 * not exist with success (https://docs.aws.amazon.com/AmazonS3/latest/API/SOAPDeleteObject.html).
 */
async function takeBack(keys: string[], deps: CreateExportDeps): Promise<void> {
  const signal = cleanupSignal();
  await Promise.all(
    keys.map((key) =>
      deps.s3
        .send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }), { abortSignal: signal })
        .catch((error: unknown) =>
          logger.error("Could not delete what a failed export wrote", {
            key,
            errorName: errorName(error),
          }),
        ),
    ),
  );
}

/**
 * The stored document with a freshly minted download URL; NotFoundError if it is gone.
 * `signal` is the request's deadline; the body is read under it too.
 */
export async function readExport(
  exportId: string,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<ExportDocument> {
  let text: string;
  try {
    const object = await store.s3.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey(exportId) }),
      { abortSignal: signal },
    );
    text = (await object.Body?.transformToString("utf-8")) ?? "";
  } catch (error) {
    if (isNoSuchKey(error)) {
      throw new NotFoundError(`No export with id "${exportId}"`);
    }
    throw storageFailure(`Reading the manifest of ${exportId} failed`, error, signal);
  }
  const parsed = ExportManifestSchema.safeParse(safeJson(text));
  if (!parsed.success || parsed.data.exportId !== exportId) {
    logger.error("An export manifest is unreadable", { exportId });
    throw new InternalError("Internal error");
  }
  if (!namesOwnCsv(parsed.data, store.bucket)) {
    // For the operator: someone rewrote it. The caller learns nothing more than a 500.
    logger.error("An export manifest names an object other than its own export's CSV", {
      exportId,
      bucket: parsed.data.bucket,
      key: parsed.data.key,
    });
    throw new InternalError("Internal error");
  }
  await assertStored(parsed.data, store, signal);
  return withDownloadUrl(parsed.data, store);
}

/**
 * The manifest is written just before its CSV is committed, so for a moment (or for good, when
 * the commit failed and so did the clean-up) a manifest can name a CSV that is not there: that
 * export does not exist, and a duplicate request waiting on it must keep waiting. HeadObject
 * needs s3:GetObject, and answers 404 rather than 403 only with s3:ListBucket
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); the role has both.
 */
async function assertStored(
  manifest: ExportManifest,
  store: ExportBucket,
  signal: AbortSignal,
): Promise<void> {
  try {
    await store.s3.send(new HeadObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }), {
      abortSignal: signal,
    });
  } catch (error) {
    if ((error as { name?: string }).name === "NotFound" || isNoSuchKey(error)) {
      logger.warn("An export manifest names a CSV that is not stored", {
        exportId: manifest.exportId,
      });
      throw new NotFoundError(`No export with id "${manifest.exportId}"`);
    }
    throw storageFailure(`Checking the CSV of ${manifest.exportId} failed`, error, signal);
  }
}

async function withDownloadUrl(
  manifest: ExportManifest,
  store: ExportBucket,
): Promise<ExportDocument> {
  const now = store.clock();
  const downloadUrl = await getSignedUrl(
    store.s3,
    new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }),
    { expiresIn: store.downloadUrlTtlSeconds, signingDate: now },
  );
  const expiresAt = new Date(now.getTime() + store.downloadUrlTtlSeconds * 1000);
  return { ...manifest, downloadUrl, downloadUrlExpiresAt: expiresAt.toISOString() };
}

export function isNoSuchKey(error: unknown): boolean {
  return error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey";
}

/** The parsed JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
