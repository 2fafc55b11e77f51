import { isUtf8 } from "node:buffer";
import type { RowVisitor } from "../csv/scanner.js";

/**
 * Makes every row's text valid UTF-8 before a Parquet writer sees it (docs/contract.md,
 * "Companions"): a STRING column holding other bytes is a file DuckDB and Athena refuse to read,
 * while hyparquet silently substitutes (issue 19). Each maximal ill-formed sequence becomes one
 * U+FFFD, as TextDecoder's non-fatal mode does (the WHATWG decoder, the Unicode Standard's
 * recommended practice: https://encoding.spec.whatwg.org/#utf-8-decoder).
 *
 * Wavy's rows are ASCII, so the common path is one byte loop without allocation; only a row
 * with a byte at or above 0x80 is checked with node:buffer's isUtf8 (simdutf), and only an
 * invalid one is copied.
 */
export interface Utf8Rows {
  visit: RowVisitor;
  /** Rows whose source or session_created_at had bytes replaced. */
  replacedRows(): number;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

function valid(bytes: Uint8Array, start: number, end: number): boolean {
  return isAscii(bytes, start, end) || isUtf8(bytes.subarray(start, end));
}

function replaced(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(decoder.decode(bytes.subarray(start, end)), "utf8");
}

/** Wraps `next` so it only ever sees valid UTF-8 in both text fields. */
export function utf8Rows(next: RowVisitor): Utf8Rows {
  let count = 0;
  const visit: RowVisitor = (bytes, sourceStart, sourceEnd, createdStart, createdEnd) => {
    const sourceValid = valid(bytes, sourceStart, sourceEnd);
    const createdValid = valid(bytes, createdStart, createdEnd);
    if (sourceValid && createdValid) {
      next(bytes, sourceStart, sourceEnd, createdStart, createdEnd);
      return;
    }
    count++;
    const source = sourceValid
      ? bytes.subarray(sourceStart, sourceEnd)
      : replaced(bytes, sourceStart, sourceEnd);
    const created = createdValid
      ? bytes.subarray(createdStart, createdEnd)
      : replaced(bytes, createdStart, createdEnd);
    const row = Buffer.concat([source, created]);
    next(row, 0, source.length, source.length, row.length);
  };
  return { visit, replacedRows: () => count };
}
