import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXPORT_NODE_OPTIONS, EXPORT_PROCESS_ENVIRONMENT } from "../lambdas/lib/contract.js";
import { type Bundle, type BundleName, buildBundles, buildProfilingBundle } from "./build.js";
import { renderScalingCurve } from "./chart.js";
import type { ChildFigures } from "./children/measure.js";
import { benchCompanion } from "./companion.js";
import { type BenchCounterResult, benchCounter } from "./counter.js";
import { type CsvFile, csvOfSize } from "./data.js";
import {
  certificateFiles,
  FUNCTION_MEMORY_MB,
  LAMBDA_ENV,
  log,
  runBaseline,
  runExport,
  type Servers,
  startServers,
  TRANSPORTS,
  type Transport,
} from "./harness.js";
import { lambdaNodeArgs } from "./lambda-runtime.js";
import { benchNotices, formatNotices, NOTICES_PLANS } from "./notices.js";
import { summarizeProfile } from "./profile.js";
import {
  type BenchReport,
  chooseMemory,
  formatPairs,
  formatProfile,
  formatTable,
  type ProfiledRun,
  writeReport,
} from "./report.js";
import { describeMachine, fixed, MB, median } from "./stats.js";
import { benchWindows, formatWindows, WINDOWS_PLANS } from "./windows.js";

/**
 * `npm run bench`: bundles, generated CSVs, the Wavy simulator and s3rver each in a child
 * process (over HTTPS and plain HTTP), every export in a fresh child process running the
 * bundled code as Lambda would; figures are medians, comparisons are ratios of the same run.
 *
 * Writes bench/.data/benchmarks.md unless `-- --update-docs` is given (then docs/benchmarks.md
 * and docs/scaling-curve.png). `-- --quick` (or BENCH_QUICK=1): a smaller run. `-- --pipe-only`:
 * only the export against the bare pipe at the paired sizes, for trying one lever.
 * `-- --profile-only`: only the CPU profiles of one export and one bare pipe (TLS).
 * `-- --init-only`: only the module init of each bundle against the S3-client-only one.
 * `-- --rewrite-docs`: docs/ again from the last full run's figures (after editing the notes).
 */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA = join(ROOT, "bench", ".data");
const args = new Set(process.argv.slice(2));
const QUICK = process.env.BENCH_QUICK === "1" || args.has("--quick");
const UPDATE_DOCS = args.has("--update-docs");
const PIPE_ONLY = args.has("--pipe-only");
const PROFILE_ONLY = args.has("--profile-only");
const INIT_ONLY = args.has("--init-only");
/** Rewrites docs/ from the last full run's figures (bench/.data/last-run.json) without measuring. */
const REWRITE_DOCS = args.has("--rewrite-docs");
const LAST_RUN = join(DATA, "last-run.json");
if (UPDATE_DOCS && (QUICK || PIPE_ONLY || PROFILE_ONLY || INIT_ONLY)) {
  throw new Error("--update-docs writes the tracked docs from a full run only");
}

/** bench:companion inside the full run: 1 M rows (its 5 M-row table takes minutes more). */
const COMPANION = { rows: 1_000_000, runs: 3 };

const PLAN = QUICK
  ? {
      curve: [1, 10, 100],
      rssSizes: [10, 100],
      pairedSizes: [100],
      throughputSize: 100,
      curveRuns: 3,
      pairedRuns: 3,
      initRuns: 5,
      counterRows: 1_000_000,
      counterRuns: 3,
    }
  : {
      curve: [1, 10, 100, 1000],
      rssSizes: [10, 200, 1000],
      // Export and bare pipe alternate at these sizes, on both transports: the CPU-per-GB goal.
      pairedSizes: [200, 1000],
      throughputSize: 200,
      curveRuns: 3,
      pairedRuns: 5,
      initRuns: 9,
      counterRows: 5_000_000,
      counterRuns: 5,
    };

