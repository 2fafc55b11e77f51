import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { cleanupSignal } from "../clock.js";
import { errorName } from "../errors.js";
import { logger } from "../logger.js";
import { withUnsignedPayload } from "./unsigned-payload.js";

export interface PartUploaderOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** Multipart part size; DEFAULT_PART_SIZE unless given. */
  partSize?: number;
  /** Parts in flight at once; DEFAULT_QUEUE_SIZE unless given. */
  queueSize?: number;
  /** The request's deadline: S3 calls still running when it fires are abandoned. */
  signal?: AbortSignal;
}

/**
 * S3's smallest part, one in flight while the next fills: a pool of 2 × 5 MiB. Over TLS (as
 * deployed) the 1 GB export with two in flight peaked at 132 MB and spent 7.05 CPU s/GB, with
 * one at 124 MB and 5.7 s/GB (`npm run bench`, docs/benchmarks.md): a second part in flight
 * holds another 5 MiB buffer and its 5 MiB of TLS ciphertext, and buys nothing while filling a
 * part (~0.2 s of Lambda's 0.145 vCPU at 256 MB) takes longer than S3 takes to store one. A
 * function with more CPU may pass a larger queueSize. A 5 GiB CSV (MAX_CSV_BYTES) is 1 024
 * parts, well under S3's 10 000.
 */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 1;
/** S3's limit on parts in one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * Cuts the stream into parts in a small pool of reused part-sized buffers. Why not
 * @aws-sdk/lib-storage's Upload (which this replaced): it gathers each part with
 * Buffer.concat into a freshly allocated 8 MiB buffer, and on a VM a fresh buffer's page
 * faults cost far more than the copy (`npm run bench`: ~3 ms per MB, a third of the export's
 * CPU, and a peak RSS that grew with the file while dead parts waited for the GC). Copying
 * into pooled buffers costs ~0.5 ms per MB and keeps memory flat. The S3 calls, checksum
 * handling and abort-on-failure follow lib-storage's.
 */
export class PartUploader {
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly contentType: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pool: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | undefined;
  private filled = 0;
  private uploadId: string | undefined;
  private nextPartNumber = 1;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private failure: { error: unknown } | undefined;
  private committed = false;
  // The abort goes out under cleanupSignal() instead: it must still go out once the deadline
  // has fired, and must not hang on an S3 that stopped answering.
  private readonly sendOptions: { abortSignal?: AbortSignal };

