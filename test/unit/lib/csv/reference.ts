import { parse } from "csv-parse/sync";

/**
 * The plain csv-parse reading the scanner must agree with, written as simply as possible and
 * independently of lambdas/lib/csv (its dialect rules are restated here, not imported).
 */
export interface Reading {
  rows: number;
  timestamps: string[];
}

const BOM = [0xef, 0xbb, 0xbf];

function firstNonEmptyLine(input: Buffer): Buffer {
  const body = BOM.every((byte, i) => input[i] === byte) ? input.subarray(3) : input;
  let start = 0;
  while (start < body.length) {
    const lf = body.indexOf(0x0a, start);
    if (lf === -1) return body.subarray(start);
    const end = lf > start && body[lf - 1] === 0x0d ? lf - 1 : lf;
    if (end > start) return body.subarray(start, end);
    start = lf + 1;
  }
  return Buffer.alloc(0);
}

/** What the scanner's onRow hands over: each data row's source and session_created_at. */
export interface RowReading {
  rows: number;
  fields: [source: string, createdAt: string][];
}

function records(input: Uint8Array): string[][] {
  const buf = Buffer.from(input);
  const header = firstNonEmptyLine(buf).toString("latin1");
  const semicolons = header.split(";").length - 1;
  const commas = header.split(",").length - 1;
  return parse(buf, {
    bom: true,
    delimiter: commas > semicolons ? "," : ";",
    record_delimiter: ["\r\n", "\n"],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
}

function timestampIndex(names: string[]): number {
  const column = names.findIndex((name) => name.trim().toLowerCase() === "session_created_at");
  return column === -1 && names.length > 1 ? 1 : column;
}

export function referenceRead(input: Uint8Array): Reading {
  const [names, ...rows] = records(input);
  if (names === undefined) return { rows: 0, timestamps: [] };
  const column = timestampIndex(names);
  return {
    rows: rows.length,
    timestamps: rows.map((row) => (column === -1 ? "" : (row[column] ?? ""))),
  };
}

export function referenceRows(input: Uint8Array): RowReading {
  const [names, ...rows] = records(input);
  if (names === undefined) return { rows: 0, fields: [] };
  const column = timestampIndex(names);
  const named = names.findIndex((name) => ["source", "origem"].includes(name.trim().toLowerCase()));
  const source = named === -1 ? 0 : named;
  return {
    rows: rows.length,
    fields: rows.map((row) => [row[source] ?? "", column === -1 ? "" : (row[column] ?? "")]),
  };
}
