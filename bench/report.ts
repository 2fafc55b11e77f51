import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Bundle, BundleName } from "./build.js";
import type { ChildFigures } from "./children/measure.js";
import type { BenchCounterResult } from "./counter.js";
import type { CsvFile } from "./data.js";
import type { ProfileSummary } from "./profile.js";
import { fixed, type Machine, MB, median } from "./stats.js";

export interface BenchReport {
  quick: boolean;
  machine: Machine;
  command: string;
  durationS: number;
  plan: {
    curve: number[];
    rssSizes: number[];
    throughputSize: number;
    curveRuns: number;
    throughputRuns: number;
    initRuns: number;
    counterRows: number;
    counterRuns: number;
  };
  files: Record<number, CsvFile>;
  bundles: Record<BundleName, Bundle>;
  init: { runs: number; medianMs: Record<string, number> };
  counter: BenchCounterResult;
  exports: Record<number, ChildFigures[]>;
  baselines: ChildFigures[];
  /** The throughput-size export with NODE_OPTIONS=--enable-source-maps (a debugging setting). */
  withSourceMaps: ChildFigures[];
  profile: { megabytes: number; figures: ChildFigures; summary: ProfileSummary; path: string };
}

/** Figures the goals and the memory choice are read from. */
interface Derived {
  rss: { megabytes: number; medianMb: number; maxMb: number }[];
  flatRatio: number;
  maxRssMb: number;
  exportMbps: number;
  baselineMbps: number;
  throughputRatio: number;
  cpuSecondsPerGb: number;
  baselineCpuSecondsPerGb: number;
  /** CPU seconds per wall second of the export: how many cores it keeps busy. */
  parallelism: number;
  fixedSeconds: number;
}

const cpuMs = (f: ChildFigures) => f.cpuUserMs + f.cpuSystemMs;

function derive(report: BenchReport): Derived {
  const size = report.plan.throughputSize;
  const file = report.files[size] as CsvFile;
  const runs = report.exports[size] ?? [];
  const rss = report.plan.rssSizes.map((megabytes) => {
    const peaks = (report.exports[megabytes] ?? []).map((r) => r.peakRssMb);
    return { megabytes, medianMb: median(peaks), maxMb: Math.max(...peaks) };
  });
  const first = rss[0] as (typeof rss)[number];
  const last = rss[rss.length - 1] as (typeof rss)[number];
  const exportMbps = file.bytes / MB / (median(runs.map((r) => r.wallMs)) / 1000);
  const baselineMbps = file.bytes / MB / (median(report.baselines.map((r) => r.wallMs)) / 1000);
  const smallest = report.exports[Math.min(...report.plan.curve)] ?? [];
  return {
    rss,
    flatRatio: last.medianMb / first.medianMb,
    maxRssMb: Math.max(...rss.map((r) => r.maxMb)),
    exportMbps,
    baselineMbps,
    throughputRatio: exportMbps / baselineMbps,
    cpuSecondsPerGb: median(runs.map((r) => cpuMs(r) / 1000 / (file.bytes / 1e9))),
    baselineCpuSecondsPerGb: median(
      report.baselines.map((r) => cpuMs(r) / 1000 / (file.bytes / 1e9)),
    ),
    parallelism: median(runs.map((r) => cpuMs(r) / r.wallMs)),
    // The 1 MB export: Wavy call, manifest, presigned URL and first-use setup, hardly any CSV.
    fixedSeconds: median(smallest.map((r) => r.wallMs)) / 1000,
  };
}

export interface MemoryChoice {
  memoryMb: number;
  csvMb: number;
  budgetS: number;
  safety: number;
  wireMbps: number;
  candidates: { memoryMb: number; vcpu: number; predictedS: number; fits: boolean }[];
}

/** Lambda's documented rule: 1,769 MB of memory buys one full vCPU, CPU share is linear below. */
const MB_PER_VCPU = 1769;

/**
 * The smallest memory size at which a 5 M-row (~170 MB) export is predicted to finish inside
 * the 25 s budget with a 1.5× margin: its CPU seconds stretched by Lambda's CPU share (capped
 * at the cores the export can use), never faster than the wire, plus the fixed per-request
 * work, itself CPU work stretched the same way; and at least 1.5× the measured peak RSS.
 */