  constructor(options: PartUploaderOptions) {
    this.s3 = options.s3;
    this.bucket = options.bucket;
    this.key = options.key;
    this.contentType = options.contentType;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE);
    this.sendOptions = { abortSignal: options.signal };
  }

  /**
   * Copies the chunk into the current part. Returns a promise only when the caller must wait
   * (a part to send, a buffer to come back): most chunks fit in the current part, and an
   * `await` per 16 KiB chunk was a measurable share of the copy (bench/optimisations.md, step 11).
   */
  append(chunk: Buffer): Promise<void> | undefined {
    const current = this.current;
    if (current && this.filled + chunk.length <= this.partSize) {
      this.filled += chunk.copy(current, this.filled);
      return undefined;
    }
    return this.writeSlowly(chunk);
  }

  /** append() for a caller that awaits every write anyway (ObjectSink). */
  async write(chunk: Buffer): Promise<void> {
    await this.append(chunk);
  }

  private async writeSlowly(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      // A full buffer goes out only once more bytes arrive: then it is not the last part.
      if (this.current && this.filled === this.partSize) await this.sendCurrent();
      this.current ??= await this.takeBuffer();
      const copied = chunk.copy(this.current, this.filled, offset);
      this.filled += copied;
      offset += copied;
    }
  }

  /** Sends the last part, if the upload is multipart, and waits for every part in flight. */
  async flush(): Promise<void> {
    if (this.uploadId === undefined) return;
    if (this.filled > 0) await this.sendCurrent();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /**
   * Makes the object visible: the one PutObject, or CompleteMultipartUpload after flush(). Both
   * write-once (`If-None-Match: *`, S3 takes it on either,
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): an export's
   * keys are fresh, so an object already there is never overwritten, only refused (412).
   */
  async commit(): Promise<void> {
    if (this.uploadId === undefined) {
      // The whole CSV fits in one part: a single PutObject, as lib-storage does.
      await this.s3.send(
        withUnsignedPayload(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.key,
            Body: this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0),
            ContentType: this.contentType,
            IfNoneMatch: "*",
          }),
        ),
        this.sendOptions,
      );
      this.committed = true;
      return;
    }
    this.parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
        IfNoneMatch: "*",
      }),
      this.sendOptions,
    );
    this.uploadId = undefined;
    this.committed = true;
  }

  /** flush() then commit(): for an object nothing else must be written before (a companion). */
  async finish(): Promise<void> {
    await this.flush();
    await this.commit();
  }

  /**
   * After a later failure (the CSV's, the manifest's): takes the object back, committed or not,
   * so nothing of a failed export is left. Under cleanupSignal() as the abort; failures are
   * logged, the caller is already answering an error.
   */
  async discard(): Promise<void> {
    if (!this.committed) {
      await this.abort();
      return;
    }
    this.committed = false;
    await this.s3
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key }), {
        abortSignal: cleanupSignal(),
      })
      .catch((error) =>
        logger.error("Could not remove an object after a later failure", {
          key: this.key,
          errorName: errorName(error),
        }),
      );
  }

  /** After a failure: let the parts in flight settle, then abort the upload if one is open. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    const uploadId = this.uploadId;
    if (uploadId === undefined) return;
    this.uploadId = undefined;
    await this.s3
      .send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }),
        { abortSignal: cleanupSignal() },
      )
      .catch((error) =>
        logger.error("Could not abort the multipart upload", {
          key: this.key,
          errorName: errorName(error),
        }),
      );
  }

  private async takeBuffer(): Promise<Buffer> {
    for (;;) {
      this.throwIfFailed();
      const free = this.pool.pop();
      if (free) return free;
      if (this.allocated < this.queueSize + 1) {
        this.allocated++;
        return Buffer.allocUnsafeSlow(this.partSize);
      }
      // Every buffer is a part in flight: wait for one to come back (backpressure).
      await Promise.race(this.inFlight);
    }
  }

  private async sendCurrent(): Promise<void> {
    this.throwIfFailed();
    const buffer = this.current as Buffer;
    const length = this.filled;
    this.current = undefined;
    this.filled = 0;
    this.uploadId ??= await this.createUpload();
    const partNumber = this.nextPartNumber++;
    if (partNumber > MAX_PARTS) throw new Error(`More than ${MAX_PARTS} parts`);
    const uploadId = this.uploadId;
    const sent: Promise<void> = this.s3
      .send(
        withUnsignedPayload(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: buffer.subarray(0, length),
            ContentLength: length,
          }),
        ),
        this.sendOptions,
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`Part ${partNumber} came back without an ETag`);
        this.parts.push({
          PartNumber: partNumber,
          ETag: result.ETag,
          ...(result.ChecksumCRC32 && { ChecksumCRC32: result.ChecksumCRC32 }),
          ...(result.ChecksumCRC32C && { ChecksumCRC32C: result.ChecksumCRC32C }),
          ...(result.ChecksumCRC64NVME && { ChecksumCRC64NVME: result.ChecksumCRC64NVME }),
          ...(result.ChecksumSHA1 && { ChecksumSHA1: result.ChecksumSHA1 }),
          ...(result.ChecksumSHA256 && { ChecksumSHA256: result.ChecksumSHA256 }),
        });
        // Only a part S3 has acknowledged frees its buffer; a failed one is never reused.
        this.pool.push(buffer);
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  private async createUpload(): Promise<string> {
    // As lib-storage: with the SDK's default checksums, the upload declares CRC32 so that each
    // part's checksum (added by the SDK) is accepted and carried into CompleteMultipartUpload.
    const checksums = await this.s3.config.requestChecksumCalculation();
    const created = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        ContentType: this.contentType,
        ...(checksums === "WHEN_SUPPORTED" && { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }),
      }),
      this.sendOptions,
    );
    if (!created.UploadId) throw new Error("CreateMultipartUpload answered without an UploadId");
    return created.UploadId;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
