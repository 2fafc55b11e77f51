import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { gunzipSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { handleCompanionEvent } from "../../../../lambdas/build-companion/handler.js";
import {
  buildCompanion,
  CompanionInputError,
} from "../../../../lambdas/lib/companions/build-companion.js";
import { COMPANION } from "../../../../lambdas/lib/contract.js";
import type { SucceededManifest } from "../../../../lambdas/lib/exports/export-document.js";
import { MemoryCompanionStore } from "../../../support/memory-companion-store.js";

/**
 * The companion's domain against the in-memory store: what it builds is read back by DuckDB
 * (the engine the Athena tests use) and hyparquet, neither of them ours.
 */
const EXPORT_ID = "20261128T120000Z-0123456789abcdef";
const CREATED_AT = "2026-11-28T12:00:00.000Z";
const CSV_KEY = `exports/customerId=42/subAccountId=all/date=2026-11-28/${EXPORT_ID}.csv`;
const COMPANION_KEY = `sessions/customerId=42/subAccountId=all/date=2026-11-28/${EXPORT_ID}.parquet`;
const TZ = "America/Sao_Paulo";

let store: MemoryCompanionStore;

function storeExport(csv: Buffer, rows: number, changes: Partial<SucceededManifest> = {}) {
  store.objects.set(CSV_KEY, csv);
  const manifest: SucceededManifest = {
    exportId: EXPORT_ID,
    trigger: "request",
    customerId: "42",
    subAccountId: null,
    bucket: "b",
    key: CSV_KEY,
    createdAt: CREATED_AT,
    status: "succeeded",
    rows,
    bytes: csv.length,
    sha256: createHash("sha256").update(csv).digest("hex"),
    completedAt: CREATED_AT,
    ...changes,
  };
  store.manifests.set(EXPORT_ID, manifest);
  return manifest;
}

const dir = mkdtempSync(join(tmpdir(), "companion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function duckDb(file: Buffer, sql: (path: string) => string) {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(path, file);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql(`'${path}'`))).getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

type Zstd = (input: Uint8Array) => Buffer;
const zstd = (zlib as { zstdDecompressSync?: Zstd }).zstdDecompressSync;

async function hyparquet(file: Buffer) {
  return (await parquetReadObjects({
    file: file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer,
    compressors: {
      GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
      ...(zstd && { ZSTD: (input: Uint8Array) => new Uint8Array(zstd(input)) }),
    },
  })) as Record<string, unknown>[];
}

beforeEach(() => {
  store = new MemoryCompanionStore();
});

describe("buildCompanion", () => {
  it("writes one record per CSV row under sessions/, readable by DuckDB and hyparquet", async () => {
    const csv = Buffer.from(
      "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n5511900000001;not a time\n",
    );
    storeExport(csv, 2);
    const outcome = await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    expect(outcome).toEqual({ kind: "built", key: COMPANION_KEY, rows: 2, replacedUtf8Rows: 0 });
    const file = store.objects.get(COMPANION_KEY) as Buffer;
    const rows = await duckDb(
      file,
      (path) => `SELECT source, session_created_at, CAST(created_at AS VARCHAR) AS created_at,
        CAST(closes_at AS VARCHAR) AS closes_at, export_id, CAST(exported_at AS VARCHAR) AS exported_at
        FROM read_parquet(${path}) ORDER BY source DESC`,
    );
    expect(rows).toEqual([
      {
        source: "5511987654321",
        session_created_at: "2026-11-28 09:15:42",
        created_at: "2026-11-28 12:15:42+00",
        closes_at: "2026-11-29 12:15:42+00",
        export_id: EXPORT_ID,
        exported_at: "2026-11-28 12:00:00+00",
      },
      {
        source: "5511900000001",
        session_created_at: "not a time",
        created_at: null,
        closes_at: null,
        export_id: EXPORT_ID,
        exported_at: "2026-11-28 12:00:00+00",
      },
    ]);
    const metadata = parquetMetadata(
      file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer,
    );
    const created = metadata.row_groups[0]?.columns[2]?.meta_data;
    expect(created?.encodings).toContain("DELTA_BINARY_PACKED");
  });

  it("replaces invalid UTF-8 in source with U+FFFD, so DuckDB and hyparquet read the file", async () => {
    // 0xff can never start a UTF-8 sequence; 0xc3 alone is a truncated two-byte one.
    const csv = Buffer.concat([
      Buffer.from("source;session_created_at\n55119"),
      Buffer.from([0xff]),
      Buffer.from("01;2026-11-28 09:15:42\nnúmero"),
      Buffer.from([0xc3]),
      Buffer.from(";2026-11-28 10:00:00\n5511900000003;2026-11-28 11:00:00\n"),
    ]);
    storeExport(csv, 3);
    const outcome = await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    expect(outcome).toMatchObject({ kind: "built", rows: 3, replacedUtf8Rows: 2 });
    const file = store.objects.get(COMPANION_KEY) as Buffer;
    const expected = ["55119\uFFFD01", "número\uFFFD", "5511900000003"];
    const viaDuckDb = await duckDb(file, (path) => `SELECT source FROM read_parquet(${path})`);
    expect(viaDuckDb.map((row) => row.source)).toEqual(expected);
    expect((await hyparquet(file)).map((row) => row.source)).toEqual(expected);
    const metadata = await duckDb(
      file,
      (path) =>
        `SELECT decode(value) AS value FROM parquet_kv_metadata(${path}) WHERE decode(key) = '${COMPANION.replacedRowsMetadataKey}'`,
    );
    expect(metadata).toEqual([{ value: "2" }]);
  });

  it("does nothing for an export whose companion exists: a second run is a no-op", async () => {
    storeExport(Buffer.from("source;session_created_at\n1;2026-11-28 09:15:42\n"), 1);
    await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    const first = store.objects.get(COMPANION_KEY);
    const again = await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    expect(again).toEqual({ kind: "exists", key: COMPANION_KEY });
    expect(store.writes).toEqual([COMPANION_KEY]);
    expect(store.objects.get(COMPANION_KEY)).toBe(first);
  });

  it("writes the same bytes when run again after the companion was removed", async () => {
    storeExport(Buffer.from("source;session_created_at\n1;2026-11-28 09:15:42\n2;x\n"), 2);
    await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    const first = store.objects.get(COMPANION_KEY) as Buffer;
    store.objects.delete(COMPANION_KEY);
    await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ });
    expect((store.objects.get(COMPANION_KEY) as Buffer).equals(first)).toBe(true);
  });

  it("builds nothing for a failed, missing or different export", async () => {
    const csv = Buffer.from("source;session_created_at\n1;2026-11-28 09:15:42\n");
    const manifest = storeExport(csv, 1);
    expect(await buildCompanion({ exportId: "nope" }, { store, timeZone: TZ })).toMatchObject({
      kind: "skipped",
    });
    expect(
      await buildCompanion(
        { exportId: EXPORT_ID, sha256: "0".repeat(64) },
        { store, timeZone: TZ },
      ),
    ).toMatchObject({ kind: "skipped" });
    store.manifests.set(EXPORT_ID, {
      ...manifest,
      status: "failed",
      error: { code: "INTERNAL", message: "Internal error" },
      completedAt: CREATED_AT,
    });
    expect(await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ })).toEqual({
      kind: "skipped",
      reason: "it is failed",
    });
    expect([...store.objects.keys()]).toEqual([CSV_KEY]);
  });

  it("takes its companion back when the export stopped being succeeded meanwhile", async () => {
    const manifest = storeExport(Buffer.from("source;session_created_at\n1;x\n"), 1);
    const realRead = store.readManifest.bind(store);
    let reads = 0;
    store.readManifest = async (id) => {
      reads++;
      return reads === 1
        ? realRead(id)
        : {
            ...manifest,
            status: "failed",
            error: { code: "UPSTREAM_TIMEOUT", message: "m" },
            completedAt: CREATED_AT,
          };
    };
    expect(await buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ })).toMatchObject({
      kind: "skipped",
    });
    expect(store.objects.has(COMPANION_KEY)).toBe(false);
  });

  it("refuses a stored CSV that is not what its manifest says, leaving no companion", async () => {
    storeExport(Buffer.from("source;session_created_at\n1;x\n"), 5);
    await expect(
      buildCompanion({ exportId: EXPORT_ID }, { store, timeZone: TZ }),
    ).rejects.toBeInstanceOf(CompanionInputError);
    expect(store.objects.has(COMPANION_KEY)).toBe(false);
  });
});

