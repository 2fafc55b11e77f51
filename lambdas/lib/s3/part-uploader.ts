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

export interface PartUploaderOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** DEFAULT_PART_SIZE and DEFAULT_QUEUE_SIZE (parts in flight) unless given. */
  partSize?: number;
  queueSize?: number;
  /** The request's deadline: S3 calls still running when it fires are abandoned. */
  signal?: AbortSignal;
}

/**
 * S3's smallest part, one in flight while the next fills: with two in flight the 1 GB export
 * peaked at 132 MB and spent 7.05 CPU s/GB, with one 124 MB and 5.7 (bench/optimisations.md,
 * step 7). A 5 GiB CSV is 1 024 parts (S3 allows 10 000).
 */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 1;
const CHECKSUMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;

/**
 * Writes one object from a stream of chunks: one PutObject if it fits in one part, else a
 * multipart upload cut in a small pool of reused buffers. Not lib-storage's Upload, whose fresh
 * Buffer.concat per part cost a third of the export's CPU in page faults and grew the peak RSS
 * with the file (bench/optimisations.md, step 1); its S3 calls, checksums and abort-on-failure
 * are lib-storage's. Both commits are write-once (`If-None-Match: *`, a key already there is
 * refused: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
 */
export class PartUploader {
  private readonly partSize: number;
  private readonly queueSize: number;
  // Aborts and deletes go out under cleanupSignal() instead: they must still go out once the
  // deadline has fired, and must not hang on an S3 that stopped answering.
  private readonly sendOptions: { abortSignal?: AbortSignal };
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