async function main(): Promise<void> {
  if (REWRITE_DOCS) {
    const report = JSON.parse(readFileSync(LAST_RUN, "utf8")) as BenchReport;
    if (report.quick) throw new Error("the last run was a quick one: docs/ takes a full run only");
    await publish(report, join(ROOT, "docs"));
    return;
  }
  const started = Date.now();
  const machine = describeMachine();
  log(
    `${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, load ${machine.loadAverage.join(" ")}, ` +
      `quick=${QUICK} pipe-only=${PIPE_ONLY} update-docs=${UPDATE_DOCS}`,
  );
  // Said up front (issue 22): the CSVs it generates stay for the next run, ~1.5 GB on a full one.
  log(
    `data (generated CSVs, bundles, the last run's figures) goes to ${DATA}; rm -rf it to free the space`,
  );

  log("building bundles with the house esbuild settings");
  const bundles = await buildBundles(join(DATA, "bundles"));
  if (INIT_ONLY) {
    const { medianMs } = await measureInit(bundles);
    const base = medianMs["s3-client-only"] ?? Number.NaN;
    for (const [name, ms] of Object.entries(medianMs)) {
      console.log(`${name}: ${fixed(ms, 1)} ms (${fixed(ms / base, 2)}× s3-client-only)`);
    }
    return;
  }

  const sizes = [
    ...new Set(
      PROFILE_ONLY
        ? [PLAN.throughputSize]
        : PIPE_ONLY
          ? PLAN.pairedSizes
          : [...PLAN.curve, ...PLAN.rssSizes, ...PLAN.pairedSizes, PLAN.throughputSize],
    ),
  ].sort((a, b) => a - b);
  const files = new Map<number, CsvFile>();
  for (const size of sizes) {
    log(`CSV of ${size} MB`);
    files.set(size, await csvOfSize(join(DATA, "csv"), size));
  }

  const counter =
    PIPE_ONLY || PROFILE_ONLY
      ? undefined
      : await benchCounter({
          rows: PLAN.counterRows,
          runs: PLAN.counterRuns,
          log: (line) => log(`counter: ${line}`),
        });
  const init = PIPE_ONLY || PROFILE_ONLY ? undefined : await measureInit(bundles);
  // Issue 13: what the normalised companion costs on top of the copy, in the export's one pass.
  const companion =
    PIPE_ONLY || PROFILE_ONLY
      ? undefined
      : await benchCompanion({ sizes: [COMPANION.rows], runs: COMPANION.runs });

  // Issue 20: the live windows' webhook, processor and lookup, over loopback.
  const windows =
    PIPE_ONLY || PROFILE_ONLY
      ? undefined
      : formatWindows(
          await benchWindows(
            (line) => log(`windows: ${line}`),
            QUICK ? WINDOWS_PLANS.quick : WINDOWS_PLANS.full,
          ),
        );

  // Issue 21: the closing-notice sweeper and the counter's reconciliation, on dynalite.
  const noticesPlan = QUICK ? NOTICES_PLANS.quick : NOTICES_PLANS.full;
  const notices =
    PIPE_ONLY || PROFILE_ONLY
      ? undefined
      : formatNotices(
          await benchNotices(noticesPlan.windows, noticesPlan.leadMinutes, (line) =>
            log(`notices: ${line}`),
          ),
        );

  const servers = await startServers(await certificateFiles(join(DATA, "tls")));
  try {
    if (PROFILE_ONLY) {
      const file = files.get(PLAN.throughputSize) as CsvFile;
      for (const which of ["export", "baseline"] as const) {
        const run = await profileRun(servers, file, which);
        console.log(`\n${which}: ${run.path}\n${formatProfile(run)}`);
      }
      return;
    }
    const exports: Record<Transport, Record<number, ChildFigures[]>> = { tls: {}, http: {} };
    const baselines: Record<Transport, Record<number, ChildFigures[]>> = { tls: {}, http: {} };
    for (const size of sizes) {
      const file = files.get(size) as CsvFile;
      const paired = PLAN.pairedSizes.includes(size);
      // The 1 GB pairs take ~30 s a run: the curve's run count there keeps the bench in minutes.
      const runs = paired && size < 1000 ? PLAN.pairedRuns : PLAN.curveRuns;
      // As deployed (TLS) at every size; plain HTTP beside it where the pipe is compared.
      for (const transport of paired ? TRANSPORTS : (["tls"] as const)) {
        const exported: ChildFigures[] = [];
        const piped: ChildFigures[] = [];
        for (let run = 0; run < runs; run++) {
          // Side by side: the bare pipe and the export alternate on the same file.
          if (paired) {
            piped.push(
              await runBaseline(servers, bundles["upload-baseline-child"].file, file, run, {
                transport,
              }),
            );
          }
          exported.push(
            await runExport(servers, bundles["export-child"].file, file, run, { transport }),
          );
        }
        exports[transport][size] = exported;
        if (paired) baselines[transport][size] = piped;
      }
    }
    if (PIPE_ONLY) {
      console.log(
        formatPairs({ plan: PLAN, files: Object.fromEntries(files), exports, baselines, machine }),
      );
      return;
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
          {
            transport: "tls",
            extraEnv: { NODE_OPTIONS: `${EXPORT_NODE_OPTIONS} --enable-source-maps` },
          },
        ),
      );
    }

    log("CPU profiles of one export and one bare pipe (TLS)");
    const profileFile = files.get(PLAN.throughputSize) as CsvFile;
    const profile = await profileRun(servers, profileFile, "export");
    const baselineProfile = await profileRun(servers, profileFile, "baseline");

    const report: BenchReport = {
      quick: QUICK,
      machine,
      loadAverageAtEnd: [],
      command: QUICK ? "npm run bench -- --quick" : "npm run bench -- --update-docs",
      durationS: 0,
      plan: PLAN,
      files: Object.fromEntries(files),
      bundles,
      init: init as InitFigures,
      counter: counter as BenchCounterResult,
      companion: companion as string,
      ...(windows && { windows }),
      ...(notices && { notices }),
      exports,
      baselines,
      withSourceMaps,
      profile,
      baselineProfile,
    };
    report.durationS = (Date.now() - started) / 1000;
    report.loadAverageAtEnd = loadavg().map((value) => Number(value.toFixed(2)));
    writeFileSync(LAST_RUN, JSON.stringify(report, null, 2));
    await publish(report, UPDATE_DOCS ? join(ROOT, "docs") : DATA);
  } finally {
    servers.stop();
  }
}

