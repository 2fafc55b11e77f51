import { createCsvScanner } from "../../../../lambdas/lib/csv/scanner.js";
import type { Reading, RowReading } from "./reference.js";

/** Splits `bytes` at the given cut points (any order, out-of-range ones ignored). */
export function chunked(bytes: Uint8Array, cuts: readonly number[] = []): Uint8Array[] {
  const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < bytes.length))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

// ignoreBOM: a BOM past the first bytes is data, as it is to csv-parse.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Scans `chunks` with the production scanner, collecting what it hands over. */
export function scan(chunks: readonly Uint8Array[]): Reading {
  const timestamps: string[] = [];
  const scanner = createCsvScanner({
    onTimestamp: (bytes, start, end) => timestamps.push(utf8.decode(bytes.subarray(start, end))),
  });
  for (const chunk of chunks) scanner.write(chunk);
  const rows = scanner.finish();
  return { rows, timestamps };
}

/** Scans `chunks` handing over source and session_created_at together (the export's pass). */
export function scanRows(chunks: readonly Uint8Array[]): RowReading {
  const fields: [string, string][] = [];
  const scanner = createCsvScanner({
    onRow: (bytes, sourceStart, sourceEnd, createdStart, createdEnd) =>
      fields.push([
        utf8.decode(bytes.subarray(sourceStart, sourceEnd)),
        utf8.decode(bytes.subarray(createdStart, createdEnd)),
      ]),
  });
  for (const chunk of chunks) scanner.write(chunk);
  const rows = scanner.finish();
  return { rows, fields };
}

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