  constructor(private readonly options: PartUploaderOptions) {
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE);
    this.sendOptions = { abortSignal: options.signal };
  }

  /**
   * Copies the chunk into the current part; a promise only when the caller must wait (a part to
   * send, a buffer to come back). An `await` per 16 KiB TLS record was a measurable share of the
   * copy (bench/optimisations.md, step 11).
   */
  append(chunk: Buffer): Promise<void> | undefined {
    if (this.current && this.filled + chunk.length <= this.partSize) {
      this.filled += chunk.copy(this.current, this.filled);
      return undefined;
    }
    return this.appendSlowly(chunk);
  }

  /** append() for a caller that awaits every write anyway (ObjectSink). */
  write = async (chunk: Buffer): Promise<void> => this.append(chunk);

  /** Sends the last part, if the upload is multipart, and waits for every part in flight. */
  async flush(): Promise<void> {
    if (this.uploadId === undefined) return;
    if (this.filled > 0) await this.sendCurrent();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** Makes the object visible: the one PutObject, or CompleteMultipartUpload after flush(). */
  async commit(): Promise<void> {
    const { s3, bucket: Bucket, key: Key, contentType: ContentType } = this.options;
    if (this.uploadId === undefined) {
      const Body = this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0);
      const put = new PutObjectCommand({ Bucket, Key, Body, ContentType, IfNoneMatch: "*" });
      await s3.send(withUnsignedPayload(put), this.sendOptions);
    } else {
      this.parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      const [UploadId, MultipartUpload] = [this.uploadId, { Parts: this.parts }];
      const complete = { Bucket, Key, UploadId, MultipartUpload, IfNoneMatch: "*" };
      await s3.send(new CompleteMultipartUploadCommand(complete), this.sendOptions);
      this.uploadId = undefined;
    }
    this.committed = true;
  }

  /** flush() then commit(): for an object nothing else must be written before (a companion). */
  finish = async (): Promise<void> => this.flush().then(() => this.commit());

  /** After a later failure: takes the object back, committed or not. Failures are logged. */
  async discard(): Promise<void> {
    if (!this.committed) return this.abort();
    this.committed = false;
    const { s3, bucket: Bucket, key: Key } = this.options;
    await s3
      .send(new DeleteObjectCommand({ Bucket, Key }), { abortSignal: cleanupSignal() })
      .catch((error) => this.logFailure("Could not remove an object after a later failure", error));
  }

  /** After a failure: let the parts in flight settle, then abort the upload if one is open. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    const { s3, bucket: Bucket, key: Key } = this.options;
    const UploadId = this.uploadId;
    if (UploadId === undefined) return;
    this.uploadId = undefined;
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }), {
        abortSignal: cleanupSignal(),
      })
      .catch((error) => this.logFailure("Could not abort the multipart upload", error));
  }

  private async appendSlowly(chunk: Buffer): Promise<void> {
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
    const Body = buffer.subarray(0, this.filled);
    this.current = undefined;
    this.filled = 0;
    this.uploadId ??= await this.createUpload();
    const PartNumber = this.nextPartNumber++;
    if (PartNumber > 10_000) throw new Error("More than S3's 10 000 parts");
    const { s3, bucket: Bucket, key: Key } = this.options;
    const part = {
      Bucket,
      Key,
      UploadId: this.uploadId,
      PartNumber,
      Body,
      ContentLength: Body.length,
    };
    const sent: Promise<void> = s3
      .send(withUnsignedPayload(new UploadPartCommand(part)), this.sendOptions)
      .then((result) => {
        if (!result.ETag) throw new Error(`Part ${PartNumber} came back without an ETag`);
        const completed: CompletedPart = { PartNumber, ETag: result.ETag };
        for (const name of CHECKSUMS) {
          const value = result[`Checksum${name}`];
          if (value) completed[`Checksum${name}`] = value;
        }
        this.parts.push(completed);
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
    const { s3, bucket: Bucket, key: Key, contentType: ContentType } = this.options;
    const checksums = await s3.config.requestChecksumCalculation();
    const declared = checksums === "WHEN_SUPPORTED" && {
      ChecksumAlgorithm: ChecksumAlgorithm.CRC32,
    };
    const create = { Bucket, Key, ContentType, ...declared };
    const created = await s3.send(new CreateMultipartUploadCommand(create), this.sendOptions);
    if (!created.UploadId) throw new Error("CreateMultipartUpload answered without an UploadId");
    return created.UploadId;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private logFailure(message: string, error: unknown): void {
    logger.error(message, { key: this.options.key, errorName: errorName(error) });
  }
}

/**
 * SigV4 would hash every part for `x-amz-content-sha256`, which the caller has SHA-256'd once
 * already (the export's `sha256`); S3 accepts `UNSIGNED-PAYLOAD` there
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html). Set only when
 * no part loses protection by it: over HTTPS (record MACs in transit) and with a signed
 * `x-amz-checksum-*` header (the SDK's default CRC32), which S3 checks each part against and
 * refuses a mismatch (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html), and
 * again on completion (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * A bucket policy denying `s3:x-amz-content-sha256` = UNSIGNED-PAYLOAD would refuse these.
 */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const SHA256_HEADER = "x-amz-content-sha256";
type Stack = UploadPartCommand["middlewareStack"];
type Middleware = Parameters<Stack["addRelativeTo"]>[0];
type Handler = (args: { request: unknown }) => Promise<unknown>;

const unsignedOverHttps = ((next: Handler) => async (args: { request: unknown }) => {
  const { protocol, headers } = args.request as {
    protocol?: string;
    headers?: Record<string, string>;
  };
  if (protocol === "https:" && headers) {
    const names = Object.keys(headers).map((name) => name.toLowerCase());
    const checksummed = names.some((name) => name.startsWith("x-amz-checksum-"));
    if (checksummed && !names.includes(SHA256_HEADER)) headers[SHA256_HEADER] = UNSIGNED_PAYLOAD;
  }
  return next(args);
}) as unknown as Middleware;

function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  (command.middlewareStack as Stack).addRelativeTo(unsignedOverHttps, {
    // Throws at send if the SDK ever drops that middleware: better than hashing twice unseen.
    relation: "after",
    toMiddleware: "flexibleChecksumsMiddleware",
    name: "unsignedPayloadOverHttps",
    override: true,
  });
  return command;
}
