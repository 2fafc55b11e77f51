import * as zlib from "node:zlib";
import type { CompressionCodec, SchemaElement } from "hyparquet";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { COMPANION, SESSION_LIFETIME_MS } from "../lambdas/lib/contract.js";
import { SESSION_RECORD_SCHEMA } from "../lambdas/lib/sessions/session-records.js";
import type { ObjectSink, SessionRowSink } from "../lambdas/lib/sessions/session-rows.js";

/**
 * Measured beside our encoder by `npm run bench:companion`, never shipped: hyparquet-writer is a
 * devDependency, so this lives in bench/, not in lambdas/.
 *
 * The companion's Parquet file written by hyparquet-writer's incremental ParquetWriter (issue 19:
 * a maintained writer rather than our own encoder), one row group at a time straight to an
 * ObjectSink, set up for this data:
 * - typed columns: `source`, `session_created_at`, `export_id` STRING; the three timestamps INT64
 *   TIMESTAMP_MILLIS, UTC-adjusted (Athena reads millisecond precision:
 *   https://docs.aws.amazon.com/athena/latest/ug/data-types-timestamps.html);
 * - `created_at`/`closes_at` DELTA_BINARY_PACKED (a day of them is ~27 bits a value);
 * - `export_id`/`exported_at` (one value on every row) forced to a one-entry dictionary;
 * - `source` and `session_created_at` PLAIN, ZSTD (GZIP where Node lacks zstd), with no
 *   dictionary trial (every source differs).
 * Values arrive already valid UTF-8 (utf8-rows.ts). Memory: one row group's values.
 */

/** Rows per row group, as the table's contract says (docs/contract.md, "Querying with Athena"). */
export const ROW_GROUP_ROWS = 65_536;

type ZstdCompress = (input: Uint8Array, options: { params: Record<number, number> }) => Buffer;
const zstdCompressSync = (zlib as { zstdCompressSync?: ZstdCompress }).zstdCompressSync;
/** ZSTD level 1 where node:zlib has it (22.15+), else GZIP level 1; Athena reads both. */
const TEXT_CODEC: CompressionCodec = zstdCompressSync ? "ZSTD" : "GZIP";
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => zlib.gzipSync(input, { level: 1 }),
  ...(zstdCompressSync && {
    ZSTD: (input: Uint8Array) =>
      zstdCompressSync(input, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }),
  }),
};

/** The same columns, types and nullability as the shipped encoder's (session-records.ts). */
export const SESSION_PARQUET_SCHEMA = SESSION_RECORD_SCHEMA as SchemaElement[];

/** hyparquet-writer's ByteWriter whose bytes go to the sink after each row group. */
class SinkWriter extends ByteWriter {
  constructor(private readonly sink: ObjectSink) {
    super(1 << 20);
  }

  flush(): Promise<void> {
    // ObjectSink.write copies what it keeps, so the buffer is reused from the start.
    const bytes = Buffer.from(this.buffer, 0, this.index);
    this.index = 0;
    return this.sink.write(bytes);
  }
}

export interface SessionParquetOptions {
  exportId: string;
  exportedAt: Date;
  sink: ObjectSink;
  rowGroupRows?: number;
}

class SessionParquetWriter implements SessionRowSink {
  private readonly writer: SinkWriter;
  private readonly file: ParquetWriter;
  private readonly rowGroupRows: number;
  private readonly exportId: Uint8Array;
  private readonly exportedAt: number;
  private source: Uint8Array[] = [];
  private createdText: Uint8Array[] = [];
  private createdMs: (number | null)[] = [];
  private total = 0;
  private replacedRows = 0;

  constructor(private readonly options: SessionParquetOptions) {
    this.rowGroupRows = options.rowGroupRows ?? ROW_GROUP_ROWS;
    this.exportId = Buffer.from(options.exportId, "utf8");
    this.exportedAt = options.exportedAt.getTime();
    this.writer = new SinkWriter(options.sink);
    this.file = new ParquetWriter({
      writer: this.writer,
      schema: SESSION_PARQUET_SCHEMA,
      codec: TEXT_CODEC,
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
    // slice(), not subarray(): the scanner reuses its chunk once the call returns.
    this.source.push(bytes.slice(sourceStart, sourceEnd));
    this.createdText.push(bytes.slice(createdStart, createdEnd));
    this.createdMs.push(Number.isNaN(createdAtMs) ? null : createdAtMs);
  }

  async drain(): Promise<void> {
    if (this.createdMs.length >= this.rowGroupRows) await this.writeRowGroup();
  }

  /** How many rows had bytes replaced, for the file's key-value metadata. */
  setReplacedRows(count: number): void {
    this.replacedRows = count;
  }

  async finish(): Promise<void> {
    if (this.createdMs.length > 0) await this.writeRowGroup();
    this.file.kvMetadata = [
      { key: COMPANION.replacedRowsMetadataKey, value: String(this.replacedRows) },
    ];
    await this.file.finish();
    await this.writer.flush();
    await this.options.sink.finish();
  }

  discard(): Promise<void> {
    return this.options.sink.discard();
  }

  records(): number {
    return this.total + this.createdMs.length;
  }

  private async writeRowGroup(): Promise<void> {
    const rows = this.createdMs.length;
    const closes = this.createdMs.map((ms) => (ms === null ? null : ms + SESSION_LIFETIME_MS));
    await this.file.write({
      rowGroupSize: rows,
      columnData: [
        { name: "source", data: this.source, encoding: "PLAIN" },
        { name: "session_created_at", data: this.createdText, encoding: "PLAIN" },
        {
          name: "created_at",
          data: this.createdMs,
          encoding: "DELTA_BINARY_PACKED",
          codec: "UNCOMPRESSED",
        },
        { name: "closes_at", data: closes, encoding: "DELTA_BINARY_PACKED", codec: "UNCOMPRESSED" },
        {
          name: "export_id",
          data: new Array(rows).fill(this.exportId),
          encoding: "RLE_DICTIONARY",
          codec: "UNCOMPRESSED",
        },
        {
          name: "exported_at",
          data: new Array(rows).fill(this.exportedAt),
          encoding: "RLE_DICTIONARY",
          codec: "UNCOMPRESSED",
        },
      ],
    });
    this.total += rows;
    this.source = [];
    this.createdText = [];
    this.createdMs = [];
  }
}

export type SessionParquet = SessionRowSink & {
  records(): number;
  setReplacedRows(count: number): void;
};

export function createSessionParquetWriter(options: SessionParquetOptions): SessionParquet {
  return new SessionParquetWriter(options);
}
