import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_LIFETIME_MS } from "../../../../lambdas/lib/contract.js";
import { type Codec, FASTEST_CODEC } from "../../../../lambdas/lib/parquet/parquet-file.js";
import { createSessionRecordWriter } from "../../../../lambdas/lib/sessions/session-records.js";

/**
 * The companion's Parquet, read back by two readers we did not write: DuckDB (the engine the
 * Athena tests use) and hyparquet (a pure-JavaScript reader). Either disagreeing with what the
 * writer was given fails.
 */
const EXPORT_ID = "01JDKQ3X6ZB8M4TQ7R2W9YV5NC";
const EXPORTED_AT = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));

interface Row {
  source: string;
  sessionCreatedAt: string;
  /** What the counter's parser read: epoch ms, NaN when unreadable. */
  createdAtMs: number;
}

/** The text columns' codec under test (the describe blocks below run each). */
let textCodec: Codec = FASTEST_CODEC;

async function write(rows: readonly Row[], rowGroupRows?: number): Promise<Buffer> {
  const written: Buffer[] = [];
  let finished = false;
  const writer = createSessionRecordWriter({
    exportId: EXPORT_ID,
    exportedAt: EXPORTED_AT,
    rowGroupRows,
    textCodec,
    sink: {
      write: async (bytes) => {
        written.push(Buffer.from(bytes)); // the sink's contract: bytes may be reused afterwards
      },
      finish: async () => {
        finished = true;
      },
      discard: async () => {},
    },
  });
  // As the scan hands them over: fields of a CSV line, in a buffer shared by several rows.
  for (let i = 0; i < rows.length; i += 3) {
    const batch = rows.slice(i, i + 3);
    const line = Buffer.from(batch.map((r) => `${r.source};${r.sessionCreatedAt}\n`).join(""));
    let at = 0;
    for (const row of batch) {
      const sourceEnd = at + Buffer.byteLength(row.source);
      const createdEnd = sourceEnd + 1 + Buffer.byteLength(row.sessionCreatedAt);
      writer.add(line, at, sourceEnd, sourceEnd + 1, createdEnd, row.createdAtMs);
      at = createdEnd + 1;
    }
    await writer.drain();
  }
  await writer.finish();
  expect(finished).toBe(true);
  expect(writer.records()).toBe(rows.length);
  return Buffer.concat(written);
}

const expected = (rows: readonly Row[]) =>
  rows.map((row) => ({
    source: row.source,
    session_created_at: row.sessionCreatedAt,
    created_at: Number.isNaN(row.createdAtMs) ? null : row.createdAtMs,
    closes_at: Number.isNaN(row.createdAtMs) ? null : row.createdAtMs + SESSION_LIFETIME_MS,
    export_id: EXPORT_ID,
    exported_at: EXPORTED_AT.getTime(),
  }));

const arrayBuffer = (file: Buffer) =>
  file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer;

async function readWithHyparquet(file: Buffer) {
  const records = (await parquetReadObjects({
    file: arrayBuffer(file),
    compressors: {
      GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
      ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)),
    },
  })) as Record<string, unknown>[];
  return records.map((record) => ({
    ...record,
    created_at: record.created_at === null ? null : (record.created_at as Date).getTime(),
    closes_at: record.closes_at === null ? null : (record.closes_at as Date).getTime(),
    exported_at: (record.exported_at as Date).getTime(),
  }));
}