/** The chart and the markdown, from one run's figures (and bench/optimisations.md). */
async function publish(report: BenchReport, outDir: string): Promise<void> {
  const chartName = "scaling-curve.png";
  const chartPath = join(outDir, chartName);
  const markdownPath = join(outDir, "benchmarks.md");
  await renderScalingCurve(
    report.plan.curve.map((megabytes) => {
      const runs = report.exports.tls[megabytes] ?? [];
      return {
        megabytes,
        seconds: median(runs.map((r) => r.wallMs)) / 1000,
        peakRssMb: median(runs.map((r) => r.peakRssMb)),
      };
    }),
    chartPath,
  );
  const memory = chooseMemory(report);
  console.log(formatTable(report, memory));
  writeReport(report, memory, markdownPath, chartName);
  log(
    `wrote ${markdownPath} and ${chartPath} (run of ${report.machine.date}, ${fixed(report.durationS, 0)} s)`,
  );
}

export interface InitFigures {
  runs: number;
  medianMs: Record<string, number>;
}

/**
 * import() of each bundle in a fresh Node started as Lambda starts it (the runtime's flags,
 * lambda-runtime.ts), round-robin so drift hits every bundle alike.
 */
async function measureInit(bundles: Record<BundleName, Bundle>): Promise<InitFigures> {
  const names: BundleName[] = ["s3-client-only", "export-sessions", "count-sessions"];
  const variants = names.flatMap((name) => [
    // As deployed: only the export function carries process settings of its own.
    { key: name, name, env: name === "export-sessions" ? EXPORT_PROCESS_ENVIRONMENT : {} },
    { key: `${name} (with source maps)`, name, env: { NODE_OPTIONS: "--enable-source-maps" } },
  ]);
  const times: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.key, []]));
  const probe = bundles["init-probe"].file;
  for (let run = 0; run < PLAN.initRuns; run++) {
    for (const { key, name, env } of variants) {
      const runtimeArgs = lambdaNodeArgs(FUNCTION_MEMORY_MB.export, env.NODE_OPTIONS);
      const child = spawn(process.execPath, [...runtimeArgs, probe, bundles[name].file], {
        env: { PATH: process.env.PATH, ...LAMBDA_ENV, ...env },
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

/** One run under `node --cpu-prof`, from an unminified bundle so the profile names functions. */
async function profileRun(
  servers: Servers,
  file: CsvFile,
  which: "export" | "baseline",
): Promise<ProfiledRun> {
  const entry = which === "export" ? "export-child" : "upload-baseline-child";
  const script = await buildProfilingBundle(join(DATA, "bundles"), entry);
  const dir = join(DATA, "profiles", which);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const options = { transport: "tls" as const, execArgv: ["--cpu-prof", "--cpu-prof-dir", dir] };
  const figures =
    which === "export"
      ? await runExport(servers, script, file, 0, options)
      : await runBaseline(servers, script, file, 0, options);
  const profileFile = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!profileFile) throw new Error(`the profiled ${which} wrote no .cpuprofile`);
  const summary = summarizeProfile(join(dir, profileFile), script, 15, figures.startedAtUs);
  return { megabytes: file.bytes / MB, figures, summary, path: join(dir, profileFile) };
}

await main();
// The S3 client's keep-alive sockets would keep the bench open.
process.exit(0);
