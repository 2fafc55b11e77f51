import { createHash } from "node:crypto";
import { finished, type Readable } from "node:stream";
import { DEFAULTS } from "../contract.js";
import {
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
import { PartUploader, type PartUploaderOptions } from "../s3/part-uploader.js";
import type { SessionRowSink } from "../sessions/session-rows.js";

export interface CopyResult {
  rows: number;
  bytes: number;
  sha256: string;
}

export interface CopyOptions extends Omit<PartUploaderOptions, "contentType"> {
  /** Sees each data row's session_created_at as the copy scans it: a snapshot's tally. */
  onTimestamp?: FieldVisitor;
  /** Issue 21: each row's `source` and session_created_at, for a snapshot's reconciliation. */
  onRow?: RowVisitor;
  /**
   * Consumers of the rows the caller waits for (the closing-soon list), fed by the same scan,
   * finished before `beforeCommit` and discarded on any failure. Derived data is not one of
   * them: it is built later from the stored CSV (docs/contract.md, "Companions").
   */
  rowSinks?: readonly SessionRowSink[];
  /** IANA zone of offset-less timestamps in the rows handed to rowSinks. */
  timeZone?: string;
  /** Runs once the figures are settled, just before the object is made visible (the manifest). */
  beforeCommit?: (figures: CopyResult) => Promise<void>;
}

/**
 * Streams the CSV into S3 in one pass, counting and hashing exactly the bytes stored, in
 * partSize × (queueSize + 1) of memory. The figures are settled, the sinks finished and
 * `beforeCommit` run before the commit; on any failure the upload is aborted and the sinks
 * discarded, so nothing is left behind.
 */
export async function copyToS3(source: Readable, options: CopyOptions): Promise<CopyResult> {
  const uploader = new PartUploader({ ...options, contentType: "text/csv; charset=utf-8" });
  const sinks = options.rowSinks ?? [];
  const hash = createHash("sha256");
  const plain = sinks.length === 0 && !options.onRow;
  const rows = plain
    ? createCsvScanner({ onTimestamp: options.onTimestamp })
    : await rowScanner(options);
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
      const message = "The request budget ran out while storing the CSV";
      throw new UpstreamTimeoutError(message, { cause: error });
    }
    logger.error("Storing the CSV in S3 failed", { key: options.key, errorName: errorName(error) });
    throw new InternalError("Internal error", { cause: error });
  }
}

/**
 * Hands each chunk to `take` as it arrives ('data' events), pausing while the promise `take`
 * returns is pending. Not `for await`: its promise hop per 16 KiB TLS record cost ~0.3 CPU s/GB
 * (bench/optimisations.md, step 11). Settles once the source has ended, or failed, and the chunk
 * being taken has settled: an upload it was starting must exist (or not) before the abort.
 */
function eachChunk(source: Readable, take: (chunk: Buffer) => Promise<void> | undefined) {
  return new Promise<void>((resolve, reject) => {
    let taking: Promise<void> = Promise.resolve();
    let failure: { error: unknown } | undefined;
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
 * With row sinks: each row's timestamp read once for all, onTimestamp and onRow fed from here.
 * Luxon (the reader's fallback) loads only on this path: module init, bench/optimisations.md 11.
 */
async function rowScanner({ rowSinks = [], onTimestamp, onRow, timeZone }: CopyOptions) {
  const { createTimestampReader } = await import("../sessions/timestamp.js");
  const read = createTimestampReader(timeZone ?? DEFAULTS.timeZone);
  return createCsvScanner({
    onRow: (bytes, sourceStart, sourceEnd, createdStart, createdEnd) => {
      onTimestamp?.(bytes, createdStart, createdEnd);
      onRow?.(bytes, sourceStart, sourceEnd, createdStart, createdEnd);
      const createdAt = read(bytes, createdStart, createdEnd);
      for (const sink of rowSinks) {
        sink.add(bytes, sourceStart, sourceEnd, createdStart, createdEnd, createdAt);
      }
    },
  });
}
