import { createHash } from "node:crypto";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createRowCounter } from "../csv/row-counter.js";
import { ContractError, InternalError, UpstreamError } from "../errors.js";
import { logger } from "../powertools.js";

export interface CopyResult {
  rows: number;
  bytes: number;
  sha256: string;
}

export interface CopyOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  /** Multipart part size; 8 MiB by default (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts in flight at once. */
  queueSize?: number;
}

/**
 * Streams the CSV into S3 in one pass while counting its bytes and data rows and hashing it,
 * so the figures describe exactly the bytes stored. Memory is bounded by partSize × queueSize.
 * On any failure the multipart upload is aborted (lib-storage does so when leavePartsOnError
 * is false) and a single-part upload never starts, so no object is left behind.
 */
export async function copyToS3(source: Readable, options: CopyOptions): Promise<CopyResult> {
  const tally = new TallyingStream();
  // pipe() rather than pipeline(): the upload owns the tally's lifetime, and a source error is
  // forwarded into it so lib-storage sees the failure and aborts.
  source.on("error", (error) => tally.destroy(error));
  source.pipe(tally);

  const upload = new Upload({
    client: options.s3,
    params: {
      Bucket: options.bucket,
      Key: options.key,
      Body: tally,
      ContentType: "text/csv; charset=utf-8",
    },
    partSize: options.partSize ?? 8 * 1024 * 1024,
    queueSize: options.queueSize ?? 4,
    leavePartsOnError: false,
  });

  try {
    await upload.done();
  } catch (error) {
    source.destroy();
    if (error instanceof ContractError) throw error;
    logger.error("Storing the CSV in S3 failed", { key: options.key, errorName: nameOf(error) });
    throw new InternalError("Internal error", { cause: error });
  }
  return tally.result();
}

/** Passes bytes through unchanged while hashing, counting and scanning them for rows. */
class TallyingStream extends Transform {
  private readonly hash = createHash("sha256");
  private readonly rows = createRowCounter();
  private bytes = 0;
  private summary: CopyResult | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.rows.write(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  // Runs before the upload sees the end of the stream, so a CSV that cannot be read fails the
  // upload (and nothing is stored) rather than leaving an object without figures.
  override _flush(callback: TransformCallback): void {
    try {
      const rows = this.rows.finish();
      this.summary = { rows, bytes: this.bytes, sha256: this.hash.digest("hex") };
      callback();
    } catch {
      callback(new UpstreamError("Wavy's CSV could not be read as CSV"));
    }
  }

  result(): CopyResult {
    if (!this.summary) throw new InternalError("The copy ended without figures");
    return this.summary;
  }
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
