import { COMPANION, SESSION_COLUMNS, SESSION_LIFETIME_MS } from "../contract.js";
import {
  deltaBinaryPackedBound,
  encodeDeltaBlocks,
  writeDeltaHeader,
} from "../parquet/delta-binary-packed.js";
import {
  type Codec,
  type ColumnChunk,
  ENCODING,
  FASTEST_CODEC,
  ParquetFileWriter,
  type PhysicalType,
  type SchemaElement,
} from "../parquet/parquet-file.js";
import { writeVarint } from "../parquet/varint.js";
import type { ObjectSink, SessionRowSink } from "./session-rows.js";

/**
 * The normalised companion of an export: one Parquet record per data row, written while the CSV
 * is copied (docs/contract.md, "Querying with Athena"). Each row group's values are gathered
 * straight into their pages' encoded bytes (PLAIN text with its length prefix) or a typed array
 * (timestamps in milliseconds, DELTA_BINARY_PACKED when the group is written), so nothing is
 * allocated per row; the two columns that are the same on every row (export_id, exported_at)
 * are a one-entry dictionary and a single RLE run.
 * Why our own encoder rather than a Parquet library: see lambdas/lib/parquet/parquet-file.ts.
 */

/**
 * Rows per row group: what memory holds between two flushes (~3.5 MB of encoded pages at
 * 34-byte rows), and few enough groups that the footer stays small (one per 65 536 rows).
 */
export const DEFAULT_ROW_GROUP_ROWS = 65_536;

/**
 * A row group is also cut once its text passes this many bytes, so long fields (a hostile CSV's
 * rows may each be up to the scanner's line cap) cannot grow the pages past a few MB: drain()
 * runs between chunks, and one chunk's rows add at most a chunk plus one capped line.
 */
export const MAX_ROW_GROUP_TEXT_BYTES = 8 * 1024 * 1024;

/**
 * The timestamps' pages are not compressed: DELTA_BINARY_PACKED already stores a day of them in
 * ~27 bits a value, and GZIP on PLAIN int64s cost ~160 ms of CPU per million rows to halve them
 * (`npm run bench:companion`). The constant columns are a few bytes.
 */
const TIMESTAMP_CODEC: Codec = "UNCOMPRESSED";

// Timestamps as INT64 milliseconds, UTC-adjusted: Athena and Glue read millisecond precision
// (https://docs.aws.amazon.com/athena/latest/ug/data-types-timestamps.html: "a built-in time
// type like those for Parquet"). Both the legacy converted type and the logical type are set,
// as the Parquet format asks writers to do for readers that know only one of them.
const TIMESTAMP = {
  type: "INT64",
  converted_type: "TIMESTAMP_MILLIS",
  logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
} as const;
const STRING = {
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  logical_type: { type: "STRING" },
} as const;
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
  /** The text columns' codec: FASTEST_CODEC (ZSTD where Node has it) unless given. */
  textCodec?: Codec;
}

/** A BYTE_ARRAY column's PLAIN page as it fills: each value's uint32 length, then its bytes. */
class TextPage {
  private bytes: Buffer;
  private used = 0;

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  add(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.used + 4 + length > this.bytes.length) this.grow(4 + length);
    // Byte by byte, not set(subarray()): values are a few bytes, and a view per value is garbage.
    const bytes = this.bytes;
    let at = this.used;
    bytes[at++] = length & 0xff;
    bytes[at++] = (length >>> 8) & 0xff;
    bytes[at++] = (length >>> 16) & 0xff;
    bytes[at++] = length >>> 24;
    for (let i = start; i < end; i++) bytes[at++] = source[i] as number;
    this.used = at;
  }

  /** Bytes in the page so far. */
  size(): number {
    return this.used;
  }

  /** The page's body: valid until the next add() or clear(). */
  body(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  clear(): void {
    this.used = 0;
  }

  private grow(more: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + more));
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }
}

