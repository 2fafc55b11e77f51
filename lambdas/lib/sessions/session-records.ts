import { ByteWriter, ParquetWriter, type SchemaElement, type Writer } from "hyparquet-writer";
import { SESSION_COLUMNS, SESSION_LIFETIME_MS } from "../contract.js";
import type { ObjectSink, SessionRowSink } from "./session-rows.js";

/**
 * The normalised companion of an export: one Parquet record per data row, written while the CSV
 * is copied (docs/contract.md, "Querying with Athena").
 *
 * Why hyparquet-writer: pure JavaScript (no native or WASM binary to bundle), 54 KB minified,
 * and its ParquetWriter takes one row group at a time and hands the encoded bytes to the writer's
 * flush(), so memory holds one row group, never the file. @dsnp/parquetjs bundles to 408 KB
 * (thrift, bson, brotli-wasm) and wrote 5x the bytes by default; parquet-wasm is a 4.9 MB WASM
 * module; gzip JSON Lines cost more CPU per row than Parquet in the same trial
 * (`npm run bench:companion` measures the companion against the copy alone).
 */

/**
 * Rows per row group: what memory holds between two flushes (~100 bytes a row while gathered,
 * a few MB encoding). Athena reads a file's row groups in parallel splits; at these file sizes
 * the group size matters little to it.
 */
export const DEFAULT_ROW_GROUP_ROWS = 32_768;

// Timestamps as INT64 milliseconds, UTC-adjusted: Athena and Glue read millisecond precision
// (https://docs.aws.amazon.com/athena/latest/ug/data-types-timestamps.html: "a built-in time
// type like those for Parquet"). Both the legacy converted type and the logical type are set,
// as the Parquet format asks writers to do for readers that know only one of them.
const TIMESTAMP: Omit<SchemaElement, "name" | "repetition_type"> = {
  type: "INT64",
  converted_type: "TIMESTAMP_MILLIS",
  logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
};
const STRING: Omit<SchemaElement, "name" | "repetition_type"> = {
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
};
/** created_at and closes_at are null when Wavy's timestamp cannot be read; nothing else is. */
const NULLABLE = new Set(["created_at", "closes_at"]);

export const SESSION_RECORD_SCHEMA: SchemaElement[] = [
  { name: "root", num_children: SESSION_COLUMNS.length },
  ...SESSION_COLUMNS.map(
    ({ name, type }): SchemaElement => ({
      name,
      ...(type === "timestamp" ? TIMESTAMP : STRING),
      repetition_type: NULLABLE.has(name) ? "OPTIONAL" : "REQUIRED",
    }),
  ),
];

export interface SessionRecordsOptions {
  exportId: string;
  exportedAt: Date;
  sink: ObjectSink;
  rowGroupRows?: number;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function text(bytes: Uint8Array, start: number, end: number): string {
  return end > start ? utf8.decode(bytes.subarray(start, end)) : "";
}

class SessionRecordWriter implements SessionRowSink {
  private readonly bytes: Writer & { index: number } = new ByteWriter();
  private readonly parquet: ParquetWriter;
  private readonly rowGroupRows: number;
  private readonly exportId: string;
  private readonly exportedAt: number;
  private readonly sink: ObjectSink;
  private source: string[] = [];
  private sessionCreatedAt: string[] = [];
  private createdAt: (number | null)[] = [];
  private closesAt: (number | null)[] = [];
  private total = 0;

  constructor(options: SessionRecordsOptions) {
    this.sink = options.sink;
    this.rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.exportId = options.exportId;
    this.exportedAt = options.exportedAt.getTime();
    // The encoded row group goes to S3 as soon as it is complete, and the buffer is reused.
    this.bytes.flush = () => this.flushBytes();
    this.bytes.finish = () => this.flushBytes();
    this.parquet = new ParquetWriter({
      writer: this.bytes,
      schema: SESSION_RECORD_SCHEMA,
      createdBy: "wavy-sessions",
    });
  }

  add(
    bytes: Uint8Array,
    sourceStart: number,
    sourceEnd: number,
    createdStart: number,
    createdEnd: number,
    createdAtMs: number,
  ): void {
    this.source.push(text(bytes, sourceStart, sourceEnd));
    this.sessionCreatedAt.push(text(bytes, createdStart, createdEnd));
    const readable = !Number.isNaN(createdAtMs);
    this.createdAt.push(readable ? createdAtMs : null);
    this.closesAt.push(readable ? createdAtMs + SESSION_LIFETIME_MS : null);
  }

  async drain(): Promise<void> {
    if (this.source.length >= this.rowGroupRows) await this.writeRowGroup();
  }

  async finish(): Promise<void> {
    if (this.source.length > 0) await this.writeRowGroup();
    await this.parquet.finish();
    await this.sink.finish();
  }

  discard(): Promise<void> {
    return this.sink.discard();
  }

  /** Data rows written so far. */
  records(): number {
    return this.total + this.source.length;
  }

  private async writeRowGroup(): Promise<void> {
    const rows = this.source.length;
    const exportId = new Array<string>(rows).fill(this.exportId);
    const exportedAt = new Array<number>(rows).fill(this.exportedAt);
    // Statistics (min/max) where queries filter, so Athena can skip row groups: the timestamps
    // and export_id (one value per file, so a query for one export skips the others' files).
    await this.parquet.write({
      columnData: [
        { name: "source", data: this.source, statistics: false },
        { name: "session_created_at", data: this.sessionCreatedAt, statistics: false },
        { name: "created_at", data: this.createdAt },
        { name: "closes_at", data: this.closesAt },
        { name: "export_id", data: exportId },
        { name: "exported_at", data: exportedAt },
      ],
      rowGroupSize: rows,
    });
    this.total += rows;
    this.source = [];
    this.sessionCreatedAt = [];
    this.createdAt = [];
    this.closesAt = [];
  }

  private async flushBytes(): Promise<void> {
    const { buffer, index } = this.bytes;
    if (index === 0) return;
    await this.sink.write(Buffer.from(buffer, 0, index));
    this.bytes.index = 0;
  }
}

export function createSessionRecordWriter(
  options: SessionRecordsOptions,
): SessionRowSink & { records(): number } {
  return new SessionRecordWriter(options);
}
