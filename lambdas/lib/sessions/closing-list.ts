import { randomBytes } from "node:crypto";
import { type FileHandle, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SESSION_LIFETIME_MS } from "../contract.js";
import type { ObjectSink, SessionRowSink } from "./session-rows.js";

/**
 * The closing-soon list of GET /sessions/closing: the destinations whose window closes within
 * (from, from + withinMinutes], as a CSV `source;closes_at` (UTC, ISO-8601), soonest first.
 *
 * Memory is bounded however many there are: a window of up to 1440 minutes over 24 h sessions
 * can hold every row of the export, so the candidates are sorted externally. They are gathered
 * into runs of `runRows`; a full run is sorted and appended to one spill file in the function's
 * /tmp; at the end the runs are merged (a k-way merge over a binary heap, each run read through
 * its own small window of the file) straight into the CSV's S3 upload. Memory holds one run
 * (~50 bytes a row) plus at most MERGE_BUFFER_BYTES of read windows; /tmp holds ~26 bytes per
 * candidate (Lambda gives 512 MB by default: some 20 million). A list that fits in one run never
 * touches the disk. Hand-written because the sort key is a number and the records binary: a
 * line-sorting package would need both turned into text and back.
 */

export const DEFAULT_RUN_ROWS = 65_536;
/** What the merge's read windows may hold together; each run gets a slice of it. */
const MERGE_BUFFER_BYTES = 8 * 1024 * 1024;
const MIN_WINDOW_BYTES = 4 * 1024;
const MAX_WINDOW_BYTES = 64 * 1024;
/** Output is handed to S3 in batches of about this size. */
const OUTPUT_BATCH_BYTES = 64 * 1024;
const MS_PER_MINUTE = 60_000;
/** A spilled record's closes_at (f64) and source length (u32), before the source's bytes. */
const RECORD_HEAD = 12;

export const CLOSING_CSV_HEADER = "source;closes_at\n";

export interface ClosingListOptions {
  /** The export's creation time: the window opens just after it. */
  fromMs: number;
  withinMinutes: number;
  sink: ObjectSink;
  runRows?: number;
  /** Where the spill file goes; the OS temp dir (Lambda's /tmp) unless given. */
  spillDir?: string;
}

export interface ClosingList extends SessionRowSink {
  /** Destinations in the window (known once every row was added). */
  count(): number;
}

interface Run {
  offset: number;
  length: number;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

class ExternalClosingList implements ClosingList {
  private readonly from: number;
  private readonly to: number;
  private readonly runRows: number;
  private readonly sink: ObjectSink;
  private readonly spillDir: string;
  private closesAt: number[] = [];
  private sources: string[] = [];
  private total = 0;
  private spill: { path: string; handle: FileHandle; size: number } | undefined;
  private readonly runs: Run[] = [];

  constructor(options: ClosingListOptions) {
    this.from = options.fromMs;
    this.to = options.fromMs + options.withinMinutes * MS_PER_MINUTE;
    this.runRows = options.runRows ?? DEFAULT_RUN_ROWS;
    this.sink = options.sink;
    this.spillDir = options.spillDir ?? tmpdir();
  }

  add(
    bytes: Uint8Array,
    sourceStart: number,
    sourceEnd: number,
    _createdStart: number,
    _createdEnd: number,
    createdAtMs: number,
  ): void {
    // NaN (unreadable) fails both comparisons: such a row is in no window, as for the counter.
    const closes = createdAtMs + SESSION_LIFETIME_MS;
    if (!(closes > this.from && closes <= this.to)) return;
    this.closesAt.push(closes);
    this.sources.push(utf8.decode(bytes.subarray(sourceStart, sourceEnd)));
    this.total++;
  }

  async drain(): Promise<void> {
    if (this.closesAt.length >= this.runRows) await this.spillRun();
  }

  count(): number {
    return this.total;
  }

  async finish(): Promise<void> {
    try {
      if (this.runs.length === 0) {
        await this.writeSorted();
      } else {
        if (this.closesAt.length > 0) await this.spillRun();
        await this.merge();
      }
      await this.sink.finish();
    } finally {
      await this.removeSpill();
    }
  }

  async discard(): Promise<void> {
    await this.removeSpill();
    await this.sink.discard();
  }

  /** The gathered run in closing order (ties by source, so the list is deterministic). */
  private sortedRun(): number[] {
    const { closesAt, sources } = this;
    const order = Array.from(closesAt.keys());
    order.sort((a, b) => {
      const byTime = (closesAt[a] as number) - (closesAt[b] as number);
      if (byTime !== 0) return byTime;
      const sa = sources[a] as string;
      const sb = sources[b] as string;
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    });
    return order;
  }

  /** Everything fitted in one run: sort it and write the CSV directly. */
  private async writeSorted(): Promise<void> {
    const out = new CsvOut(this.sink);
    for (const i of this.sortedRun()) {
      await out.line(this.sources[i] as string, this.closesAt[i] as number);
    }
    await out.end();
  }

  /** A run on disk: per record, closes_at (f64), the source's byte length (u32), its bytes. */
  private async spillRun(): Promise<void> {
    const order = this.sortedRun();
    const encoded = order.map((i) => Buffer.from(this.sources[i] as string));
    let length = 0;
    for (const source of encoded) length += RECORD_HEAD + source.length;
    const run = Buffer.allocUnsafe(length);
    let at = 0;
    for (const [n, i] of order.entries()) {
      const source = encoded[n] as Buffer;
      run.writeDoubleLE(this.closesAt[i] as number, at);
      run.writeUInt32LE(source.length, at + 8);
      source.copy(run, at + RECORD_HEAD);
      at += RECORD_HEAD + source.length;
    }
    this.spill ??= await this.openSpill();
    await this.spill.handle.write(run, 0, length, this.spill.size);
    this.runs.push({ offset: this.spill.size, length });
    this.spill.size += length;
    this.closesAt = [];
    this.sources = [];
  }

