import { gzipSync } from "node:zlib";
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
 * Rows per row group: what memory holds between two flushes. Smaller groups cost less CPU here
 * (the writer's per-group arrays stay in V8's young generation): `npm run bench:companion` on
 * 1 M rows, 4 096 / 8 192 / 16 384 / 65 536 rows per group: 1.8 / 1.7 / 2.2 / 2.7 s of CPU,
 * 133 / 130 / 173 / 259 MB peak RSS. A group is some 200 KB of Parquet; Athena splits files
 * by row group, which at these file sizes costs it nothing measurable.
 */
export const DEFAULT_ROW_GROUP_ROWS = 8_192;

/**
 * GZIP through Node's native zlib at level 1 rather than the writer's built-in JavaScript
 * Snappy: 1.9 s against 3.3 s of CPU per million rows in the same trial, and smaller files.
 * Athena reads GZIP-compressed Parquet (https://docs.aws.amazon.com/athena/latest/ug/compression-support-hive.html).
 */
const CODEC = "GZIP";
const COMPRESSORS = { GZIP: (input: Uint8Array) => gzipSync(input, { level: 1 }) };

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

/**
 * One row group's rows as they are gathered: the two text fields' bytes in one growing arena
 * with their offsets, the timestamps in a Float64Array (NaN: unreadable). Nothing is allocated
 * per row while gathering; the writer's per-value objects (views, BigInts) are made only while a
 * group is encoded and die young. Profiled (`npm run bench:companion`): one string and one
 * BigInt per field and row, kept until the group was written, spent a third of the CPU in GC.
 */
class RowGroup {
  rows = 0;
  private arena: Buffer;
  private used = 0;
  private offsets: Uint32Array;
  private created: Float64Array;

  constructor(capacity: number) {
    this.arena = Buffer.allocUnsafe(capacity * 40);
    this.offsets = new Uint32Array(capacity * 2 + 1);
    this.created = new Float64Array(capacity);
  }

  add(bytes: Uint8Array, fields: [number, number, number, number], createdAtMs: number): void {
    if (this.rows === this.created.length) this.grow();
    const [sourceStart, sourceEnd, createdStart, createdEnd] = fields;
    const needed = sourceEnd - sourceStart + (createdEnd - createdStart);
    if (this.used + needed > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + needed));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    const at = this.rows * 2;
    // A loop, not set(subarray()): fields are a few bytes, and a view per field is garbage.
    const arena = this.arena;
    let used = this.used;
    for (let i = sourceStart; i < sourceEnd; i++) arena[used++] = bytes[i] as number;
    this.offsets[at + 1] = used;
    for (let i = createdStart; i < createdEnd; i++) arena[used++] = bytes[i] as number;
    this.offsets[at + 2] = used;
    this.used = used;
    this.created[this.rows] = createdAtMs;
    this.rows++;
  }

  /** Field `field` (0: source, 1: session_created_at) of every row, as views of the arena. */
  texts(field: 0 | 1): Uint8Array[] {
    const values = new Array<Uint8Array>(this.rows);
    for (let row = 0; row < this.rows; row++) {
      const at = row * 2 + field;
      values[row] = this.arena.subarray(this.offsets[at], this.offsets[at + 1]);
    }
    return values;
  }

  /** created_at (shift 0) or closes_at (shift SESSION_LIFETIME_MS) in ms; null when unreadable. */
  times(shift: number): (bigint | null)[] {
    const values = new Array<bigint | null>(this.rows);
    for (let row = 0; row < this.rows; row++) {
      const ms = this.created[row] as number;
      values[row] = Number.isNaN(ms) ? null : BigInt(ms + shift);
    }
    return values;
  }

  clear(): void {
    this.rows = 0;
    this.used = 0;
  }

  private grow(): void {
    const created = new Float64Array(this.created.length * 2);
    created.set(this.created);
    this.created = created;
    const offsets = new Uint32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
  }
}

class SessionRecordWriter implements SessionRowSink {
  private readonly bytes: Writer & { index: number } = new ByteWriter();
  private readonly parquet: ParquetWriter;
  private readonly rowGroupRows: number;
  private readonly exportId: string;
  private readonly exportedAt: bigint;
  private readonly sink: ObjectSink;
  private readonly group: RowGroup;
  private readonly fields: [number, number, number, number] = [0, 0, 0, 0];
  private total = 0;

  constructor(options: SessionRecordsOptions) {
    this.sink = options.sink;
    this.rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.group = new RowGroup(this.rowGroupRows);
    this.exportId = options.exportId;
    this.exportedAt = BigInt(options.exportedAt.getTime());
    // The encoded row group goes to S3 as soon as it is complete, and the buffer is reused.
    this.bytes.flush = () => this.flushBytes();
    this.bytes.finish = () => this.flushBytes();
    this.parquet = new ParquetWriter({
      writer: this.bytes,
      schema: SESSION_RECORD_SCHEMA,
      codec: CODEC,
      compressors: COMPRESSORS,
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
    const fields = this.fields;
    fields[0] = sourceStart;
    fields[1] = sourceEnd;
    fields[2] = createdStart;
    fields[3] = createdEnd;
    this.group.add(bytes, fields, createdAtMs);
  }

  async drain(): Promise<void> {
    if (this.group.rows >= this.rowGroupRows) await this.writeRowGroup();
  }

  async finish(): Promise<void> {
    if (this.group.rows > 0) await this.writeRowGroup();
    await this.parquet.finish();
    await this.sink.finish();
  }

  discard(): Promise<void> {
    return this.sink.discard();
  }

  /** Data rows written so far. */
  records(): number {
    return this.total + this.group.rows;
  }

  private async writeRowGroup(): Promise<void> {
    const group = this.group;
    const rows = group.rows;
    // Repeated values: the writer dictionary-encodes them, and nothing is allocated per row.
    const exportId = new Array<string>(rows).fill(this.exportId);
    const exportedAt = new Array<bigint>(rows).fill(this.exportedAt);
    // Statistics (min/max) where queries filter, so Athena can skip row groups: the timestamps
    // and export_id (one value per file, so a query for one export skips the others' files).
    await this.parquet.write({
      columnData: [
        { name: "source", data: group.texts(0), statistics: false },
        { name: "session_created_at", data: group.texts(1), statistics: false },
        { name: "created_at", data: group.times(0) },
        { name: "closes_at", data: group.times(SESSION_LIFETIME_MS) },
        { name: "export_id", data: exportId },
        { name: "exported_at", data: exportedAt },
      ],
      rowGroupSize: rows,
    });
    this.total += rows;
    group.clear();
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
