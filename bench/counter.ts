import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "csv-parse";
import { tallySessionCsv } from "../lambdas/lib/sessions/tally.js";

/**
 * The open-sessions counter (scanner + timestamp windows, as count-sessions runs it) against a
 * plain csv-parse record-by-record count of the same generated Wavy-like CSV.
 * `npm run bench:counter [-- --rows N --runs N]`.
 */
export interface BenchCounterOptions {
  rows?: number;
  runs?: number;
  /** Where the generated CSV is kept between runs (git-ignored). */
  dir?: string;
  /** Read size, like a download's chunks. */
  chunkBytes?: number;
  log?: (line: string) => void;
}

export interface Throughput {
  medianMs: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  runsMs: number[];
}

export interface BenchCounterResult {
  file: string;
  rows: number;
  bytes: number;
  counter: Throughput;
  csvParse: Throughput;
  /** counter rows/s over csv-parse rows/s. */
  ratio: number;
}

const DEFAULT_DIR = fileURLToPath(new URL(".data/", import.meta.url));
const NOW = new Date("2026-11-28T12:00:00Z");

/** Realistic rows: a Brazilian mobile number and a local timestamp within the last day. */
async function generate(file: string, rows: number): Promise<void> {
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const start = Date.UTC(2026, 10, 27, 12, 0, 0);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  let lines: string[] = ["source;session_created_at"];
  for (let i = 0; i < rows; i++) {
    const t = new Date(start + ((i * 7919) % 86_400) * 1000);
    const stamp = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
    lines.push(`55119${pad((i * 48_271) % 100_000_000, 8)};${stamp}`);
    if (lines.length === 10_000) {
      if (!out.write(`${lines.join("\n")}\n`)) await once(out, "drain");
      lines = [];
    }
  }
  if (lines.length > 0) out.write(`${lines.join("\n")}\n`);
  out.end();
  await once(out, "finish");
  await rename(partial, file);
}

async function countWithCounter(file: string, chunkBytes: number): Promise<number> {
  const { figures } = await tallySessionCsv(createReadStream(file, { highWaterMark: chunkBytes }), {
    now: NOW,
    timeZone: "America/Sao_Paulo",
  });
  return figures.openSessions;
}

async function countWithCsvParse(file: string, chunkBytes: number): Promise<number> {
  const parser = createReadStream(file, { highWaterMark: chunkBytes }).pipe(
    parse({ delimiter: ";", bom: true, skip_empty_lines: true }),
  );
  let records = 0;
  for await (const _record of parser) records++;
  return Math.max(0, records - 1);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function throughput(runsMs: number[], rows: number, bytes: number): Throughput {
  const medianMs = median(runsMs);
  return {
    medianMs,
    rowsPerSecond: rows / (medianMs / 1000),
    mbPerSecond: bytes / 1e6 / (medianMs / 1000),
    runsMs,
  };
}

export async function benchCounter(options: BenchCounterOptions = {}): Promise<BenchCounterResult> {
  const rows = options.rows ?? 5_000_000;
  const runs = options.runs ?? 5;
  const dir = options.dir ?? DEFAULT_DIR;
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const log = options.log ?? (() => {});
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sessions-${rows}.csv`);
  if (!existsSync(file)) {
    log(`generating ${rows} rows into ${file}`);
    await generate(file, rows);
  }
  const bytes = statSync(file).size;

  const counterMs: number[] = [];
  const csvParseMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    for (const [name, count, times] of [
      ["counter", countWithCounter, counterMs],
      ["csv-parse", countWithCsvParse, csvParseMs],
    ] as const) {
      const started = performance.now();
      const counted = await count(file, chunkBytes);
      const elapsed = performance.now() - started;
      if (counted !== rows) throw new Error(`${name} counted ${counted} rows, expected ${rows}`);
      times.push(elapsed);
      log(`run ${run + 1}/${runs} ${name}: ${elapsed.toFixed(0)} ms`);
    }
  }
  const counter = throughput(counterMs, rows, bytes);
  const csvParse = throughput(csvParseMs, rows, bytes);
  return {
    file,
    rows,
    bytes,
    counter,
    csvParse,
    ratio: counter.rowsPerSecond / csvParse.rowsPerSecond,
  };
}

function format(result: BenchCounterResult): string {
  const line = (name: string, t: Throughput) =>
    `${name.padEnd(10)} ${(t.rowsPerSecond / 1e6).toFixed(2).padStart(6)} M rows/s ${t.mbPerSecond.toFixed(0).padStart(5)} MB/s  median ${t.medianMs.toFixed(0)} ms`;
  return [
    `${result.rows} rows, ${(result.bytes / 1e6).toFixed(0)} MB (${result.file})`,
    line("counter", result.counter),
    line("csv-parse", result.csvParse),
    `ratio      ${result.ratio.toFixed(1)}x`,
  ].join("\n");
}

function argument(name: string): number | undefined {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchCounter({
    rows: argument("rows"),
    runs: argument("runs"),
    log: (line) => console.error(line),
  });
  console.log(format(result));
}