export function chooseMemory(report: BenchReport): MemoryChoice {
  const d = derive(report);
  const csvMb = 170;
  const budgetS = 25;
  const safety = 1.5;
  const wireMbps = 100; // Wavy's CDN to Lambda, as issue 3 puts it; loopback here is faster.
  const candidates = [];
  for (let memoryMb = 256; memoryMb <= 3008; memoryMb += 128) {
    const vcpu = memoryMb / MB_PER_VCPU;
    const usable = Math.min(vcpu, Math.max(1, d.parallelism));
    const cpuS = (d.cpuSecondsPerGb * csvMb) / 1000;
    const predictedS =
      (Math.max(cpuS / usable, csvMb / wireMbps) + d.fixedSeconds / Math.min(1, vcpu)) * safety;
    const fits = predictedS <= budgetS && memoryMb >= d.maxRssMb * 1.5;
    candidates.push({ memoryMb, vcpu, predictedS, fits });
  }
  const chosen = candidates.find((c) => c.fits)?.memoryMb ?? 1769;
  return { memoryMb: chosen, csvMb, budgetS, safety, wireMbps, candidates };
}

const verdict = (met: boolean) => (met ? "met" : "**missed**");

function goalRows(report: BenchReport): string[][] {
  const d = derive(report);
  const c = report.counter;
  const rows: string[][] = [];
  for (const r of d.rss) {
    rows.push([
      `export peak RSS, ${r.megabytes} MB CSV`,
      `${fixed(r.medianMb)} MB (max ${fixed(r.maxMb)})`,
      "≤ 200 MB",
      verdict(r.maxMb <= 200),
    ]);
  }
  const first = d.rss[0]?.megabytes;
  const last = d.rss[d.rss.length - 1]?.megabytes;
  rows.push([
    `peak RSS ${last} MB / ${first} MB`,
    `${fixed(d.flatRatio, 2)}×`,
    "≤ 1.5×",
    verdict(d.flatRatio <= 1.5),
  ]);
  const withMaps = report.withSourceMaps;
  rows.push([
    `  same, ${report.plan.throughputSize} MB, with --enable-source-maps (debugging only)`,
    `${fixed(median(withMaps.map((r) => r.peakRssMb)))} MB (RSS before the request ${fixed(median(withMaps.map((r) => r.rssBeforeMb)))} MB, as deployed ${fixed(median((report.exports[report.plan.throughputSize] ?? []).map((r) => r.rssBeforeMb)))} MB)`,
    "(informative)",
    "—",
  ]);
  rows.push([
    `export throughput, ${report.plan.throughputSize} MB`,
    `${fixed(d.exportMbps)} MB/s vs bare pipe ${fixed(d.baselineMbps)} MB/s = ${fixed(d.throughputRatio, 2)}`,
    "≥ 0.75",
    verdict(d.throughputRatio >= 0.75),
  ]);
  rows.push([
    "CPU per GB exported (user+sys)",
    `${fixed(d.cpuSecondsPerGb, 2)} s/GB (bare pipe ${fixed(d.baselineCpuSecondsPerGb, 2)} s/GB)`,
    "reported",
    "—",
  ]);
  rows.push([
    `counter, ${(c.rows / 1e6).toFixed(0)} M rows (${fixed(c.bytes / MB, 0)} MB)`,
    `${fixed(c.counter.rowsPerSecond / 1e6, 2)} M rows/s, ${fixed(c.counter.mbPerSecond, 0)} MB/s; csv-parse ${fixed(c.csvParse.rowsPerSecond / 1e6, 2)} M rows/s, ${fixed(c.csvParse.mbPerSecond, 0)} MB/s; ratio ${fixed(c.ratio, 1)}×`,
    "≥ 3 M rows/s",
    verdict(c.counter.rowsPerSecond >= 3e6),
  ]);
  for (const name of ["export-sessions", "count-sessions"] as const) {
    const b = report.bundles[name];
    rows.push([
      `bundle ${name} (index.mjs)`,
      `${fixed(b.bytes / 1024, 0)} KiB (+ ${fixed(b.mapBytes / 1024, 0)} KiB source map)`,
      "≤ 1 MB",
      verdict(b.bytes <= 1_000_000),
    ]);
  }
  for (const variant of ["", " (with source maps)"]) {
    const base = report.init.medianMs[`s3-client-only${variant}`] ?? Number.NaN;
    for (const name of ["export-sessions", "count-sessions"] as const) {
      const ms = report.init.medianMs[`${name}${variant}`] ?? Number.NaN;
      rows.push([
        `module init ${name}${variant || " (as deployed)"}`,
        `${fixed(ms)} ms vs S3-client-only ${fixed(base)} ms = ${fixed(ms / base, 2)}×`,
        "≤ 1.5×",
        verdict(ms / base <= 1.5),
      ]);
    }
  }
  return rows;
}

