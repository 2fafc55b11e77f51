import * as zlib from "node:zlib";
import { compactStruct, type ThriftStruct } from "./thrift-compact.js";

/**
 * A Parquet file written one row group at a time, straight to a sink: the file layout, page
 * headers and footer of the format (https://parquet.apache.org/docs/file-format/, field ids
 * from parquet.thrift, https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift).
 * The caller encodes each column's page bodies (see session-records.ts); this module frames
 * them, compresses them and keeps the metadata the footer needs.
 *
 * Why not a library: issue 19 asked for hyparquet-writer's incremental ParquetWriter unless it
 * cost above 2x this encoder's CPU per million rows. Set up for this data (typed columns,
 * DELTA_BINARY_PACKED timestamps, ZSTD text, one-entry dictionaries for the constant columns:
 * bench/hyparquet-companion.ts), it spent 2,558 ms per million rows against this
 * encoder's 464 ms (5.5x), and peaked at 239 MB against 105 MB, side by side in one run
 * (`BENCH_COMPANION_ROWS=1000000 BENCH_COMPANION_VARIANTS=copy,companion,hyparquet-writer
 * npm run bench:companion`, Node 22, docs/benchmarks.md "Companion function"); with its
 * statistics off for the text columns, still 4.7x. Its general row-to-column machinery (a
 * Uint8Array and a BigInt per value, levels arrays, statistics) is the cost. The companion's six
 * columns need four encodings of the format; DuckDB and hyparquet read its files back in
 * test/unit/lib/sessions/session-records.test.ts and test/unit/lib/companions/.
 */

export type PhysicalType = "INT64" | "BYTE_ARRAY";
export type Repetition = "REQUIRED" | "OPTIONAL";
export type Codec = "UNCOMPRESSED" | "GZIP" | "ZSTD";

/** A flat schema's element, named as in parquet.thrift (the root first, then the leaves). */
export interface SchemaElement {
  name: string;
  num_children?: number;
  type?: PhysicalType;
  repetition_type?: Repetition;
  converted_type?: "UTF8" | "TIMESTAMP_MILLIS";
  logical_type?:
    | { type: "STRING" }
    | { type: "TIMESTAMP"; isAdjustedToUTC: boolean; unit: "MILLIS" };
}

const TYPES = { INT64: 2, BYTE_ARRAY: 6 } as const;
const REPETITIONS = { REQUIRED: 0, OPTIONAL: 1 } as const;
const CONVERTED_TYPES = { UTF8: 0, TIMESTAMP_MILLIS: 9 } as const;
const CODECS = { UNCOMPRESSED: 0, GZIP: 2, ZSTD: 6 } as const;
export const ENCODING = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
const PAGE_TYPES = { DATA_PAGE: 0, DICTIONARY_PAGE: 2 } as const;
/** "PAR1", read as a little-endian uint32: the file's first and last four bytes. */
const MAGIC = Buffer.from("PAR1", "latin1");

/**
 * ZSTD at level 1 where Node has it (node:zlib since 22.15, still marked experimental), else
 * GZIP at level 1, zlib's fastest. Athena engine 3 reads both in Parquet ("Hive compression
 * support in Athena engine version 3", https://docs.aws.amazon.com/athena/latest/ug/compression-support-hive.html),
 * and a reader goes by each column chunk's codec, so files of either kind sit in one table.
 * On 64 K rows of the bench's CSV, a text page took 2.3x less CPU with ZSTD than with GZIP and
 * came out 3-6x smaller (docs/benchmarks.md, step 8).
 */
type ZstdCompress = (input: Buffer, options: { params: Record<number, number> }) => Buffer;
const zstdCompressSync = (zlib as { zstdCompressSync?: ZstdCompress }).zstdCompressSync;
export const FASTEST_CODEC: Codec = zstdCompressSync ? "ZSTD" : "GZIP";

function compress(body: Buffer, codec: Codec): Buffer {
  switch (codec) {
    case "GZIP":
      return zlib.gzipSync(body, { level: 1 });
    case "ZSTD":
      if (!zstdCompressSync) throw new Error("This Node has no ZSTD");
      return zstdCompressSync(body, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } });
    default:
      return body;
  }
}

/** One page of a column chunk, its body encoded but not compressed. */
export interface Page {
  kind: "dictionary" | "data";
  /** Values in the page, nulls included (for a dictionary page: its entries). */
  values: number;
  /** The values' encoding (a dictionary page is always PLAIN). */
  encoding: number;
  body: Buffer;
}

/** One column's part of a row group. */
export interface ColumnChunk {
  codec: Codec;
  pages: Page[];
  /** Min and max as the format stores them (PLAIN bytes of the value); nulls counted. */
  statistics?: { min?: Uint8Array; max?: Uint8Array; nullCount?: number };
}

export class ParquetFileWriter {
  private readonly leaves: SchemaElement[];
  private readonly rowGroups: ThriftStruct[] = [];
  private offset = 0;
  private rows = 0;

