import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APPEARED_OR_DISAPPEARED,
  CLOSING_IN_LATEST_SNAPSHOT,
  NAMED_QUERIES,
  namedQueryDescription,
  OPEN_SESSIONS_OVER_TIME,
} from "../../infra/athena-queries.js";
import { S3_PREFIX } from "../../lambdas/lib/contract.js";
import {
  type AthenaEmulation,
  copyBucket,
  openAthenaEmulation,
  synthCatalog,
} from "../support/athena-emulation.js";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Issue 13, end to end: the real handler exports over HTTP into the local S3; DuckDB then reads
 * the files it wrote through views built from the synthesised Glue tables, and the named queries'
 * very SQL answers as expected around the window edges and the time-zone rules.
 */

const HEADER = "source;session_created_at\n";
// Exported at 2026-11-28 12:00:00 UTC, i.e. 09:00 in São Paulo (UTC-3, no DST in 2026).
const FIRST_EXPORT = new Date("2026-11-27T20:00:00.000Z");
const LATEST_EXPORT = new Date("2026-11-28T12:00:00.000Z");

const FIRST_CSV = `${HEADER}5511000000001;2026-11-27 10:00:00\n5511000000002;2026-11-27 10:00:00\n5511000000003;2026-11-27 10:00:00\n`;
/** Rows around a 2 h window after LATEST_EXPORT, closing 24 h after they were created. */
const LATEST_ROWS = [
  // São Paulo 09:00 on the 27th is 12:00 UTC: closes exactly at the export, so not within.
  ["5511000000010", "2026-11-27 09:00:00"],
  // One second later: the first one within the window.
  ["5511000000011", "2026-11-27 09:00:01"],
  // 11:00 São Paulo = 14:00 UTC: closes at export + 2 h exactly, the last one within.
  ["5511000000012", "2026-11-27 11:00:00"],
  // One second past the window.
  ["5511000000013", "2026-11-27 11:00:01"],
  // An offset is taken as given: 13:30 UTC, within (São Paulo's reading would be 16:30, outside).
  ["5511000000014", "2026-11-27T13:30:00Z"],
  // Unreadable: created_at and closes_at are null, and it is in no window.
  ["5511000000015", "not a date"],
  // -02:00 as written: 08:30 UTC the next day, far outside the window.
  ["5511000000016", "2026-11-28 06:30:00-02:00"],
  // Kept from the first export; 13:00 UTC, within.
  ["5511000000002", "2026-11-27 10:00:00"],
] as const;
const LATEST_CSV = HEADER + LATEST_ROWS.map((row) => row.join(";")).join("\n");
/** Another target, same instant: it must never show in target 42's answers. */
const SUB_ACCOUNT_CSV = `${HEADER}5511999999999;2026-11-27 09:30:00\n`;