function curveRows(report: BenchReport): string[][] {
  return report.plan.curve.map((megabytes) => {
    const runs = report.exports[megabytes] ?? [];
    const file = report.files[megabytes] as CsvFile;
    const wall = median(runs.map((r) => r.wallMs));
    return [
      `${megabytes} MB`,
      file.rows.toLocaleString("en-US"),
      fixed(wall / 1000, 2),
      fixed(file.bytes / MB / (wall / 1000)),
      fixed(median(runs.map(cpuMs)) / 1000, 2),
      fixed(median(runs.map((r) => r.peakRssMb))),
      String(runs.length),
    ];
  });
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function formatTable(report: BenchReport, memory: MemoryChoice): string {
  const plain = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
    );
    const line = (cells: string[]) =>
      cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
  };
  return [
    `\n$ ${report.command}   (${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node})`,
    plain(["figure", "value", "goal", ""], goalRows(report)),
    "",
    plain(["size", "rows", "time s", "MB/s", "cpu s", "peak RSS MB", "runs"], curveRows(report)),
    "",
    `chosen export memory: ${memory.memoryMb} MB`,
  ].join("\n");
}

function bundleRows(report: BenchReport): string[][] {
  const names = ["export-sessions", "count-sessions"] as const;
  const top = new Set(
    names.flatMap((n) => report.bundles[n].packages.slice(0, 12).map((p) => p.name)),
  );
  return [...top]
    .map((pkg) =>
      names.map((n) => report.bundles[n].packages.find((p) => p.name === pkg)?.bytes ?? 0),
    )
    .map((sizes, index) => ({ pkg: [...top][index] as string, sizes }))
    .sort((a, b) => Math.max(...b.sizes) - Math.max(...a.sizes))
    .map(({ pkg, sizes }) => [pkg, ...sizes.map((bytes) => `${fixed(bytes / 1024, 0)} KiB`)]);
}

