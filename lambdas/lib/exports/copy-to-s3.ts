import { createHash } from "node:crypto";
import { finished, type Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { DEFAULTS } from "../contract.js";
import {
  type CsvScanner,
  createCsvScanner,
  type FieldVisitor,
  MalformedCsvError,
  type RowVisitor,
} from "../csv/scanner.js";
import {
  ContractError,
  errorName,
  InternalError,
  UpstreamError,
  UpstreamTimeoutError,
} from "../errors.js";
import { logger } from "../logger.js";
import type { SessionRowSink } from "../sessions/session-rows.js";
import { createTimestampReader } from "../sessions/timestamp.js";
import { PartUploader } from "./part-uploader.js";

export { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from "./part-uploader.js";

const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

export interface CopyResult {
  rows: number;
  bytes: number;
  sha256: string;
}

export interface CopyOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  /** Multipart part size; DEFAULT_PART_SIZE unless given. */
  partSize?: number;
  /** Parts in flight at once; DEFAULT_QUEUE_SIZE unless given. */
  queueSize?: number;
  /** The request's deadline: S3 calls still running when it fires are abandoned (504). */
  signal?: AbortSignal;
  /** Sees each data row's session_created_at as the copy scans it: a snapshot's tally. */
  onTimestamp?: FieldVisitor;
  /**
   * Issue 21's hook: sees each data row's `source` and session_created_at as the copy scans it,
   * so a snapshot's reconciliation (lambdas/lib/intelligence/reconcile.ts) reads the same download.
   */
  onRow?: RowVisitor;
  /**
   * Consumers of the CSV's rows the caller waits for (the closing-soon list), fed by the same
   * scan. They are finished before `beforeCommit` and discarded on any failure, the CSV's commit
   * included, so none outlives a failed export. Derived data is not one of them: it is built
   * later from the stored CSV (docs/contract.md, "Companions").
   */
  rowSinks?: readonly SessionRowSink[];
  /** IANA zone of offset-less timestamps in the rows handed to rowSinks. */
  timeZone?: string;
  /**
   * Runs once the figures are settled, every part and every row sink is in S3, just before the
   * object is made visible (CompleteMultipartUpload, or the one PutObject). If it fails, the
   * upload is aborted and no object appears: the export writes its manifest here.
   */
  beforeCommit?: (figures: CopyResult) => Promise<void>;
}

/**
 * Streams the CSV into S3 in one pass while counting its bytes and data rows and hashing it,
 * so the figures describe exactly the bytes stored. A CSV that fits in one part is one
 * PutObject; a larger one a multipart upload with `queueSize` parts in flight. Memory is
 * bounded by partSize × (queueSize + 1). On any failure the multipart upload is aborted and the
 * row sinks' objects are discarded; the figures are settled (a malformed CSV fails), the sinks
 * finished and `beforeCommit` has run before the object is completed, so no object is left
 * behind.
 */
export async function copyToS3(source: Readable, options: CopyOptions): Promise<CopyResult> {
  const uploader = new PartUploader({ ...options, contentType: CSV_CONTENT_TYPE });
  const sinks = options.rowSinks ?? [];
  const hash = createHash("sha256");
  const rows =
    sinks.length === 0 && !options.onRow
      ? createCsvScanner({ onTimestamp: options.onTimestamp })
      : rowScanner(sinks, options.onTimestamp, options.timeZone, options.onRow);
  let bytes = 0;
  try {
    await eachChunk(source, (chunk) => {
      hash.update(chunk);
      rows.write(chunk);
      bytes += chunk.length;
      const full = uploader.append(chunk);
      if (sinks.length === 0) return full;
      return Promise.all([full, ...sinks.map((sink) => sink.drain())]).then(() => undefined);
    });
    // Settled before the object is completed: a malformed CSV fails here, nothing stored.
    const figures: CopyResult = { rows: rows.finish(), bytes, sha256: hash.digest("hex") };
    for (const sink of sinks) await sink.finish();
    await uploader.flush();
    await options.beforeCommit?.(figures);
    await uploader.commit();
    return figures;
  } catch (error) {
    source.destroy();
    await Promise.all([uploader.abort(), ...sinks.map((sink) => sink.discard())]);
    if (error instanceof ContractError) throw error;
    if (error instanceof MalformedCsvError) {
      throw new UpstreamError("Wavy's CSV could not be read as CSV", { cause: error });
    }
    if (options.signal?.aborted) {
      throw new UpstreamTimeoutError("The request budget ran out while storing the CSV", {
        cause: error,
      });
    }
    logger.error("Storing the CSV in S3 failed", { key: options.key, errorName: errorName(error) });
    throw new InternalError("Internal error", { cause: error });
  }
}

/**
 * Hands each chunk of `source` to `take` as it arrives ('data' events), pausing while the
 * promise `take` returns (a part to send, a sink to drain) is pending. Not `for await`: its
 * promise hop per 16 KiB TLS record cost ~0.3 CPU s/GB, a twentieth of the export
 * (bench/optimisations.md, step 11). Resolves once the source has ended and every chunk is taken.
 */
function eachChunk(source: Readable, take: (chunk: Buffer) => Promise<void> | undefined) {
  return new Promise<void>((resolve, reject) => {
    let taking: Promise<void> = Promise.resolve();
    let failure: { error: unknown } | undefined;
    // Settles only once the chunk being taken has settled too: an upload it was starting must
    // exist (or not) before the caller aborts.
    const settle = () => void taking.then(() => (failure ? reject(failure.error) : resolve()));
    const fail = (error: unknown) => {
      if (failure) return;
      failure = { error };
      source.pause();
      settle();
    };
    source.on("data", (chunk: Buffer) => {
      if (failure) return;
      try {
        const pending = take(chunk);
        if (!pending) return;
        source.pause();
        taking = pending.then(() => void (failure || source.resume()), fail);
      } catch (error) {
        fail(error);
      }
    });
    finished(source, (error) => (error ? fail(error) : settle()));
  });
}

/**
 * The scanner for an export with row sinks: each row's timestamp is read once, for all. The
 * scanner hands a row to onRow only, so a snapshot's tally (onTimestamp) is fed from here too.
 */
function rowScanner(
  sinks: readonly SessionRowSink[],
  onTimestamp: FieldVisitor | undefined,
  timeZone: string = DEFAULTS.timeZone,
  // Issue 21: the snapshot's reconciliation, beside the sinks (CopyOptions.onRow).
  alsoOnRow?: RowVisitor,
): CsvScanner {
  const read = createTimestampReader(timeZone);
  const onRow: RowVisitor = (bytes, sourceStart, sourceEnd, createdStart, createdEnd) => {
    onTimestamp?.(bytes, createdStart, createdEnd);
    alsoOnRow?.(bytes, sourceStart, sourceEnd, createdStart, createdEnd);
    const createdAt = read(bytes, createdStart, createdEnd);
    for (const sink of sinks) {
      sink.add(bytes, sourceStart, sourceEnd, createdStart, createdEnd, createdAt);
    }
  };
  return createCsvScanner({ onRow });
}