const dir = mkdtempSync(join(tmpdir(), "session-records-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function withDuckDb<T>(file: Buffer, query: (path: string) => string): Promise<T[]> {
  const path = join(dir, `${files++}.parquet`);
  writeFileSync(path, file);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(query(`'${path}'`));
    return reader.getRowObjectsJS() as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function readWithDuckDb(file: Buffer) {
  const rows = await withDuckDb<Record<string, unknown>>(
    file,
    (path) => `SELECT source, session_created_at,
        epoch_ms(created_at) AS created_at, epoch_ms(closes_at) AS closes_at,
        export_id, epoch_ms(exported_at) AS exported_at
      FROM read_parquet(${path})`,
  );
  return rows.map((row) => ({
    ...row,
    created_at: row.created_at === null ? null : Number(row.created_at),
    closes_at: row.closes_at === null ? null : Number(row.closes_at),
    exported_at: Number(row.exported_at),
  }));
}

const ROWS: Row[] = [
  {
    source: "5511987654321",
    sessionCreatedAt: "2026-11-28 09:15:42",
    createdAtMs: 1_795_868_142_000,
  },
  { source: "5511900000001", sessionCreatedAt: "not a time", createdAtMs: Number.NaN },
  { source: "número ção", sessionCreatedAt: "2026-11-28 10:00:00", createdAtMs: 1_795_870_800_000 },
  { source: "", sessionCreatedAt: "", createdAtMs: Number.NaN },
  { source: "1", sessionCreatedAt: "1969-12-31 23:59:59Z", createdAtMs: -1000 },
  {
    source: "x".repeat(300),
    sessionCreatedAt: "2026-11-28 11:00:00",
    createdAtMs: 1_795_874_400_000,
  },
  {
    source: "5521999998888",
    sessionCreatedAt: "2026-11-27 23:59:59",
    createdAtMs: 1_795_834_799_000,
  },
];

it("compresses text with ZSTD on this Node (22.15 or later), the fastest codec it has", () => {
  expect(FASTEST_CODEC).toBe("ZSTD");
});

describe.each(["ZSTD", "GZIP"] as const)("the companion's Parquet, text in %s", (codec) => {
  beforeAll(() => {
    textCodec = codec;
  });

  it("reads back row for row in DuckDB and hyparquet, nulls, UTF-8 and negative times included", async () => {
    // 2 rows per group: groups cut mid-batch, several of them, the last one short.
    const file = await write(ROWS, 2);
    expect(await readWithDuckDb(file)).toEqual(expected(ROWS));
    expect(await readWithHyparquet(file)).toEqual(expected(ROWS));
  });

  it("declares the types Athena reads: UTF-8 strings and UTC-adjusted millisecond timestamps", async () => {
    const file = await write(ROWS);
    const columns = await withDuckDb<{ column_name: string; column_type: string }>(
      file,
      (path) => `DESCRIBE SELECT * FROM read_parquet(${path})`,
    );
    expect(columns.map((c) => [c.column_name, c.column_type])).toEqual([
      ["source", "VARCHAR"],
      ["session_created_at", "VARCHAR"],
      ["created_at", "TIMESTAMP WITH TIME ZONE"],
      ["closes_at", "TIMESTAMP WITH TIME ZONE"],
      ["export_id", "VARCHAR"],
      ["exported_at", "TIMESTAMP WITH TIME ZONE"],
    ]);
    const codecs = await withDuckDb<{ column: string; compression: string }>(
      file,
      (path) => `SELECT path_in_schema AS column, compression FROM parquet_metadata(${path})`,
    );
    expect(codecs.map((c) => c.compression)).toEqual([
      codec,
      codec,
      "UNCOMPRESSED",
      "UNCOMPRESSED",
      "UNCOMPRESSED",
      "UNCOMPRESSED",
    ]);
  });

  it("keeps min, max and nulls per row group, so a query on a time range skips the others", async () => {
    // Groups are cut between the scan's chunks (here every 3 rows), never inside one.
    const file = await write(ROWS, 3);
    const metadata = parquetMetadata(arrayBuffer(file));
    expect(metadata.row_groups.map((group) => Number(group.num_rows))).toEqual([3, 3, 1]);
    const stats = (group: number, column: number) =>
      metadata.row_groups[group]?.columns[column]?.meta_data?.statistics;
    // Group 0 holds rows 0-2: two readable times, one null.
    expect(stats(0, 2)).toMatchObject({
      null_count: 1n,
      min_value: new Date(ROWS[0]?.createdAtMs as number),
      max_value: new Date(ROWS[2]?.createdAtMs as number),
    });
    // Group 1 holds rows 3-5; closes_at is created_at + 24 h.
    expect(stats(1, 3)).toMatchObject({
      null_count: 1n,
      min_value: new Date(-1000 + SESSION_LIFETIME_MS),
      max_value: new Date((ROWS[5]?.createdAtMs as number) + SESSION_LIFETIME_MS),
    });
    expect(stats(1, 4)).toMatchObject({ min_value: EXPORT_ID, max_value: EXPORT_ID });
    // DuckDB reads the same statistics (as it would to skip a group).
    const duck = await withDuckDb<{ min: string; max: string; nulls: bigint }>(
      file,
      (path) => `SELECT stats_min_value AS min, stats_max_value AS max, stats_null_count AS nulls
        FROM parquet_metadata(${path}) WHERE path_in_schema = 'created_at' ORDER BY row_group_id`,
    );
    expect(duck[0]).toEqual({
      min: "2026-11-28 12:15:42+00",
      max: "2026-11-28 13:00:00+00",
      nulls: 1n,
    });
  });

  it("cuts a row group by bytes too, so long fields keep memory bounded", async () => {
    // 3 rows per drain of ~3 MiB each: 8 MiB of text is passed every third drain.
    const long: Row[] = Array.from({ length: 12 }, (_, i) => ({
      source: String(i).repeat(1024 * 1024),
      sessionCreatedAt: "2026-11-28 09:15:42",
      createdAtMs: 1_795_868_142_000 + i,
    }));
    const file = await write(long);
    const groups = parquetMetadata(arrayBuffer(file)).row_groups.map((g) => Number(g.num_rows));
    expect(groups).toEqual([9, 3]);
    expect(await readWithHyparquet(file)).toEqual(expected(long));
  });

  it("writes a readable file with no row group for a CSV without data rows", async () => {
    const file = await write([]);
    expect(parquetMetadata(arrayBuffer(file)).num_rows).toBe(0n);
    expect(await readWithDuckDb(file)).toEqual([]);
  });

  it("round-trips any rows, in any group size (property)", async () => {
    const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !/[;\n]/.test(s));
    const row = fc.record({
      source: text,
      sessionCreatedAt: text,
      createdAtMs: fc.oneof(
        fc.constant(Number.NaN),
        fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_000 }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 60 }),
        fc.integer({ min: 1, max: 16 }),
        async (rows, size) => {
          const file = await write(rows, size);
          expect(await readWithHyparquet(file)).toEqual(expected(rows));
        },
      ),
      { numRuns: 60 },
    );
    // And one large case through DuckDB: groups of the default size, long runs of levels.
    const many = Array.from(
      { length: 70_000 },
      (_, i): Row => ({
        source: `55119${String(i).padStart(8, "0")}`,
        sessionCreatedAt: i % 1000 === 0 ? "?" : "2026-11-28 09:15:42",
        createdAtMs: i % 1000 === 0 ? Number.NaN : 1_795_868_142_000 + i,
      }),
    );
    expect(await readWithDuckDb(await write(many))).toEqual(expected(many));
  });
});
