import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createGzip } from "node:zlib";
import { utf8Rows } from "../lambdas/lib/companions/utf8-rows.js";
import { EXPORT_NODE_OPTIONS } from "../lambdas/lib/contract.js";
import { createCsvScanner, type RowVisitor } from "../lambdas/lib/csv/scanner.js";
import { createClosingList } from "../lambdas/lib/sessions/closing-list.js";
import { createSessionRecordWriter } from "../lambdas/lib/sessions/session-records.js";
import type { ObjectSink, SessionRowSink } from "../lambdas/lib/sessions/session-rows.js";
import { createTimestampReader } from "../lambdas/lib/sessions/timestamp.js";
import { peakRssMb } from "./children/measure.js";
import { createSessionParquetWriter } from "./hyparquet-companion.js";

/**
 * `npm run bench:companion` (BENCH_QUICK=1 for 1 M rows only; BENCH_COMPANION_ROWS=1000000,10000000
 * for other sizes): what the companion function spends building a companion, in CPU and peak
 * memory, side by side in one run (issue 19: it now runs in its own function, from the stored CSV).
 * Each variant runs in a fresh process over the same generated Wavy CSV read in 64 KiB chunks:
 * - copy: what the export's request path does (SHA-256 and the row counter), the baseline;
 * - companion: the scan that hands rows over, the UTF-8 check, the timestamp parser and our own
 *   Parquet encoder (lambdas/lib/parquet/; its bytes go to a sink that drops them, so S3 is out);
 * - hyparquet-writer: the same with hyparquet-writer's incremental ParquetWriter
 *   (bench/hyparquet-companion.ts), measured for the choice; the companion function ships ours;
 * - jsonl-gzip: the copy plus the alternative the issue names, gzip JSON Lines with the same
 *   fields (a plain line builder and Node's zlib at level 1; not shipped, measured for the choice);
 * - closing: the companion plus a closing-soon list holding every row (a 1440-minute window),
 *   sorted externally through /tmp.
 * Figures are medians of the runs; the ratios compare variants of this run only.
 */

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA = join(ROOT, "bench", ".data");
const QUICK = process.env.BENCH_QUICK === "1";
const SIZES = process.env.BENCH_COMPANION_ROWS
  ? process.env.BENCH_COMPANION_ROWS.split(",").map(Number)
  : QUICK
    ? [1_000_000]
    : [1_000_000, 10_000_000];
const RUNS = QUICK ? 3 : 5;
const VARIANTS = (process.env.BENCH_COMPANION_VARIANTS?.split(",") ?? [
  "copy",
  "companion",
  "hyparquet-writer",
  "jsonl-gzip",
  "closing",
]) as Variant[];
type Variant = "copy" | "companion" | "hyparquet-writer" | "jsonl-gzip" | "closing";
const NOW = Date.UTC(2026, 10, 28, 12);

/** A Wavy-like CSV: `;`, São Paulo wall-clock timestamps spread over the last 24 h. */
async function csvFile(rows: number): Promise<string> {
  const path = join(DATA, `companion-${rows}.csv`);
  if (existsSync(path)) return path;
  mkdirSync(DATA, { recursive: true });
  console.error(
    `[bench:companion] writing ${path} (${rows.toLocaleString("en")} rows, kept for the next run; rm it to free the space)`,
  );
  const out = createWriteStream(path);
  out.write("source;session_created_at\n");
  let batch = "";
  for (let i = 0; i < rows; i++) {
    const created = new Date(NOW - 3 * 3_600_000 - ((i * 7919) % 86_400) * 1000);
    batch += `55${String(11_900_000_000 + i)};${created.toISOString().slice(0, 19).replace("T", " ")}\n`;
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, "drain");
      batch = "";
    }
  }
  out.end(batch);
  await once(out, "finish");
  return path;
}

const dropSink: ObjectSink = {
  write: async () => {},
  finish: async () => {},
  discard: async () => {},
};

/** gzip JSON Lines of the companion's fields, for comparison only. */
function jsonLines(): SessionRowSink {
  const gzip = createGzip({ level: 1 });
  gzip.on("data", () => {});
  const exportedAt = new Date(NOW).toISOString();
  const decoder = new TextDecoder();
  let batch = "";
  const iso = (ms: number) => (Number.isNaN(ms) ? "null" : `"${new Date(ms).toISOString()}"`);
  return {
    add: (bytes, ss, se, cs, ce, createdAt) => {
      batch += `{"source":${JSON.stringify(decoder.decode(bytes.subarray(ss, se)))},"session_created_at":${JSON.stringify(decoder.decode(bytes.subarray(cs, ce)))},"created_at":${iso(createdAt)},"closes_at":${iso(createdAt + 86_400_000)},"export_id":"bench","exported_at":"${exportedAt}"}\n`;
    },
    drain: async () => {
      if (batch.length < 1 << 16) return;
      if (!gzip.write(batch)) await once(gzip, "drain");
      batch = "";
    },
    finish: async () => {
      gzip.end(batch);
      await once(gzip, "end");
    },
    discard: async () => {},
  };
}

