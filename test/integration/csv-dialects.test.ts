import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, sha256, startHarness } from "../support/export-harness.js";

/** Each dialect Wavy's CSV may come in (docs/contract.md, "The Wavy API"), with its data-row count. */
const DIALECTS: [name: string, customerId: string, csv: string | Buffer, rows: number][] = [
  [
    "semicolons and LF",
    "101",
    "source;session_created_at\n5511;2026-11-28 09:15:42\n5512;2026-11-28 09:16:00\n",
    2,
  ],
  [
    "commas and CRLF",
    "102",
    "source,session_created_at\r\n5511,2026-11-28 09:15:42\r\n5512,2026-11-28 09:16:00\r\n",
    2,
  ],
  [
    "a UTF-8 BOM",
    "103",
    Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from("source;session_created_at\n5511;2026-11-28 09:15:42\n"),
    ]),
    1,
  ],
  ["Portuguese headers", "104", "origem;session_created_at\n5511;2026-11-28 09:15:42\n", 1],
  [
    "quoted fields with delimiters and newlines",
    "105",
    'source;session_created_at\n"55;11";"2026-11-28\n09:15:42"\n"55""12";2026-11-28 09:16:00\n',
    2,
  ],
  [
    "no final newline",
    "106",
    "source;session_created_at\n5511;2026-11-28 09:15:42\n5512;2026-11-28 09:16:00",
    2,
  ],
  ["header only", "107", "source;session_created_at\n", 0],
  ["header only without newline", "108", "source;session_created_at", 0],
];

describe("CSV dialects", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: Object.fromEntries(DIALECTS.map(([, id, csv]) => [id, csv])) },
    });
  });
  afterAll(() => h.close());

  it.each(DIALECTS)(
    "stores a CSV with %s byte for byte and counts its rows",
    async (_name, customerId, csv, rows) => {
      const { status, json } = await h.call("POST", "/exports", { customerId });

      expect(status).toBe(201);
      expect(json.rows).toBe(rows);
      const stored = await h.readObject(String(json.key));
      expect(stored.equals(Buffer.from(csv))).toBe(true);
      expect(json.sha256).toBe(sha256(Buffer.from(csv)));
      expect(json.bytes).toBe(Buffer.byteLength(csv));
    },
  );
});