  constructor(
    private readonly schema: readonly SchemaElement[],
    private readonly write: (bytes: Buffer) => Promise<void>,
    private readonly createdBy: string,
  ) {
    this.leaves = schema.slice(1);
  }

  /** One row group: a chunk per leaf column, in the schema's order. */
  async writeRowGroup(rows: number, chunks: readonly ColumnChunk[]): Promise<void> {
    if (chunks.length !== this.leaves.length) throw new Error("One chunk per column");
    if (this.offset === 0) await this.out(MAGIC);
    const start = this.offset;
    const columns: ThriftStruct[] = [];
    let uncompressedTotal = 0;
    for (const [i, chunk] of chunks.entries()) {
      const leaf = this.leaves[i] as SchemaElement;
      const chunkStart = this.offset;
      let dictionaryOffset: number | undefined;
      let dataOffset: number | undefined;
      let uncompressed = 0;
      const encodings = new Set<number>();
      for (const page of chunk.pages) {
        if (page.kind === "dictionary") dictionaryOffset ??= this.offset;
        else dataOffset ??= this.offset;
        encodings.add(page.encoding);
        // Definition levels are RLE in a v1 data page (only an OPTIONAL column has any).
        if (page.kind === "data" && leaf.repetition_type === "OPTIONAL")
          encodings.add(ENCODING.RLE);
        const compressed = compress(page.body, chunk.codec);
        const header = compactStruct(pageHeader(page, compressed.length));
        await this.out(header);
        await this.out(compressed);
        uncompressed += header.length + page.body.length;
      }
      uncompressedTotal += uncompressed;
      const metadata: ThriftStruct = {
        1: TYPES[leaf.type as PhysicalType],
        2: [...encodings],
        3: [leaf.name],
        4: CODECS[chunk.codec],
        5: BigInt(rows),
        6: BigInt(uncompressed),
        7: BigInt(this.offset - chunkStart),
        9: BigInt(dataOffset ?? chunkStart),
        11: dictionaryOffset === undefined ? undefined : BigInt(dictionaryOffset),
        12: chunk.statistics && {
          3:
            chunk.statistics.nullCount === undefined
              ? undefined
              : BigInt(chunk.statistics.nullCount),
          5: chunk.statistics.max,
          6: chunk.statistics.min,
        },
      };
      columns.push({ 2: BigInt(chunkStart), 3: metadata });
    }
    this.rowGroups.push({
      1: columns,
      2: BigInt(uncompressedTotal),
      3: BigInt(rows),
      5: BigInt(start),
      6: BigInt(this.offset - start),
    });
    this.rows += rows;
  }

  /** The footer: schema, row groups and statistics' sort orders; then the closing magic. */
  /** Writes the footer; `keyValues` become the file's key_value_metadata (field 5). */
  async finish(keyValues: readonly (readonly [string, string])[] = []): Promise<void> {
    if (this.offset === 0) await this.out(MAGIC);
    const footer = compactStruct({
      1: 2,
      2: this.schema.map(schemaElement),
      3: BigInt(this.rows),
      4: this.rowGroups,
      ...(keyValues.length > 0 && { 5: keyValues.map(([key, value]) => ({ 1: key, 2: value })) }),
      6: this.createdBy,
      // TYPE_ORDER for every leaf: without it readers must ignore min_value and max_value.
      7: this.leaves.map(() => ({ 1: {} })),
    });
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(footer.length);
    await this.out(Buffer.concat([footer, length, MAGIC]));
  }

  private async out(bytes: Buffer): Promise<void> {
    await this.write(bytes);
    this.offset += bytes.length;
  }
}

function pageHeader(page: Page, compressedSize: number): ThriftStruct {
  const common = { 2: page.body.length, 3: compressedSize };
  if (page.kind === "dictionary") {
    return { 1: PAGE_TYPES.DICTIONARY_PAGE, ...common, 7: { 1: page.values, 2: ENCODING.PLAIN } };
  }
  // DataPageHeader (v1): values, their encoding, the levels' encodings.
  const data = { 1: page.values, 2: page.encoding, 3: ENCODING.RLE, 4: ENCODING.RLE };
  return { 1: PAGE_TYPES.DATA_PAGE, ...common, 5: data };
}

function schemaElement(element: SchemaElement): ThriftStruct {
  const logical = element.logical_type;
  return {
    1: element.type && TYPES[element.type],
    3: element.repetition_type && REPETITIONS[element.repetition_type],
    4: element.name,
    5: element.num_children,
    6: element.converted_type && CONVERTED_TYPES[element.converted_type],
    // LogicalType is a union: STRING is field 1, TIMESTAMP field 8 ({isAdjustedToUTC, unit}).
    10:
      logical?.type === "STRING"
        ? { 1: {} }
        : logical?.type === "TIMESTAMP"
          ? { 8: { 1: logical.isAdjustedToUTC, 2: { 1: {} } } }
          : undefined,
  };
}