async function child(variant: Variant, path: string): Promise<void> {
  const started = process.cpuUsage();
  const hash = createHash("sha256");
  const sinks: SessionRowSink[] = [];
  if (variant === "hyparquet-writer") {
    sinks.push(
      createSessionParquetWriter({ exportId: "bench", exportedAt: new Date(NOW), sink: dropSink }),
    );
  } else if (variant !== "copy") {
    sinks.push(
      createSessionRecordWriter({ exportId: "bench", exportedAt: new Date(NOW), sink: dropSink }),
    );
  }
  if (variant === "jsonl-gzip") sinks.push(jsonLines());
  if (variant === "closing") {
    sinks.push(createClosingList({ fromMs: NOW, withinMinutes: 1440, sink: dropSink }));
  }
  const read = createTimestampReader("America/Sao_Paulo");
  const onRow: RowVisitor = (bytes, ss, se, cs, ce) => {
    const createdAt = read(bytes, cs, ce);
    for (const sink of sinks) sink.add(bytes, ss, se, cs, ce, createdAt);
  };
  const rows =
    sinks.length === 0 ? createCsvScanner() : createCsvScanner({ onRow: utf8Rows(onRow).visit });
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    hash.update(chunk as Buffer);
    rows.write(chunk as Buffer);
    for (const sink of sinks) await sink.drain();
  }
  const count = rows.finish();
  for (const sink of sinks) await sink.finish();
  hash.digest();
  const cpu = process.cpuUsage(started);
  process.stdout.write(
    JSON.stringify({
      rows: count,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMb: peakRssMb(),
    }),
  );
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/**
 * The companion's cost against the copy alone: a markdown table of the medians of `runs` fresh
 * processes per variant, at each size. `npm run bench` runs it at 1 M rows and puts it in the report.
 */
export async function benchCompanion(
  options: { sizes?: readonly number[]; runs?: number } = {},
): Promise<string> {
  const sizes = options.sizes ?? SIZES;
  const runs = options.runs ?? RUNS;
  const lines = [
    "| rows | variant | CPU ms (median) | CPU vs copy | peak RSS MB | RSS vs copy |",
    "|---:|---|---:|---:|---:|---:|",
  ];
  for (const size of sizes) {
    const path = await csvFile(size);
    const figures = new Map<Variant, { cpu: number; rss: number }>();
    for (const variant of VARIANTS) {
      const cpu: number[] = [];
      const rss: number[] = [];
      for (let run = 0; run < runs; run++) {
        const output = execFileSync(
          process.execPath,
          // As deployed: the companion function (and the export) run with EXPORT_NODE_OPTIONS.
          [
            EXPORT_NODE_OPTIONS,
            "--import",
            "tsx",
            fileURLToPath(import.meta.url),
            "child",
            variant,
            path,
          ],
          { encoding: "utf8" },
        );
        const result = JSON.parse(output) as { rows: number; cpuMs: number; peakRssMb: number };
        if (result.rows !== size) throw new Error(`${variant} counted ${result.rows} rows`);
        cpu.push(result.cpuMs);
        rss.push(result.peakRssMb);
        // A run at 10 M rows takes minutes: say where it is (on stderr, beside the table).
        console.error(
          `[bench:companion] ${size.toLocaleString("en")} rows, ${variant}, run ${run + 1}/${runs}: ${result.cpuMs.toFixed(0)} ms CPU, ${result.peakRssMb.toFixed(0)} MB`,
        );
      }
      figures.set(variant, { cpu: median(cpu), rss: median(rss) });
    }
    const base =
      figures.get("copy") ?? (figures.values().next().value as { cpu: number; rss: number });
    for (const variant of VARIANTS) {
      const { cpu, rss } = figures.get(variant) as { cpu: number; rss: number };
      lines.push(
        `| ${size.toLocaleString("en")} | ${variant} | ${cpu.toFixed(0)} | ${(cpu / base.cpu).toFixed(2)}x | ${rss.toFixed(0)} | ${(rss / base.rss).toFixed(2)}x |`,
      );
    }
  }
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === "child") {
    await child(process.argv[3] as Variant, process.argv[4] as string);
  } else {
    const table = await benchCompanion();
    console.log(`Node ${process.version}, ${RUNS} runs per variant, median\n`);
    console.log(table);
  }
}
