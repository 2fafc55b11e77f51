import type { TransformCallback } from "node:stream";
import { type InfoRecord, Parser } from "csv-parse";
import { LIMITS } from "../contract.js";

/**
 * A streaming scanner for Wavy's open-sessions CSV: counts data rows and hands over each row's
 * `session_created_at` field (or its `source` and `session_created_at` together), fed chunk by
 * chunk (chunks may split anywhere).
 *
 * Dialect (the same figures as csv-parse with `bom`, `relax_column_count`, `relax_quotes`,
 * `skip_empty_lines` and `record_delimiter: ["\r\n", "\n"]`, which test/unit/lib/csv proves):
 * - A UTF-8 BOM at the very start is dropped.
 * - Records end at LF or CRLF; a lone CR is data. A missing final newline is fine.
 * - Empty lines (nothing between two line ends) are skipped anywhere, also before the header.
 *   A line holding only delimiters or spaces is a row.
 * - The first non-empty line is the header. The delimiter is whichever of `;` and `,` occurs
 *   more often in its raw bytes, `;` (Wavy's) on a tie.
 * - The timestamp column is the header field named `session_created_at` (trimmed, any case);
 *   without one, the second column, where Wavy documents it. The source column is the one named
 *   `source` or `origem` (Wavy's Portuguese docs), else the first. A row without a field hands
 *   over an empty value for it.
 * - Quoted fields follow RFC 4180 (embedded delimiters, doubled quotes, newlines); a stray quote
 *   inside an unquoted field is data. A quote left open at the end is malformed input.
 * - The header line is read whole (up to the record cap) before the delimiter is picked, so the
 *   pick never depends on how the network chunks it.
 * - No record may pass LIMITS.maxCsvRecordBytes (1 MiB): on the fast path a line, its LF
 *   excluded; in csv-parse a record from the end of the one before, line ends (and any blank
 *   lines) included. Past it the input is malformed, so a line that never ends costs 1 MiB of
 *   memory, not the whole file. Both rules depend on the bytes alone, never on the chunking.
 *
 * Why two paths: csv-parse record by record manages 0.4-0.8 M rows/s on a 5 M-row Wavy file,
 * below the 100 MB/s (~3 M rows/s) the download arrives at. Wavy's rows (`5511987654321;
 * 2026-11-28 09:15:42`) carry no quotes, so the fast path walks the bytes once per row,
 * allocating nothing per row: 7.6 M rows/s (257 MB/s) with the timestamp windows, against
 * 0.8 M rows/s for csv-parse on the same file and machine (`npm run bench:counter`, AMD EPYC,
 * 64 KiB reads). The first quote seen hands the rest of the input, from the
 * start of its line, to csv-parse, whose state at a line boundary after quote-free lines is
 * exactly a fresh parser's (so a file that quotes every field runs at csv-parse's speed).
 */

/** Receives a row's `session_created_at` field as `bytes[start, end)` (valid only during the call). */
export type FieldVisitor = (bytes: Uint8Array, start: number, end: number) => void;

/**
 * Receives a row's `source` as `bytes[sourceStart, sourceEnd)` and its `session_created_at` as
 * `bytes[createdStart, createdEnd)`, both valid only during the call.
 */
export type RowVisitor = (
  bytes: Uint8Array,
  sourceStart: number,
  sourceEnd: number,
  createdStart: number,
  createdEnd: number,
) => void;

export interface CsvScanner {
  write(chunk: Uint8Array): void;
  /** Ends the input and returns the number of data rows (the header excluded). */
  finish(): number;
}

/**
 * The bytes are not CSV (a quote left open...). A CSV-domain error: the export answers it as
 * UPSTREAM_ERROR (copy-to-s3.ts), the counter fails on it like on any unreadable CSV.
 */
export class MalformedCsvError extends Error {
  override readonly name = "MalformedCsvError";
}

const TIMESTAMP_COLUMN = "session_created_at";
/** The destination column's names: Wavy's English one and its Portuguese docs' `origem`. */
const SOURCE_COLUMNS = ["source", "origem"];
/** Wavy's documented position of `session_created_at` when the header does not name it. */
const DEFAULT_TIMESTAMP_INDEX = 1;
const MAX_RECORD_BYTES = LIMITS.maxCsvRecordBytes;
/**
 * csv-parse is fed at most this much per write, so the record cap is checked that often:
 * within one large write it would collect a line of bare delimiters as millions of empty
 * fields, which its max_record_size (field content only) does not count.
 */