describe("Athena's queries over what the export writes (DuckDB)", () => {
  let h: Harness;
  let now = FIRST_EXPORT;
  let root: string;
  let athena: AthenaEmulation;
  const exportIds: string[] = [];
  let closingAnswer: Record<string, unknown>;

  beforeAll(async () => {
    h = await startHarness({ deps: { clock: () => new Date(now) } });
    h.wavy.csvByTarget.set("42", FIRST_CSV);
    const first = await h.call("POST", "/exports", { customerId: "42" });
    expect(first.status, JSON.stringify(first.json)).toBe(201);
    exportIds.push(String(first.json.exportId));

    now = LATEST_EXPORT;
    h.wavy.csvByTarget.set("42", LATEST_CSV);
    const latest = await h.call("GET", "/sessions/closing?customerId=42&withinMinutes=120");
    expect(latest.status, JSON.stringify(latest.json)).toBe(200);
    exportIds.push(String(latest.json.exportId));
    closingAnswer = latest.json;
    h.wavy.csvByTarget.set("42/7", SUB_ACCOUNT_CSV);
    const other = await h.call("POST", "/exports", { customerId: "42", subAccountId: "7" });
    expect(other.status).toBe(201);

    // The companions are built in the background from the Export Succeeded events (issue 19).
    await h.companions(3);
    root = await mkdtemp(join(tmpdir(), "athena-emulation-"));
    await copyBucket(h.objectKeys, h.readObject, root, [S3_PREFIX.exports, S3_PREFIX.sessions]);
    athena = await openAthenaEmulation(root, synthCatalog().tables);
  });

  afterAll(async () => {
    athena?.close();
    await h?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("reads the raw CSVs as stored: header skipped, timestamps as Wavy wrote them", async () => {
    const rows = await athena.query(
      `SELECT export_date, source, session_created_at FROM raw_exports
       WHERE customer_id = ? AND sub_account_id = ? ORDER BY export_date, source`,
      ["42", "all"],
    );
    expect(rows).toHaveLength(3 + LATEST_ROWS.length);
    expect(rows[0]).toEqual({
      export_date: "2026-11-27",
      source: "5511000000001",
      session_created_at: "2026-11-27 10:00:00",
    });
    expect(rows.filter((row) => row.export_date === "2026-11-28").map((row) => row.source)).toEqual(
      LATEST_ROWS.map(([source]) => source).sort(),
    );
  });

  it("gives every data row a typed record: UTC times by the counter's rules, null when unreadable", async () => {
    const rows = await athena.query(
      `SELECT source, session_created_at, CAST(created_at AS VARCHAR) AS created_at,
              CAST(closes_at AS VARCHAR) AS closes_at, export_id, CAST(exported_at AS VARCHAR) AS exported_at
       FROM sessions WHERE customer_id = '42' AND sub_account_id = 'all' AND export_id = ?
       ORDER BY source`,
      [exportIds[1] as string],
    );
    const bySource = Object.fromEntries(rows.map((row) => [row.source, row]));
    expect(bySource["5511000000010"]).toEqual({
      source: "5511000000010",
      session_created_at: "2026-11-27 09:00:00",
      created_at: "2026-11-27 12:00:00",
      closes_at: "2026-11-28 12:00:00",
      export_id: exportIds[1],
      exported_at: "2026-11-28 12:00:00",
    });
    expect(bySource["5511000000014"]).toMatchObject({ created_at: "2026-11-27 13:30:00" });
    expect(bySource["5511000000016"]).toMatchObject({ created_at: "2026-11-28 08:30:00" });
    expect(bySource["5511000000015"]).toMatchObject({
      session_created_at: "not a date",
      created_at: null,
      closes_at: null,
    });
  });

  it("runs every saved query with the example values its description gives, pasted in as Athena does", async () => {
    for (const query of NAMED_QUERIES) {
      expect(query.example, query.name).toHaveLength(query.parameters.length);
      expect(namedQueryDescription(query)).toContain(`e.g. ${query.example.join(" ")}`);
      // Athena puts each execution parameter into the SQL as written: a literal, not a binding.
      let index = 0;
      const sql = query.sql.replace(/\?/g, () => query.example[index++] ?? "?");
      const rows = await athena.query(sql);
      if (query === APPEARED_OR_DISAPPEARED) continue; // its example ids are placeholders
      expect(rows.length, query.name).toBeGreaterThan(0);
    }
  });

  it("counts open sessions per export of a target over time, and only within the dates asked", async () => {
    const all = await athena.query(OPEN_SESSIONS_OVER_TIME.sql, [
      "42",
      "all",
      "2026-11-27",
      "2026-11-28",
    ]);
    expect(
      all.map((row) => [row.export_id, Number(row.open_sessions), row.unparseable_timestamps]),
    ).toEqual([
      [exportIds[0], 3, "0"],
      [exportIds[1], LATEST_ROWS.length, "1"],
    ]);
    const oneDay = await athena.query(OPEN_SESSIONS_OVER_TIME.sql, [
      "42",
      "all",
      "2026-11-28",
      "2026-11-28",
    ]);
    expect(oneDay.map((row) => row.export_id)).toEqual([exportIds[1]]);
  });

  it("lists the destinations closing within N hours of the latest export, soonest first", async () => {
    const rows = await athena.query(CLOSING_IN_LATEST_SNAPSHOT.sql, ["42", "all", "42", "all", 2]);
    expect(rows.map((row) => [row.source, row.closes_at])).toEqual([
      ["5511000000011", "2026-11-28 12:00:01"],
      ["5511000000002", "2026-11-28 13:00:00"],
      ["5511000000014", "2026-11-28 13:30:00"],
      ["5511000000012", "2026-11-28 14:00:00"],
    ]);
  });

  it("agrees with GET /sessions/closing over the same window", async () => {
    const closing = closingAnswer.closing as Record<string, unknown>;
    expect(closing).toMatchObject({ withinMinutes: 120, count: 4 });
    // The clock is fixed in the past, so its presigned URL has expired: read the key it signs.
    expect(decodeURIComponent(new URL(String(closing.downloadUrl)).pathname)).toMatch(
      new RegExp(`/${closing.key}$`),
    );
    const csv = (await h.readObject(String(closing.key))).toString("utf8").trim();
    expect(csv.split("\n")).toEqual([
      "source;closes_at",
      "5511000000011;2026-11-28T12:00:01.000Z",
      "5511000000002;2026-11-28T13:00:00.000Z",
      "5511000000014;2026-11-28T13:30:00.000Z",
      "5511000000012;2026-11-28T14:00:00.000Z",
    ]);
  });

  it("names the destinations that appeared or disappeared between two exports", async () => {
    const rows = await athena.query(APPEARED_OR_DISAPPEARED.sql, [
      "42",
      "all",
      exportIds[0] as string,
      "42",
      "all",
      exportIds[1] as string,
    ]);
    expect(rows.map((row) => [row.change, row.source])).toEqual([
      ...LATEST_ROWS.map(([source]) => source)
        .filter((source) => source !== "5511000000002")
        .sort()
        .map((source) => ["appeared", source]),
      ["disappeared", "5511000000001"],
      ["disappeared", "5511000000003"],
    ]);
  });

  it("keeps targets apart by their partitions", async () => {
    const rows = await athena.query(
      "SELECT source FROM sessions WHERE customer_id = ? AND sub_account_id = ?",
      ["42", "7"],
    );
    expect(rows).toEqual([{ source: "5511999999999" }]);
  });
});
