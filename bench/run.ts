import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Bundle, type BundleName, buildBundles, buildProfilingBundle } from "./build.js";
import { renderScalingCurve } from "./chart.js";
import type { ChildFigures } from "./children/measure.js";
import { benchCounter } from "./counter.js";
import { type CsvFile, csvOfSize } from "./data.js";
import { LAMBDA_ENV, log, runBaseline, runExport, type Servers, startServers } from "./harness.js";
import { summarizeProfile } from "./profile.js";
import { type BenchReport, chooseMemory, formatTable, writeReport } from "./report.js";
import { describeMachine, fixed, MB, median } from "./stats.js";

/**
 * `npm run bench` (BENCH_QUICK=1 for a smaller run): bundles, generated CSVs, the Wavy
 * simulator and s3rver each in a child process, every export in a fresh child process running
 * the bundled code as Lambda would; figures are medians, comparisons are ratios of the same run.
 */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA = join(ROOT, "bench", ".data");
const QUICK = process.env.BENCH_QUICK === "1";

const PLAN = QUICK
  ? {
      curve: [1, 10, 100],
      rssSizes: [10, 100],
      throughputSize: 100,
      curveRuns: 3,
      throughputRuns: 3,
      initRuns: 5,
      counterRows: 1_000_000,
      counterRuns: 3,
    }
  : {
      curve: [1, 10, 100, 1000],
      rssSizes: [10, 200, 1000],
      throughputSize: 200,
      curveRuns: 3,
      throughputRuns: 5,
      initRuns: 9,
      counterRows: 5_000_000,
      counterRuns: 5,
    };

async function main(): Promise<void> {
  const started = Date.now();
  const machine = describeMachine();
  log(`${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, quick=${QUICK}`);

  log("building bundles with the house esbuild settings");
  const bundles = await buildBundles(join(DATA, "bundles"));

  const sizes = [...new Set([...PLAN.curve, ...PLAN.rssSizes, PLAN.throughputSize])].sort(
    (a, b) => a - b,
  );
  const files = new Map<number, CsvFile>();
  for (const size of sizes) {
    log(`CSV of ${size} MB`);
    files.set(size, await csvOfSize(join(DATA, "csv"), size));
  }

  log(`counter vs csv-parse on ${PLAN.counterRows} rows`);
  const counter = await benchCounter({
    rows: PLAN.counterRows,
    runs: PLAN.counterRuns,
    log: (line) => log(`counter: ${line}`),
  });

  log("module init times");
  const init = await measureInit(bundles);

  const servers = await startServers();
  try {
    const exports = new Map<number, ChildFigures[]>();
    const baselines: ChildFigures[] = [];
    for (const size of sizes) {
      const file = files.get(size) as CsvFile;
      const isThroughput = size === PLAN.throughputSize;
      const runs = isThroughput ? PLAN.throughputRuns : PLAN.curveRuns;
      const figures: ChildFigures[] = [];
      for (let run = 0; run < runs; run++) {
        // Side by side: the bare pipe and the export alternate on the same file.
        if (isThroughput)
          baselines.push(
            await runBaseline(servers, bundles["upload-baseline-child"].file, file, run),
          );
        figures.push(await runExport(servers, bundles["export-child"].file, file, run));
      }
      exports.set(size, figures);
    }
    // The same export with NODE_OPTIONS=--enable-source-maps: what debugging with maps costs.
    const withSourceMaps: ChildFigures[] = [];
    for (let run = 0; run < PLAN.curveRuns; run++) {
      withSourceMaps.push(
        await runExport(
          servers,
          bundles["export-child"].file,
          files.get(PLAN.throughputSize) as CsvFile,
          run,
          [],
          { NODE_OPTIONS: "--enable-source-maps" },
        ),
      );
    }

    log("CPU profile of one export");
    const profile = await profileExport(servers, files.get(PLAN.throughputSize) as CsvFile);

    const report: BenchReport = {
      quick: QUICK,
      machine,
      command: QUICK ? "BENCH_QUICK=1 npm run bench" : "npm run bench",
      durationS: 0,
      plan: PLAN,
      files: Object.fromEntries(files),
      bundles,
      init,
      counter,
      exports: Object.fromEntries(exports),
      baselines,
      withSourceMaps,
      profile,
    };
    const chartName = QUICK ? "scaling-curve-quick.png" : "scaling-curve.png";
    const chartPath = join(QUICK ? DATA : join(ROOT, "docs"), chartName);
    const markdownPath = join(QUICK ? DATA : join(ROOT, "docs"), "benchmarks.md");
    await renderScalingCurve(
      PLAN.curve.map((megabytes) => {
        const runs = exports.get(megabytes) ?? [];
        return {
          megabytes,
          seconds: median(runs.map((r) => r.wallMs)) / 1000,
          peakRssMb: median(runs.map((r) => r.peakRssMb)),
        };
      }),
      chartPath,
    );
    report.durationS = (Date.now() - started) / 1000;
    const memory = chooseMemory(report);
    console.log(formatTable(report, memory));
    writeReport(report, memory, markdownPath, chartName);
    log(`wrote ${markdownPath} and ${chartPath} in ${fixed(report.durationS, 0)} s`);
  } finally {
    servers.stop();
  }
}

export interface InitFigures {
  runs: number;
  medianMs: Record<string, number>;
}

/** import() of each bundle in a fresh Node, round-robin so drift hits every bundle alike. */
async function measureInit(bundles: Record<BundleName, Bundle>): Promise<InitFigures> {
  const names: BundleName[] = ["s3-client-only", "export-sessions", "count-sessions"];
  const variants = names.flatMap((name) => [
    { key: name, name, nodeOptions: LAMBDA_ENV.NODE_OPTIONS },
    { key: `${name} (with source maps)`, name, nodeOptions: "--enable-source-maps" },
  ]);
  const times: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.key, []]));
  const probe = bundles["init-probe"].file;
  for (let run = 0; run < PLAN.initRuns; run++) {
    for (const { key, name, nodeOptions } of variants) {
      const child = spawn(process.execPath, [probe, bundles[name].file], {
        env: { PATH: process.env.PATH, ...LAMBDA_ENV, NODE_OPTIONS: nodeOptions },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      await once(child, "close");
      times[key]?.push((JSON.parse(out) as { ms: number }).ms);
    }
  }
  return {
    runs: PLAN.initRuns,
    medianMs: Object.fromEntries(variants.map((v) => [v.key, median(times[v.key] ?? [])])),
  };
}

async function profileExport(servers: Servers, file: CsvFile): Promise<BenchReport["profile"]> {
  const script = await buildProfilingBundle(join(DATA, "bundles"));
  const dir = join(DATA, "profiles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const figures = await runExport(servers, script, file, 0, ["--cpu-prof", "--cpu-prof-dir", dir]);
  const profileFile = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!profileFile) throw new Error("the profiled export wrote no .cpuprofile");
  const summary = summarizeProfile(join(dir, profileFile), script);
  return { megabytes: file.bytes / MB, figures, summary, path: join(dir, profileFile) };
}

await main();
// The S3 client's keep-alive sockets would keep the bench open.
process.exit(0);