export function writeReport(
  report: BenchReport,
  memory: MemoryChoice,
  path: string,
  chartName: string,
): void {
  // Hand-written history (before/after of optimisations), kept beside the generator.
  const notesPath = fileURLToPath(new URL("./optimisations.md", import.meta.url));
  const notes = existsSync(notesPath) ? readFileSync(notesPath, "utf8") : "";
  const m = report.machine;
  const d = derive(report);
  const p = report.profile;
  const markdown = `# Benchmarks

Written by \`${report.command}\` on ${m.date.slice(0, 10)} (${m.date}); the run took
${fixed(report.durationS, 0)} s. Regenerate with \`npm run bench\` (\`BENCH_QUICK=1 npm run bench\`
for a smaller run that writes under \`bench/.data/\` instead of here).

**Machine**: ${m.cpus} CPUs (\`nproc\`), ${m.cpuModel}, ${fixed(m.memoryGiB, 1)} GiB memory,
Node ${m.node}. The machine is shared and noisy: every figure is a median of several runs and
every comparison a ratio of runs interleaved in the same invocation.

**How**: the bundles are built with the esbuild JS API and the settings of
\`infra/constructs/house-function.ts\` (ESM, minified, source map beside it, SDK bundled, target node22,
createRequire banner). The Wavy simulator and s3rver (with the test front) each run in their own
child process; every export runs in a fresh Node process from a bundle of the handler's request
path (\`handleApiRequest\` → \`createExport\` → \`copyToS3\`), without \`--enable-source-maps\`
as deployed, and reports \`process.resourceUsage().maxRSS\` (the whole process, init included),
wall time and \`process.cpuUsage()\` of the request. After each run the stored object is read back
through S3 and its sha256 and size checked against the source file's; rows, bytes and sha256 in
the response are checked too. The request budget is lifted in the bench so that the 1 GB file
measures memory rather than REQUEST_BUDGET_MS. CSVs are generated (rows ∝ size, 34 bytes a row
like \`5511987654321;2026-11-28 09:15:42\`) under \`bench/.data/\`.

## Goals

${table(["figure", "value", "goal", ""], goalRows(report))}

Runs: ${report.plan.curveRuns} per size, ${report.plan.throughputRuns} exports and ${report.plan.throughputRuns} bare pipes interleaved at ${report.plan.throughputSize} MB, ${report.plan.initRuns} fresh processes per bundle for init, ${report.plan.counterRuns} counter runs.
The bare pipe is a node:http response body handed to lib-storage's Upload (the export's part size and queue: 5 MiB, 3),
nothing else. Init time is \`import()\` of the bundle's index.mjs in a fresh Node, measured inside it.
The export keeps ${fixed(d.parallelism, 2)} CPU seconds busy per wall second (threads: GC, libuv).

## What is in the bundles (esbuild metafile, minified bytes by package)

${table(["package", ...(["export-sessions", "count-sessions"] as const)], bundleRows(report))}

## Scaling curve

![export time and peak RSS against CSV size](${chartName})

${table(["CSV", "rows", "export s", "MB/s", "CPU s", "peak RSS MB", "runs"], curveRows(report))}

## Where the CPU goes (\`node --cpu-prof\`, one ${fixed(p.megabytes, 0)} MB export, unminified bundle)

Total sampled ${fixed(p.summary.totalMs, 0)} ms. By module (self time):

${table(
  ["module", "self ms", "share"],
  p.summary.modules.map((x) => [x.module, fixed(x.selfMs, 0), `${fixed(x.share * 100)} %`]),
)}

Top functions:

${table(
  ["function", "module", "self ms", "share"],
  p.summary.functions.map((x) => [
    `\`${x.name}\``,
    x.module,
    fixed(x.selfMs, 0),
    `${fixed(x.share * 100)} %`,
  ]),
)}

## Lambda memory for the export function: ${memory.memoryMb} MB

Rule: the smallest size at which a 5 M-row export (about ${memory.csvMb} MB) is predicted to
finish inside the ${memory.budgetS} s request budget with a ${memory.safety}× margin. Lambda gives
CPU in proportion to memory (1,769 MB = 1 vCPU), so at memory M the export's CPU work takes
CPU-seconds ÷ (M / 1769) of wall time, never less than the wire time.

- CPU per GB exported here: ${fixed(d.cpuSecondsPerGb, 2)} s → ${fixed((d.cpuSecondsPerGb * memory.csvMb) / 1000, 2)} CPU s for ${memory.csvMb} MB.
- Fixed work per request (the 1 MB export: Wavy call, manifest, presigned URL): ${fixed(d.fixedSeconds, 2)} s at one core, stretched the same way.
- The wire: Wavy's CDN at ~${memory.wireMbps} MB/s → ${fixed(memory.csvMb / memory.wireMbps, 1)} s, a floor, not the limit.
- Memory: peak RSS ${fixed(d.maxRssMb)} MB whatever the size, so any size ≥ ${fixed(d.maxRssMb * 1.5, 0)} MB (1.5× headroom) holds it.
- The ${memory.safety}× margin covers Graviton (ARM) cores against this ${m.cpuModel}, real network latency to S3 per part, and noisy neighbours.

${table(
  ["memory MB", "vCPU share", "predicted s (with margin)", "fits"],
  memory.candidates
    .filter((c) => c.memoryMb <= Math.max(memory.memoryMb + 512, 1024))
    .map((c) => [
      String(c.memoryMb),
      fixed(c.vcpu, 2),
      fixed(c.predictedS, 1),
      c.fits ? "yes" : "no",
    ]),
)}

**Chosen: ${memory.memoryMb} MB.** ${
    (memory.candidates.find((c) => c.predictedS <= memory.budgetS)?.memoryMb ?? 0) < memory.memoryMb
      ? `Time alone would allow ${memory.candidates.find((c) => c.predictedS <= memory.budgetS)?.memoryMb} MB; memory headroom over the measured peak RSS is the binding constraint.`
      : "The time budget is the binding constraint."
  }

${notes}`;
  writeFileSync(path, markdown);
}
