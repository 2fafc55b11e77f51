import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Clock, Deadline } from "../clock.js";
import { InternalError, NotFoundError } from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import { copyToS3 } from "./copy-to-s3.js";
import {
  type ExportDocument,
  type ExportManifest,
  ExportManifestSchema,
  exportKey,
  manifestKey,
  newExportId,
} from "./export-document.js";

export interface ExportStore {
  s3: S3Client;
  bucket: string;
  downloadUrlTtlSeconds: number;
  clock: Clock;
}

export interface CreateExportDeps extends ExportStore {
  /** Opens the target's CSV (openSessionCsv in production, with the handler's collaborators). */
  openCsv: (target: SessionTarget, deadline: Deadline) => Promise<Readable>;
  deadline: Deadline;
  newExportId?: (createdAt: Date) => string;
}

/** Wavy → S3: the CSV copied byte for byte, then its manifest, then a fresh download URL. */
export async function createExport(
  target: SessionTarget,
  deps: CreateExportDeps,
): Promise<ExportDocument> {
  const createdAt = deps.clock();
  const exportId = (deps.newExportId ?? newExportId)(createdAt);
  const key = exportKey(target, exportId, createdAt);

  const csv = await deps.openCsv(target, deps.deadline);
  const figures = await copyToS3(csv, {
    s3: deps.s3,
    bucket: deps.bucket,
    key,
    signal: deps.deadline.signal,
  });

  const manifest: ExportManifest = {
    exportId,
    customerId: target.customerId,
    subAccountId: target.subAccountId,
    bucket: deps.bucket,
    key,
    ...figures,
    createdAt: createdAt.toISOString(),
  };
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: manifestKey(exportId),
        Body: JSON.stringify(manifest),
        ContentType: "application/json",
      }),
    );
  } catch (error) {
    // A CSV without its manifest cannot be found through the API: take it back.
    await deps.s3
      .send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }))
      .catch(() => logger.error("Could not remove the CSV after its manifest failed", { key }));
    logger.error("Writing the export manifest failed", { exportId });
    throw new InternalError("Internal error", { cause: error });
  }
  logger.info("Export stored", { exportId, key, rows: figures.rows, bytes: figures.bytes });
  return withDownloadUrl(manifest, deps);
}

/** The stored document with a freshly minted download URL; NotFoundError if it is gone. */
export async function readExport(exportId: string, store: ExportStore): Promise<ExportDocument> {
  let text: string;
  try {
    const object = await store.s3.send(
      new GetObjectCommand({ Bucket: store.bucket, Key: manifestKey(exportId) }),
    );
    text = (await object.Body?.transformToString("utf-8")) ?? "";
  } catch (error) {
    if (isNoSuchKey(error)) {
      throw new NotFoundError(`No export with id "${exportId}"`);
    }
    throw error;
  }
  const parsed = ExportManifestSchema.safeParse(safeJson(text));
  if (!parsed.success || parsed.data.exportId !== exportId) {
    logger.error("An export manifest is unreadable", { exportId });
    throw new InternalError("Internal error");
  }
  return withDownloadUrl(parsed.data, store);
}

async function withDownloadUrl(
  manifest: ExportManifest,
  store: ExportStore,
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
