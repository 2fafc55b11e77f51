import type { Readable } from "node:stream";
import { EXPORT_STATUS } from "../contract.js";
import { createCsvScanner } from "../csv/scanner.js";
import type { SucceededManifest } from "../exports/export-document.js";
import { logger } from "../logger.js";
import { createSessionRecordWriter } from "../sessions/session-records.js";
import type { ObjectSink, SessionRowSink } from "../sessions/session-rows.js";
import { createTimestampReader } from "../sessions/timestamp.js";
import { companionKey } from "./companion-key.js";
import type { CompanionStore } from "./companion-store.js";
import { utf8Rows } from "./utf8-rows.js";

const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";

/**
 * What a companion writer is: rows in, a Parquet object out. Our own encoder
 * (sessions/session-records.ts) by default: hyparquet-writer (bench/hyparquet-companion.ts), set up for
 * this data, spent 5.5x its CPU per million rows (docs/benchmarks.md, "Companion function").
 */
export type CompanionWriterFactory = (options: {
  exportId: string;
  exportedAt: Date;
  sink: ObjectSink;
}) => SessionRowSink & { setReplacedRows?(count: number): void };

export interface BuildCompanionDeps {
  store: CompanionStore;
  /** IANA zone of Wavy's offset-less timestamps (WAVY_TIMEZONE), for created_at. */
  timeZone: string;
  writer?: CompanionWriterFactory;
}

/** Which export the event announced, as its detail says. */
export interface CompanionRequest {
  exportId: string;
  /** The CSV's key and sha256 as announced: a manifest naming others is not this export. */
  key?: string;
  sha256?: string;
}

export type CompanionOutcome =
  | { kind: "built"; key: string; rows: number; replacedUtf8Rows: number }
  | { kind: "exists"; key: string }
  | { kind: "skipped"; reason: string };

/** The stored CSV is not what its manifest says: retrying cannot help, the operator must look. */
export class CompanionInputError extends Error {
  override name = "CompanionInputError";
}

/**
 * Builds one export's Parquet companion from its stored CSV (docs/contract.md, "Companions"),
 * for the companion function and the backfill alike. Idempotent per export: an existing
 * companion is left as it is; two racing runs write the same bytes (the file depends only on the
 * CSV, the export id and createdAt). A failed, deleted or rewritten export gets none, and one that
 * stopped being `succeeded` while its companion was written loses it again.
 */
export async function buildCompanion(
  request: CompanionRequest,
  deps: BuildCompanionDeps,
): Promise<CompanionOutcome> {
  const { store } = deps;
  const manifest = await succeededManifest(request, store);
  if (typeof manifest === "string") return skipped(request.exportId, manifest);
  const key = companionKey(manifest);
  if (await store.exists(key)) return { kind: "exists", key };
  const csv = await store.open(manifest.key);
  if (!csv) return skipped(request.exportId, "its CSV is not stored");

  const sink = store.create(key, PARQUET_CONTENT_TYPE);
  const writer = (deps.writer ?? createSessionRecordWriter)({
    exportId: manifest.exportId,
    exportedAt: new Date(manifest.createdAt),
    sink,
  });
  let figures: { rows: number; replacedUtf8Rows: number };
  try {
    figures = await writeRows(csv, manifest, writer, deps.timeZone);
  } catch (error) {
    csv.destroy();
    await writer.discard();
    throw error;
  }
  // The export may have been settled as failed (and its CSV deleted) while this ran.
  const now = await store.readManifest(manifest.exportId);
  if (now?.status !== EXPORT_STATUS.succeeded) {
    await store.remove(key);
    return skipped(request.exportId, "it is no longer succeeded");
  }
  logger.info("Companion built", { exportId: manifest.exportId, key, ...figures });
  return { kind: "built", key, ...figures };
}

async function succeededManifest(
  request: CompanionRequest,
  store: CompanionStore,
): Promise<SucceededManifest | string> {
  const manifest = await store.readManifest(request.exportId);
  if (!manifest) return "it has no manifest";
  if (manifest.status !== EXPORT_STATUS.succeeded) return `it is ${manifest.status}`;
  if (request.key !== undefined && manifest.key !== request.key) return "its key differs";
  if (request.sha256 !== undefined && manifest.sha256 !== request.sha256) {
    return "its sha256 differs";
  }
  return manifest;
}

function skipped(exportId: string, reason: string): CompanionOutcome {
  logger.info("No companion for this export", { exportId, reason });
  return { kind: "skipped", reason };
}

/** One pass over the stored CSV into the writer; the figures must match the manifest's. */
async function writeRows(
  csv: Readable,
  manifest: SucceededManifest,
  writer: ReturnType<CompanionWriterFactory>,
  timeZone: string,
): Promise<{ rows: number; replacedUtf8Rows: number }> {
  const read = createTimestampReader(timeZone);
  const rows = utf8Rows((bytes, sourceStart, sourceEnd, createdStart, createdEnd) => {
    const createdAt = read(bytes, createdStart, createdEnd);
    writer.add(bytes, sourceStart, sourceEnd, createdStart, createdEnd, createdAt);
  });
  const scanner = createCsvScanner({ onRow: rows.visit });
  let bytes = 0;
  for await (const chunk of csv as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    scanner.write(chunk);
    await writer.drain();
  }
  const count = scanner.finish();
  if (bytes !== manifest.bytes || count !== manifest.rows) {
    throw new CompanionInputError(
      `The stored CSV of ${manifest.exportId} has ${bytes} bytes and ${count} rows; its manifest says ${manifest.bytes} and ${manifest.rows}`,
    );
  }
  writer.setReplacedRows?.(rows.replacedRows());
  await writer.finish();
  return { rows: count, replacedUtf8Rows: rows.replacedRows() };
}