class SessionRecordWriter implements SessionRowSink {
  private readonly file: ParquetFileWriter;
  private readonly rowGroupRows: number;
  private readonly sink: ObjectSink;
  private readonly textCodec: Codec;
  private readonly source: TextPage;
  private readonly createdText: TextPage;
  /** Each row's created_at in epoch ms, NaN when unreadable (null in the file). */
  private createdMs: Float64Array;
  /** created_at's and closes_at's page bodies (definition levels, then the int64 values). */
  private timestampBodies: [Buffer, Buffer];
  /** Scratch room for one timestamp column's non-null values. */
  private present: Float64Array;
  private readonly exportId: Buffer;
  private readonly exportedAt: Buffer;
  private rows = 0;
  private total = 0;
  private replacedRows = 0;

  constructor(options: SessionRecordsOptions) {
    this.sink = options.sink;
    this.rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.textCodec = options.textCodec ?? FASTEST_CODEC;
    const rows = this.rowGroupRows;
    this.source = new TextPage(rows * 20);
    this.createdText = new TextPage(rows * 24);
    this.createdMs = new Float64Array(rows);
    this.timestampBodies = [timestampScratch(rows), timestampScratch(rows)];
    this.present = new Float64Array(rows);
    this.exportId = Buffer.from(options.exportId, "utf8");
    this.exportedAt = int64(options.exportedAt.getTime());
    this.file = new ParquetFileWriter(
      SESSION_RECORD_SCHEMA,
      (bytes) => this.sink.write(bytes),
      "wavy-sessions",
    );
  }

  add(
    bytes: Uint8Array,
    sourceStart: number,
    sourceEnd: number,
    createdStart: number,
    createdEnd: number,
    createdAtMs: number,
  ): void {
    // drain() runs between chunks, so a group may run a chunk's rows past rowGroupRows.
    if (this.rows === this.createdMs.length) this.grow();
    this.source.add(bytes, sourceStart, sourceEnd);
    this.createdText.add(bytes, createdStart, createdEnd);
    this.createdMs[this.rows++] = createdAtMs;
  }

  async drain(): Promise<void> {
    const text = this.source.size() + this.createdText.size();
    if (this.rows >= this.rowGroupRows || text >= MAX_ROW_GROUP_TEXT_BYTES) {
      await this.writeRowGroup();
    }
  }

  /** Rows whose text had invalid UTF-8 replaced (lambdas/lib/companions/utf8-rows.ts). */
  setReplacedRows(count: number): void {
    this.replacedRows = count;
  }

  async finish(): Promise<void> {
    if (this.rows > 0) await this.writeRowGroup();
    await this.file.finish([[COMPANION.replacedRowsMetadataKey, String(this.replacedRows)]]);
    await this.sink.finish();
  }

  discard(): Promise<void> {
    return this.sink.discard();
  }

  /** Data rows written so far. */
  records(): number {
    return this.total + this.rows;
  }

  private async writeRowGroup(): Promise<void> {
    const rows = this.rows;
    const text = (page: TextPage): ColumnChunk => ({
      codec: this.textCodec,
      pages: [{ kind: "data", values: rows, encoding: ENCODING.PLAIN, body: page.body() }],
    });
    const [createdAt, closesAt] = timestampChunks(
      this.createdMs,
      rows,
      this.timestampBodies,
      this.present,
    );
    await this.file.writeRowGroup(rows, [
      text(this.source),
      text(this.createdText),
      createdAt,
      closesAt,
      constantChunk(this.exportId, rows, "BYTE_ARRAY"),
      constantChunk(this.exportedAt, rows, "INT64"),
    ]);
    this.total += rows;
    this.rows = 0;
    this.source.clear();
    this.createdText.clear();
  }

  private grow(): void {
    const createdMs = new Float64Array(this.createdMs.length * 2);
    createdMs.set(this.createdMs);
    this.createdMs = createdMs;
    const rows = createdMs.length;
    this.timestampBodies = [timestampScratch(rows), timestampScratch(rows)];
    this.present = new Float64Array(rows);
  }
}

/**
 * The most a timestamp page's body takes for `rows` rows: the levels' length prefix, at worst a
 * 2-byte run per row (nulls alternating), and the values' encoding at its largest.
 */
