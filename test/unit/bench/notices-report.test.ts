import { describe, expect, it } from "vitest";
import { formatNotices, type NoticesBenchResult, noticesSection } from "../../../bench/notices.js";

const sweep = {
  ms: 2_486,
  readUnits: 163,
  writeUnits: 347,
  queries: 42,
  itemsRead: 4_166,
  sent: 347,
};
const RESULT: NoticesBenchResult = {
  windows: 100_000,
  leadMinutes: 60,
  backlog: { ...sweep, sent: 500, itemsRead: 500, queries: 5, readUnits: 15, writeUnits: 500 },
  drain: { runs: 9, sent: 4_167 },
  steady: sweep,
  scan: { ms: 8_655, readUnits: 2_757, itemsRead: 100_000 },
  reconcile: { ms: 3_200, readUnits: 2_840, writeUnits: 1_000, rows: 101_000, written: 1_000 },
};

/** `npm run bench` reports the sweeper's cost as it reports the windows' (issue 21). */
describe("the notices bench in the report", () => {
  it("formats one run as the table docs/benchmarks.md shows", () => {
    const table = formatNotices(RESULT);

    expect(table).toContain("100,000 open windows of one origin, lead 60 min:");
    expect(table).toContain(
      "| steady: 5 minutes after a complete sweep | 347 | 4,166 | 42 | 163 | 347 | 2,486 |",
    );
    expect(table).toContain("| 100,000 | - | 2,757 | - | 8,655 |");
    expect(table).toContain("drained in 9 runs (4,167 notices)");
    expect(table).toContain(
      "101,000 CSV rows: 2,840 read units, 1,000 write units (1,000 windows added)",
    );
  });

  it("puts the table under its heading, or says it was not measured", () => {
    expect(noticesSection("TABLE")).toMatch(
      /^## What the closing-notice sweeper costs \(`npm run bench:notices`\)[\s\S]*\nTABLE\n/,
    );
    expect(noticesSection(undefined)).toContain("(not measured in this run)");
  });
});