describe("the companion function's handler", () => {
  const event = (changes: Record<string, unknown> = {}) => ({
    version: "0",
    source: "wavy-sessions",
    "detail-type": "Export Succeeded",
    detail: { exportId: EXPORT_ID, status: "succeeded", key: CSV_KEY, sha256: "x" },
    ...changes,
  });

  it("builds the companion of the export the event announces", async () => {
    const csv = Buffer.from("source;session_created_at\n1;2026-11-28 09:15:42\n");
    const manifest = storeExport(csv, 1);
    const handler = handleCompanionEvent(() => ({ store, timeZone: TZ }));
    const detail = {
      exportId: EXPORT_ID,
      status: "succeeded",
      key: CSV_KEY,
      sha256: manifest.sha256,
    };
    expect(await handler(event({ detail }))).toMatchObject({ kind: "built", key: COMPANION_KEY });
  });

  it("refuses any other event and writes nothing", async () => {
    storeExport(Buffer.from("source;session_created_at\n1;x\n"), 1);
    const handler = handleCompanionEvent(() => ({ store, timeZone: TZ }));
    await expect(handler(event({ "detail-type": "Export Failed" }))).rejects.toThrow(
      /Export Succeeded/,
    );
    await expect(handler(event({ source: "other" }))).rejects.toThrow();
    await expect(handler({ detail: { exportId: "../x" } })).rejects.toThrow();
    expect(store.objects.has(COMPANION_KEY)).toBe(false);
  });
});
