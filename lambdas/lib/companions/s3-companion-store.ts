import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ExportManifestSchema, manifestKey } from "../exports/export-document.js";
import { logger } from "../logger.js";
import { PartUploader } from "../s3/part-uploader.js";
import type { CompanionStore } from "./companion-store.js";

const isMissing = (error: unknown) => {
  const name = (error as { name?: string }).name;
  return name === "NoSuchKey" || name === "NotFound";
};

/**
 * The companion store over S3. HeadObject and GetObject answer 404 rather than 403 for a missing
 * key only with s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html),
 * which the stack grants the companion function on the bucket.
 */
export function s3CompanionStore(s3: S3Client, bucket: string): CompanionStore {
  return {
    async readManifest(exportId) {
      try {
        const object = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: manifestKey(exportId) }),
        );
        const parsed = ExportManifestSchema.safeParse(
          JSON.parse((await object.Body?.transformToString("utf8")) ?? ""),
        );
        if (parsed.success) return parsed.data;
        logger.warn("A manifest does not parse; no companion for it", { exportId });
        return undefined;
      } catch (error) {
        if (isMissing(error)) return undefined;
        if (error instanceof SyntaxError) return undefined;
        throw error;
      }
    },
    async exists(key, signal) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async open(key) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return object.Body as Readable;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    create: (key, contentType) => new PartUploader({ s3, bucket, key, contentType }),
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
