import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ContractError, errorName, InternalError, UpstreamTimeoutError } from "../errors.js";
import type { ExportStore } from "../exports/ports.js";
import { logger } from "../logger.js";

/**
 * S3 answers a conditional write or delete that races another request on the same key `409
 * ConditionalRequestConflict` and says to retry it ("If a conflicting operation occurs during
 * the upload S3 returns a 409 ConditionalRequestConflict response. On a 409 failure you should
 * retry the upload", https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html); a
 * `412` is the condition failing, a lost race, and is not retried. Bounded, within the signal.
 */
const CONFLICT_RETRIES = 3;
const CONFLICT_BACKOFF_MS = 50;

/** The export store on one S3 bucket: every call under the caller's signal. */
export function s3ExportStore(s3: S3Client, bucket: string): ExportStore {
  const send = async <T>(what: string, signal: AbortSignal, call: () => Promise<T>) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= CONFLICT_RETRIES || signal.aborted) {
          throw error;
        }
        logger.warn(`${what}: S3 answered 409 ConditionalRequestConflict; retrying`);
        await new Promise((resolve) => setTimeout(resolve, CONFLICT_BACKOFF_MS * 2 ** attempt));
      }
    }
  };
  return {
    bucket,
    get: async (key, signal) => {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: signal,
        });
        return {
          text: (await object.Body?.transformToString("utf-8")) ?? "",
          etag: object.ETag ?? "",
        };
      } catch (error) {
        if ((error as { name?: string }).name === "NoSuchKey") return undefined;
        throw storageFailure(`Reading ${key} failed`, error, signal);
      }
    },
    // HeadObject needs s3:GetObject, and answers 404 rather than 403 for a missing key only with
    // s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
    exists: async (key, signal) => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        return true;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === "NotFound" || name === "NoSuchKey") return false;
        throw storageFailure(`Checking ${key} failed`, error, signal);
      }
    },
    put: async (key, text, condition, signal) => {
      const command = () =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: text,
            // Said outright: for an empty body (the history and running-index entries) the SDK
            // sends no content-length and warns "Stream of unknown length" on every export.
            ContentLength: Buffer.byteLength(text),
            ContentType: "application/json",
            ...(condition && "ifMatch" in condition
              ? { IfMatch: condition.ifMatch }
              : condition && { IfNoneMatch: "*" }),
          }),
          { abortSignal: signal },
        );
      try {
        return (await send(`Writing ${key}`, signal, command)).ETag ?? "";
      } catch (error) {
        // 412: the condition failed; 404: If-Match on an object that is gone. Another writer decided.
        if (condition && [412, 404].includes(statusOf(error) ?? 0)) return undefined;
        throw storageFailure(`Writing ${key} failed`, error, signal);
      }
    },
    // DeleteObject takes If-Match on general purpose buckets too (412 when the ETag differs,
    // 409 on a concurrent write): https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
    // It needs s3:GetObject as well as s3:DeleteObject, which every role deleting here has.
    delete: async (key, ifMatch, signal) => {
      const command = () =>
        s3.send(
          new DeleteObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(ifMatch !== undefined && { IfMatch: ifMatch }),
          }),
          { abortSignal: signal },
        );
      try {
        await send(`Deleting ${key}`, signal, command);
        return true;
      } catch (error) {
        if (ifMatch !== undefined && [412, 404].includes(statusOf(error) ?? 0)) return false;
        throw storageFailure(`Deleting ${key} failed`, error, signal);
      }
    },
    list: async (prefix, { startAfter, maxKeys }, signal) => {
      try {
        const listing = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            MaxKeys: maxKeys,
            ...(startAfter !== undefined && { StartAfter: startAfter }),
          }),
          { abortSignal: signal },
        );
        return (listing.Contents ?? []).map((object) => object.Key ?? "");
      } catch (error) {
        throw storageFailure(`Listing ${prefix} failed`, error, signal);
      }
    },
    // A dead run's upload id died with it; ListMultipartUploads with the key as prefix finds it
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html). Failures
    // are logged: the bucket's AbortIncompleteMultipartUpload rule (1 day) is the backstop.
    abortUploads: async (key, signal) => {
      try {
        const listing = await s3.send(
          new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }),
          { abortSignal: signal },
        );
        for (const upload of listing.Uploads ?? []) {
          if (upload.Key !== key || !upload.UploadId) continue;
          await s3.send(
            new AbortMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: upload.UploadId,
            }),
            { abortSignal: signal },
          );
        }
      } catch (error) {
        logger.error("Could not abort a dead run's multipart upload", {
          key,
          errorName: errorName(error),
        });
      }
    },
    presign: (key, expiresIn, now) =>
      getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn,
        signingDate: now,
      }),
  };
}

/**
 * What an S3 call's failure answers: the budget running out is the contract's 504 (the call was
 * abandoned on the deadline's signal), anything else our own fault, 500 with a log line that
 * names the error, never its message.
 */
function storageFailure(what: string, error: unknown, signal: AbortSignal): ContractError {
  if (error instanceof ContractError) return error;
  if (signal.aborted) {
    logger.error(`${what}: S3 did not answer within the request budget`);
    const message = "The request budget ran out while S3 was working";
    return new UpstreamTimeoutError(message, { cause: error });
  }
  logger.error(what, { errorName: errorName(error) });
  return new InternalError("Internal error", { cause: error });
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