  private async openSpill(): Promise<{ path: string; handle: FileHandle; size: number }> {
    const path = join(this.spillDir, `closing-${randomBytes(8).toString("hex")}.spill`);
    return { path, handle: await open(path, "wx+"), size: 0 };
  }

  private async removeSpill(): Promise<void> {
    const spill = this.spill;
    if (!spill) return;
    this.spill = undefined;
    await spill.handle.close().catch(() => {});
    await rm(spill.path, { force: true });
  }

  private async merge(): Promise<void> {
    const spill = this.spill as { handle: FileHandle };
    const window = Math.min(
      MAX_WINDOW_BYTES,
      Math.max(MIN_WINDOW_BYTES, Math.floor(MERGE_BUFFER_BYTES / this.runs.length)),
    );
    const readers = this.runs.map((run) => new RunReader(spill.handle, run, window));
    const heap = new MinHeap();
    for (const reader of readers) if (await reader.next()) heap.push(reader);
    const out = new CsvOut(this.sink);
    for (;;) {
      const reader = heap.peek();
      if (!reader) break;
      await out.line(reader.source, reader.closesAt);
      if (await reader.next()) heap.replaceTop(reader);
      else heap.pop();
    }
    await out.end();
  }
}

/** Reads one sorted run record by record through a fixed window of the spill file. */
class RunReader {
  closesAt = 0;
  source = "";
  private buffer: Buffer;
  private filled = 0;
  private at = 0;
  private position: number;
  private readonly end: number;

  constructor(
    private readonly handle: FileHandle,
    run: Run,
    window: number,
  ) {
    // The window grows for a record that does not fit (a source longer than the window).
    this.buffer = Buffer.allocUnsafe(window);
    this.position = run.offset;
    this.end = run.offset + run.length;
  }

  /** Moves to the next record; false at the end of the run. */
  async next(): Promise<boolean> {
    if (!(await this.ensure(RECORD_HEAD))) return false;
    const length = this.buffer.readUInt32LE(this.at + 8);
    if (!(await this.ensure(RECORD_HEAD + length))) throw new Error("Truncated closing-list run");
    this.closesAt = this.buffer.readDoubleLE(this.at);
    const start = this.at + RECORD_HEAD;
    this.source = this.buffer.toString("utf8", start, start + length);
    this.at = start + length;
    return true;
  }

  private async ensure(bytes: number): Promise<boolean> {
    if (this.filled - this.at >= bytes) return true;
    const left = this.filled - this.at;
    let buffer = this.buffer;
    if (bytes > buffer.length) buffer = Buffer.allocUnsafe(bytes);
    this.buffer.copy(buffer, 0, this.at, this.filled);
    this.buffer = buffer;
    this.filled = left;
    this.at = 0;
    const wanted = Math.min(buffer.length - left, this.end - this.position);
    if (wanted > 0) {
      const { bytesRead } = await this.handle.read(buffer, left, wanted, this.position);
      this.position += bytesRead;
      this.filled += bytesRead;
    }
    return this.filled >= bytes;
  }
}

function before(a: RunReader, b: RunReader): boolean {
  return a.closesAt < b.closesAt || (a.closesAt === b.closesAt && a.source < b.source);
}

/** A binary min-heap of run readers keyed by their current record. */
class MinHeap {
  private readonly items: RunReader[] = [];

  peek(): RunReader | undefined {
    return this.items[0];
  }

  push(item: RunReader): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i] as RunReader, items[parent] as RunReader)) break;
      [items[i], items[parent]] = [items[parent] as RunReader, items[i] as RunReader];
      i = parent;
    }
  }

  pop(): void {
    const last = this.items.pop();
    if (last && this.items.length > 0) this.replaceTop(last);
  }

  /** The top's key changed (or it was replaced): sift it down. */
  replaceTop(item: RunReader): void {
    const items = this.items;
    items[0] = item;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && before(items[left] as RunReader, items[smallest] as RunReader))
        smallest = left;
      if (right < items.length && before(items[right] as RunReader, items[smallest] as RunReader))
        smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest] as RunReader, items[i] as RunReader];
      i = smallest;
    }
  }
}

/** The CSV, header first, handed to S3 in batches. */
class CsvOut {
  private text = CLOSING_CSV_HEADER;
  // Sorted lines share their second with the line before more often than not: the ISO text up
  // to the second is formatted once per second (profiled: Date + toISOString per line was a
  // fifth of the list's CPU).
  private second = Number.NaN;
  private secondText = "";

  constructor(private readonly sink: ObjectSink) {}

  async line(source: string, closesAt: number): Promise<void> {
    const second = Math.floor(closesAt / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondText = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const millis = String(closesAt - second * 1000).padStart(3, "0");
    this.text += `${csvField(source)};${this.secondText}${millis}Z\n`;
    if (this.text.length >= OUTPUT_BATCH_BYTES) await this.flush();
  }

  async end(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.text.length === 0) return;
    const batch = Buffer.from(this.text);
    this.text = "";
    await this.sink.write(batch);
  }
}

/** RFC 4180 quoting, for a source that holds the delimiter, a quote or a line end. */
function csvField(value: string): string {
  return /[;"\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function createClosingList(options: ClosingListOptions): ClosingList {
  return new ExternalClosingList(options);
}