const PARSER_WRITE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SEMICOLON = 0x3b;
const COMMA = 0x2c;
const EMPTY = new Uint8Array(0);
// ignoreBOM: a BOM past the first bytes is data, as it is to csv-parse.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The delimiter rule, on the raw bytes of the header line: the delimiter's byte. */
function detectDelimiter(headerLine: Uint8Array): typeof SEMICOLON | typeof COMMA {
  let semicolons = 0;
  let commas = 0;
  for (const byte of headerLine) {
    if (byte === SEMICOLON) semicolons++;
    else if (byte === COMMA) commas++;
  }
  return commas > semicolons ? COMMA : SEMICOLON;
}

/** Where `session_created_at` is among the header's fields (-1: nowhere). */
function timestampColumn(header: readonly string[]): number {
  const named = header.findIndex((name) => name.trim().toLowerCase() === TIMESTAMP_COLUMN);
  if (named !== -1) return named;
  return header.length > DEFAULT_TIMESTAMP_INDEX ? DEFAULT_TIMESTAMP_INDEX : -1;
}

/** Where the destination number is among the header's fields: named, else the first. */
function sourceColumn(header: readonly string[]): number {
  const named = header.findIndex((name) => SOURCE_COLUMNS.includes(name.trim().toLowerCase()));
  return named === -1 ? 0 : named;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** csv-parse, made to report whether its final flush ran within `end()`. */
class FlushAwareParser extends Parser {
  flushed = false;

  override _flush(callback: TransformCallback): void {
    super._flush((error, data) => {
      this.flushed = true;
      callback(error, data);
    });
  }
}

type Stage = "prelude" | "fast" | "fallback" | "done";

class SessionCsvScanner implements CsvScanner {
  private stage: Stage = "prelude";
  private rows = 0;
  private headerSeen = false;
  private bomChecked = false;
  private delimiter = SEMICOLON;
  private column = -1;
  private sourceColumn = 0;
  /**
   * Bytes not yet scanned (the prelude, or the partial last line in the fast path), copied:
   * producers may reuse their buffers. One buffer reused for the whole file: a copy and a
   * concat per 16 KiB chunk were a third of the scan's CPU (bench/optimisations.md, step 11).
   */
  private carry = Buffer.allocUnsafe(1024);
  private pendingBytes = 0;
  private parser: FlushAwareParser | undefined;
  /** Bytes written to csv-parse, and its offset just past the last record it completed. */
  private parserBytes = 0;
  private recordEndsAt = 0;

  constructor(
    private readonly onTimestamp: FieldVisitor | undefined,
    private readonly onRow: RowVisitor | undefined,
  ) {}

  write(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const buf = asBuffer(chunk);
    switch (this.stage) {
      case "prelude":
        if (this.bomChecked && this.pendingBytes > 0 && !buf.includes(LF)) {
          // The header line goes on: keep it without searching again what arrived before.
          this.keepPartialLine(buf);
          return;
        }
        this.keep(buf);
        this.prelude(false);
        return;
      case "fast":
        this.fast(buf);
        return;
      case "fallback":
        this.feedParser(buf);
        return;
      case "done":
        throw new Error("CSV scanner written after finish()");
    }
  }

  finish(): number {
    if (this.stage === "prelude") this.prelude(true);
    // prelude() may have moved on; TypeScript keeps the narrowing from the line above.
    const stage = this.stage as Stage;
    if (stage === "fast") this.finishFast();
    else if (stage === "fallback") this.endParser();
    this.stage = "done";
    return this.rows;
  }

  /** Keeps the start of a line whose end has not arrived; past the cap the input is malformed. */
  private keepPartialLine(buf: Buffer): void {
    this.assertLineFits(this.pendingBytes + buf.length);
    this.keep(buf);
  }

  private assertLineFits(length: number): void {
    if (length > MAX_RECORD_BYTES) throw this.tooLong();
  }

  /** Only for a chunk longer than the cap: a shorter one cannot hold a line past it. */
  private assertLinesFit(buf: Buffer, from: number, to: number): void {
    let start = from;
    while (start < to) {
      const lf = buf.indexOf(LF, start);
      const end = lf === -1 || lf >= to ? to : lf;
      this.assertLineFits(end - start);
      start = end + 1;
    }
  }

  private tooLong(): MalformedCsvError {
    this.stage = "done";
    return new MalformedCsvError(
      `The sessions CSV is malformed: a record is longer than ${MAX_RECORD_BYTES} bytes`,
    );
  }

  private keep(buf: Uint8Array): void {
    const length = this.pendingBytes + buf.length;
    if (length > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(length, this.carry.length * 2));
      this.carry.copy(grown, 0, 0, this.pendingBytes);
      this.carry = grown;
    }
    // set(), not copy(): `buf` may be a view of the carry itself (the prelude keeps its tail).
    this.carry.set(buf, this.pendingBytes);
    this.pendingBytes = length;
  }

  /** What keep() kept, as a view valid until the next keep(). */
  private takePending(): Buffer {
    const all = this.carry.subarray(0, this.pendingBytes);
    this.pendingBytes = 0;
    return all;
  }

  /** Waits for the BOM and the header line, then picks the dialect and the path. */
  private prelude(ending: boolean): void {
    if (!this.bomChecked && !ending && this.pendingBytes < 3) return;
    let data = this.takePending();
    if (!this.bomChecked) {
      this.bomChecked = true;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
    }
    let start = 0;
    for (;;) {
      const lf = data.indexOf(LF, start);
      if (lf === -1) {
        if (start === data.length) return; // only empty lines so far (or nothing at all)
        this.assertLineFits(data.length - start);
        if (ending) this.header(data, start, data.length, data.length);
        else this.keep(data.subarray(start));
        return;
      }
      this.assertLineFits(lf - start);
      const end = lf > start && data[lf - 1] === CR ? lf - 1 : lf;
      if (end > start) {
        this.header(data, start, end, lf + 1);
        return;
      }
      start = lf + 1;
    }
  }

  private header(data: Buffer, start: number, end: number, next: number): void {
    const line = data.subarray(start, end);
    this.delimiter = detectDelimiter(line);
    if (line.includes(QUOTE)) {
      this.startParser(data.subarray(start));
      return;
    }
    const names: string[] = [];
    let fieldStart = start;
    for (let i = start; i <= end; i++) {
      if (i === end || data[i] === this.delimiter) {
        names.push(utf8.decode(data.subarray(fieldStart, i)));
        fieldStart = i + 1;
      }
    }
    this.column = timestampColumn(names);
    this.sourceColumn = sourceColumn(names);
    this.headerSeen = true;
    this.stage = "fast";
    if (next < data.length) this.fast(data.subarray(next));
  }

  private fast(buf: Buffer): void {
    let start = 0;
    if (this.pendingBytes > 0) {
      const lf = buf.indexOf(LF);
      if (lf === -1) {
        this.keepPartialLine(buf);
        if (buf.includes(QUOTE)) this.startParser(this.takePending());
        return;
      }
      this.assertLineFits(this.pendingBytes + lf);
      this.keep(buf.subarray(0, lf + 1));
      const line = this.takePending();
      if (line.includes(QUOTE)) {
        this.startParser(Buffer.concat([line, buf.subarray(lf + 1)]));
        return;
      }
      this.lines(line, 0, line.length);
      start = lf + 1;
    }
    const quote = buf.indexOf(QUOTE, start);
    if (quote === -1) {
      const lastLf = buf.lastIndexOf(LF);
      if (lastLf < start) {
        if (start < buf.length) this.keepPartialLine(buf.subarray(start));
        return;
      }
      if (lastLf + 1 - start > MAX_RECORD_BYTES) this.assertLinesFit(buf, start, lastLf);
      this.lines(buf, start, lastLf + 1);
      if (lastLf + 1 < buf.length) this.keepPartialLine(buf.subarray(lastLf + 1));
      return;
    }
    const lineStart = Math.max(start, buf.lastIndexOf(LF, quote) + 1);
    if (lineStart - start > MAX_RECORD_BYTES) this.assertLinesFit(buf, start, lineStart - 1);
    this.lines(buf, start, lineStart);
    this.startParser(buf.subarray(lineStart));
  }

  /** Complete, quote-free lines in `buf[from, to)`; `to` is just past a line end. */
  private lines(buf: Buffer, from: number, to: number): void {
    if (this.onRow !== undefined) {
      this.rowLines(buf, from, to, this.onRow);
      return;
    }
    const visit = this.onTimestamp;
    if (visit === undefined) {
      let rows = 0;
      let start = from;
      while (start < to) {
        const lf = buf.indexOf(LF, start);
        if (lf > start && (lf > start + 1 || buf[start] !== CR)) rows++;
        start = lf + 1;
      }
      this.rows += rows;
      return;
    }
    // One pass per line finds the timestamp field and the line end together: cheaper than a
    // native indexOf call per row on ~35-byte rows (~8 M rows/s to ~10 M with the tally).
    const delimiter = this.delimiter;
    const column = this.column;
    let start = from;
    while (start < to) {
      let fieldStart = column === 0 ? start : -1;
      let fieldEnd = -1;
      let field = 0;
      let i = start;
      let byte = buf[i];
      while (byte !== LF) {
        if (byte === delimiter) {
          field++;
          if (field === column) fieldStart = i + 1;
          else if (field === column + 1 && fieldEnd === -1) fieldEnd = i;
        }
        byte = buf[++i];
      }
      const end = i > start && buf[i - 1] === CR ? i - 1 : i;
      if (end > start) {
        this.rows++;
        if (fieldStart === -1) visit(EMPTY, 0, 0);
        else visit(buf, fieldStart, fieldEnd === -1 ? end : fieldEnd);
      }
      start = i + 1;
    }
  }

  /** As lines(), handing over two fields; a loop of its own so the counter's stays as fast. */
  private rowLines(buf: Buffer, from: number, to: number, visit: RowVisitor): void {
    const delimiter = this.delimiter;
    const sourceAt = this.sourceColumn;
    const createdAt = this.column;
    let start = from;
    while (start < to) {
      let field = 0;
      let fieldStart = start;
      let sourceStart = 0;
      let sourceEnd = 0;
      let createdStart = 0;
      let createdEnd = 0;
      let i = start;
      let byte = buf[i];
      while (byte !== LF) {
        if (byte === delimiter) {
          if (field === sourceAt) {
            sourceStart = fieldStart;
            sourceEnd = i;
          }
          if (field === createdAt) {
            createdStart = fieldStart;
            createdEnd = i;
          }
          field++;
          fieldStart = i + 1;
        }
        byte = buf[++i];
      }
      const end = i > start && buf[i - 1] === CR ? i - 1 : i;
      if (end > start) {
        if (field === sourceAt) {
          sourceStart = fieldStart;
          sourceEnd = end;
        }
        if (field === createdAt) {
          createdStart = fieldStart;
          createdEnd = end;
        }
        this.rows++;
        visit(buf, sourceStart, sourceEnd, createdStart, createdEnd);
      }
      start = i + 1;
    }
  }

  private finishFast(): void {
    if (this.pendingBytes === 0) return;
    // No line end follows, so a trailing CR is data, as it is to csv-parse.
    const line = this.takePending();
    this.row(line, 0, line.length);
  }

  private row(buf: Buffer, start: number, end: number): void {
    this.rows++;
    if (this.onRow !== undefined) {
      const [sourceStart, sourceEnd] = this.fieldBounds(buf, start, end, this.sourceColumn);
      const [createdStart, createdEnd] = this.fieldBounds(buf, start, end, this.column);
      this.onRow(buf, sourceStart, sourceEnd, createdStart, createdEnd);
      return;
    }
    const visit = this.onTimestamp;
    if (visit === undefined) return;
    const delimiter = this.delimiter;
    let fieldStart = start;
    for (let index = 0; index < this.column; index++) {
      let i = fieldStart;
      while (i < end && buf[i] !== delimiter) i++;
      if (i === end) {
        visit(EMPTY, 0, 0);
        return;
      }
      fieldStart = i + 1;
    }
    if (this.column < 0) {
      visit(EMPTY, 0, 0);
      return;
    }
    let fieldEnd = fieldStart;
    while (fieldEnd < end && buf[fieldEnd] !== delimiter) fieldEnd++;
    visit(buf, fieldStart, fieldEnd);
  }

  /** Field `column` of the line `buf[start, end)`, or an empty range when it has none. */
  private fieldBounds(buf: Buffer, start: number, end: number, column: number): [number, number] {
    if (column < 0) return [0, 0];
    let fieldStart = start;
    for (let index = 0; index < column; index++) {
      const next = buf.indexOf(this.delimiter, fieldStart);
      if (next === -1 || next >= end) return [0, 0];
      fieldStart = next + 1;
    }
    const next = buf.indexOf(this.delimiter, fieldStart);
    return [fieldStart, next === -1 || next > end ? end : next];
  }

  private startParser(rest: Buffer): void {
    this.stage = "fallback";
    const parser = new FlushAwareParser({
      delimiter: String.fromCharCode(this.delimiter),
      record_delimiter: ["\r\n", "\n"],
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      // Field content only; the span check below counts delimiters and line ends too.
      max_record_size: MAX_RECORD_BYTES,
      on_record: (record: string[], context: InfoRecord) => {
        // A throw here fails the parser, which check() turns into MalformedCsvError.
        if (context.bytes - this.recordEndsAt > MAX_RECORD_BYTES) throw this.tooLong();
        this.recordEndsAt = context.bytes;
        this.record(record);
        return null;
      },
    });
    // Failures are read synchronously from `errored`; the listener keeps them from crashing.
    parser.on("error", () => {});
    this.parser = parser;
    this.feedParser(rest);
  }

  private record(record: string[]): void {
    if (!this.headerSeen) {
      this.headerSeen = true;
      this.column = timestampColumn(record);
      this.sourceColumn = sourceColumn(record);
      return;
    }
    this.rows++;
    if (this.onRow !== undefined) {
      const source = record[this.sourceColumn] ?? "";
      const created = (this.column < 0 ? undefined : record[this.column]) ?? "";
      const bytes = Buffer.from(source + created);
      const split = Buffer.byteLength(source);
      this.onRow(bytes, 0, split, split, bytes.length);
      return;
    }
    if (this.onTimestamp === undefined) return;
    const value = this.column < 0 ? undefined : record[this.column];
    const bytes = value ? Buffer.from(value) : EMPTY;
    this.onTimestamp(bytes, 0, bytes.length);
  }

  private feedParser(buf: Buffer): void {
    const parser = this.parser as FlushAwareParser;
    for (let offset = 0; offset < buf.length; offset += PARSER_WRITE_BYTES) {
      // A copy: csv-parse keeps the unparsed end of a write for the next one, and the producer
      // may have filled its buffer again by then. The fallback is csv-parse's pace anyway.
      const piece = Buffer.from(buf.subarray(offset, offset + PARSER_WRITE_BYTES));
      parser.write(piece);
      this.parserBytes += piece.length;
      this.check(parser);
      // A record still open and already past the cap can only grow: no need to wait for its end.
      if (this.parserBytes - this.recordEndsAt > MAX_RECORD_BYTES) throw this.tooLong();
    }
  }

  private endParser(): void {
    const parser = this.parser as FlushAwareParser;
    parser.end();
    this.check(parser);
    if (!parser.flushed) {
      // Node runs a Transform's flush inside end(); if that ever changes, fail loudly.
      throw new Error("csv-parse did not flush synchronously");
    }
  }

  private check(parser: FlushAwareParser): void {
    const error = parser.errored;
    if (error) {
      this.stage = "done";
      if (error instanceof MalformedCsvError) throw error;
      throw new MalformedCsvError(`The sessions CSV is malformed: ${error.message}`, {
        cause: error,
      });
    }
  }
}

/**
 * A scanner that counts data rows and, when given `onTimestamp`, hands over each row's
 * `session_created_at` field; given `onRow`, its `source` and `session_created_at` (onRow wins
 * when both are given). Throws MalformedCsvError from write() or finish().
 */
export function createCsvScanner(
  options: { onTimestamp?: FieldVisitor; onRow?: RowVisitor } = {},
): CsvScanner {
  return new SessionCsvScanner(options.onTimestamp, options.onRow);
}