function timestampScratch(rows: number): Buffer {
  return Buffer.allocUnsafeSlow(4 + rows * 2 + 8 + deltaBinaryPackedBound(rows));
}

/**
 * created_at and closes_at (created_at + SESSION_LIFETIME_MS), OPTIONAL INT64. A page body is the
 * definition levels (1: a value, 0: null; RLE runs, bit width 1, behind their uint32 length),
 * then the non-null values DELTA_BINARY_PACKED. closes_at's differences are created_at's, so its
 * body is created_at's with the encoding's header (its first value) rewritten. `present` is
 * scratch room for the non-null values.
 */
function timestampChunks(
  createdMs: Float64Array,
  rows: number,
  [created, closes]: [Buffer, Buffer],
  present: Float64Array,
): [ColumnChunk, ColumnChunk] {
  // Levels first, from byte 4; their length goes in front once known.
  let at = 4;
  let row = 0;
  while (row < rows) {
    const readable = !Number.isNaN(createdMs[row] as number);
    let run = 1;
    while (row + run < rows && !Number.isNaN(createdMs[row + run] as number) === readable) run++;
    at = writeVarint(created, at, run * 2); // an RLE run's header: its length, shifted left once
    created[at++] = readable ? 1 : 0;
    row += run;
  }
  created.writeUInt32LE(at - 4, 0);
  const levelsEnd = at;
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows; i++) {
    const ms = createdMs[i] as number;
    if (Number.isNaN(ms)) continue;
    if (ms < min) min = ms;
    if (ms > max) max = ms;
    present[count++] = ms;
  }
  const first = present[0] as number;
  const blocksStart = writeDeltaHeader(created, levelsEnd, count, first);
  const end = encodeDeltaBlocks(present, count, created, blocksStart);
  created.copy(closes, 0, 0, levelsEnd);
  const closesBlocksStart = writeDeltaHeader(closes, levelsEnd, count, first + SESSION_LIFETIME_MS);
  const closesEnd = closesBlocksStart + created.copy(closes, closesBlocksStart, blocksStart, end);
  const chunk = (body: Buffer, shift: number): ColumnChunk => ({
    codec: TIMESTAMP_CODEC,
    pages: [{ kind: "data", values: rows, encoding: ENCODING.DELTA_BINARY_PACKED, body }],
    statistics: {
      nullCount: rows - count,
      ...(count > 0 && { min: int64(min + shift), max: int64(max + shift) }),
    },
  });
  return [
    chunk(created.subarray(0, end), 0),
    chunk(closes.subarray(0, closesEnd), SESSION_LIFETIME_MS),
  ];
}

/**
 * A column with the same value on every row (export_id, exported_at): a one-entry dictionary
 * page, and a data page of one RLE run of index 0 (bit width 1). `plain` is the value's bytes
 * as statistics hold them; in the dictionary a BYTE_ARRAY value carries its uint32 length too.
 */
function constantChunk(plain: Buffer, rows: number, type: PhysicalType): ColumnChunk {
  const entry = type === "BYTE_ARRAY" ? Buffer.concat([uint32(plain.length), plain]) : plain;
  const indices = Buffer.allocUnsafe(1 + 10 + 1);
  indices[0] = 1; // bit width
  let at = writeVarint(indices, 1, rows * 2);
  indices[at++] = 0;
  return {
    codec: "UNCOMPRESSED",
    pages: [
      { kind: "dictionary", values: 1, encoding: ENCODING.PLAIN, body: entry },
      {
        kind: "data",
        values: rows,
        encoding: ENCODING.RLE_DICTIONARY,
        body: indices.subarray(0, at),
      },
    ],
    statistics: { nullCount: 0, min: plain, max: plain },
  };
}

function int64(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeBigInt64LE(BigInt(value));
  return bytes;
}

function uint32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

export function createSessionRecordWriter(
  options: SessionRecordsOptions,
): SessionRowSink & { records(): number; setReplacedRows(count: number): void } {
  return new SessionRecordWriter(options);
}
