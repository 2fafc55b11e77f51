/**
 * `npm run bench:worker`: the asynchronous export's worker, bundled as deployed, on 1 GB and 5 GB
 * CSVs: wall time, CPU seconds and peak RSS, then the time Lambda would take at each memory size
 * and the largest CSV the worker's 15 minutes take (the same model as docs/benchmarks.md's for
 * the synchronous path). Writes bench/.data/worker.md, or docs/benchmarks-worker.md with
 * --update-docs. The 5 GB run takes minutes (and ~10 GB of disk while it runs).
 *
 * Self-contained on purpose: bench/run.ts and its build belong to the main bench; this builds
 * the worker's bundle with the same esbuild settings as infra/constructs/bundled-node-function.ts.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import { DEFAULTS, WORKER } from "../lambdas/lib/contract.js";
import type { RunningManifest } from "../lambdas/lib/exports/export-document.js";
import { exportKey, manifestKey, newExportId } from "../lambdas/lib/exports/export-document.js";
import { HOUSE } from "./build.js";
import { csvOfSize } from "./data.js";
import {
  BUCKET,
  certificateFiles,
  childEnv,
  FUNCTION_MEMORY_MB,
  log,
  runChild,
  startServers,
} from "./harness.js";
import { describeMachine, fixed, MB } from "./stats.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA = join(ROOT, "bench/.data");
const SIZES_MB = (process.env.BENCH_WORKER_SIZES_MB ?? "1000,5000").split(",").map(Number);
/** The worker's and the export function's memory in the stack (infra/config.ts's defaults). */
const WORKER_MEMORY_MB = FUNCTION_MEMORY_MB.worker;
const EXPORT_MEMORY_MB = FUNCTION_MEMORY_MB.export;
/** Lambda gives a full vCPU at 1,769 MB and CPU in proportion below it. */
const FULL_VCPU_MB = 1769;
/** As docs/benchmarks.md: Graviton against this CPU, S3 latency per part, noisy neighbours. */
const MARGIN = 1.5;
/** Wavy's CDN, as docs/benchmarks.md assumes: the wire is a floor, not the limit. */
const WIRE_MB_PER_S = 100;

async function bundleWorker(): Promise<string> {
  const file = join(DATA, "bundles/export-worker-child/index.mjs");
  await build({
    ...HOUSE,
    entryPoints: [join(ROOT, "bench/children/worker.ts")],
    outfile: file,
  });
  return file;
}

interface Run {
  megabytes: number;
  bytes: number;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const script = await bundleWorker();
  const servers = await startServers(await certificateFiles(join(DATA, "tls")));
  const runs: Run[] = [];
  try {
    for (const megabytes of SIZES_MB) {
      const file = await csvOfSize(DATA, megabytes);
      await servers.serve(file.path, true, "http");
      // The running manifest the export function would have stored before invoking the worker.
      const createdAt = new Date();
      const exportId = newExportId(createdAt);
      const target = { customerId: "42", subAccountId: null };
      const manifest: RunningManifest = {
        exportId,
        trigger: "request",
        ...target,
        bucket: BUCKET,
        key: exportKey(target, exportId, createdAt),
        createdAt: createdAt.toISOString(),
        status: "running",
        deadlineAt: new Date(createdAt.getTime() + WORKER.maxTimeoutSeconds * 1000).toISOString(),
      };
      await servers.s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: manifestKey(exportId),
          Body: JSON.stringify(manifest),
        }),
      );
      log(`worker ${megabytes} MB: starting`);
      // Plain HTTP, as this bench was measured, and no process settings of the export
      // function's (the worker has none): the runtime's own heap flags for the worker's memory.
      const figures = await runChild(
        script,
        { ...childEnv(servers, "http"), BENCH_EXPORT_ID: exportId },
        [],
        FUNCTION_MEMORY_MB.worker,
      );
      const detail = figures.detail as { key: string; rows: number; bytes: number; sha256: string };
      if (
        detail.rows !== file.rows ||
        detail.bytes !== file.bytes ||
        detail.sha256 !== file.sha256
      ) {
        throw new Error(`the worker reported ${JSON.stringify(detail)} for ${file.path}`);
      }
      // The stored object itself must hash to the source's sha256.
      const object = await servers.s3.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: detail.key }),
      );
      const hash = createHash("sha256");
      for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
      if (hash.digest("hex") !== file.sha256) throw new Error(`stored ${detail.key} differs`);
      await servers.s3.send(
        new DeleteObjectsCommand({
          Bucket: BUCKET,
          Delete: { Objects: [{ Key: detail.key }, { Key: manifestKey(exportId) }] },
        }),
      );
      const run: Run = {
        megabytes,
        bytes: file.bytes,
        wallS: figures.wallMs / 1000,
        cpuS: (figures.cpuUserMs + figures.cpuSystemMs) / 1000,
        peakRssMb: figures.peakRssMb,
      };
      log(
        `worker ${megabytes} MB: ${fixed(run.wallS)} s, cpu ${fixed(run.cpuS)} s, peak RSS ${fixed(run.peakRssMb)} MB`,
      );
      runs.push(run);
    }
  } finally {
    servers.stop();
  }
  const report = render(runs, machine);
  const target = process.argv.includes("--update-docs")
    ? join(ROOT, "docs/benchmarks-worker.md")
    : join(DATA, "worker.md");
  mkdirSync(join(target, ".."), { recursive: true });
  writeFileSync(target, report);
  console.log(report);
  log(`wrote ${target}`);
}

/** Bytes a CSV may have to be copied in `seconds` at `memoryMb`, CPU- or wire-bound. */
function largestCsv(memoryMb: number, seconds: number, cpuPerGb: number): number {
  const share = Math.min(1, memoryMb / FULL_VCPU_MB);
  return Math.min((seconds / MARGIN) * share * (1e9 / cpuPerGb), seconds * WIRE_MB_PER_S * MB);
}

/** Lambda seconds at `memoryMb` for `cpuS` of CPU on this machine and `bytes` on the wire. */
function lambdaSeconds(cpuS: number, bytes: number, memoryMb: number): number {
  const share = Math.min(1, memoryMb / FULL_VCPU_MB);
  return Math.max(bytes / MB / WIRE_MB_PER_S, (cpuS / share) * MARGIN);
}

function render(runs: Run[], machine: ReturnType<typeof describeMachine>): string {
  const budgetS = WORKER.maxTimeoutSeconds - WORKER.safetyMarginMs / 1000;
  const largest = runs.at(-1);
  const cpuPerGb = largest ? largest.cpuS / (largest.bytes / 1e9) : Number.NaN;
  const rows = runs
    .map(
      (run) =>
        `| ${fixed(run.bytes / 1e9, 2)} GB | ${fixed(run.wallS)} | ${fixed(run.cpuS)} | ${fixed(run.cpuS / (run.bytes / 1e9), 2)} | ${fixed(run.peakRssMb)} | ${fixed(lambdaSeconds(run.cpuS, run.bytes, WORKER_MEMORY_MB), 0)} |`,
    )
    .join("\n");
  const sizes = [128, 256, 512, 1024, 1769, 3008]
    .map((memoryMb) => {
      const share = Math.min(1, memoryMb / FULL_VCPU_MB);
      const cpuBound = (budgetS / MARGIN) * share * (1e9 / cpuPerGb);
      const wireBound = budgetS * WIRE_MB_PER_S * MB;
      const takes = Math.min(cpuBound, wireBound);
      const capped = Math.min(takes, 5 * 1024 ** 3);
      return `| ${memoryMb} | ${fixed(share, 2)} | ${fixed(takes / 1e9, 1)} GB | ${fixed(capped / 1e9, 2)} GB${takes > 5 * 1024 ** 3 ? " (MAX_CSV_BYTES)" : ""} |`;
    })
    .join("\n");
  return `# The export worker (npm run bench:worker)

Written by \`npm run bench:worker\` on ${machine.date}. Machine: ${machine.cpus} CPUs, ${machine.cpuModel},
Node ${machine.node}. One run per size (the 5 GB one takes minutes); the worker runs from its
bundle (the deployed esbuild settings) in a fresh Node process against the bench's Wavy simulator
and s3rver, each in its own process, over plain HTTP on loopback. The stored object is read back
and its sha256 checked against the source's.

| CSV | wall s | CPU s | CPU s per GB | peak RSS MB | Lambda s at ${WORKER_MEMORY_MB} MB (model) |
|---|---|---|---|---|---|
${rows}

**Model** (as docs/benchmarks.md's for the synchronous path): Lambda gives CPU in proportion to
memory (${FULL_VCPU_MB} MB = 1 vCPU), so the worker's CPU work takes CPU s ÷ (memory ÷ ${FULL_VCPU_MB}) × ${MARGIN}
(the margin for Graviton, S3 latency per part and neighbours), never less than the wire at
${WIRE_MB_PER_S} MB/s. The worker has ${WORKER.maxTimeoutSeconds} s less its ${WORKER.safetyMarginMs / 1000} s safety margin = ${budgetS} s.
Largest CSV the worker takes, from the CPU per GB of the largest run (${fixed(cpuPerGb, 2)} s/GB):

| memory MB | vCPU share | CSV in ${budgetS} s | accepted (MAX_CSV_BYTES = 5 GiB) |
|---|---|---|---|
${sizes}

**Largest CSV of each path** at its deployed memory, same model and CPU per GB:

| path | memory | time | largest CSV |
|---|---|---|---|
| synchronous (\`POST /exports\`) | ${EXPORT_MEMORY_MB} MB | ${DEFAULTS.requestBudgetMs / 1000} s request budget | ${fixed(largestCsv(EXPORT_MEMORY_MB, DEFAULTS.requestBudgetMs / 1000, cpuPerGb) / 1e9, 2)} GB (past it: 504, retry with \`Prefer: respond-async\`) |
| asynchronous (the worker) | ${WORKER_MEMORY_MB} MB | ${budgetS} s | ${fixed(Math.min(largestCsv(WORKER_MEMORY_MB, budgetS, cpuPerGb), DEFAULTS.maxCsvBytes) / 1e9, 2)} GB (MAX_CSV_BYTES caps it; the model allows ${fixed(largestCsv(WORKER_MEMORY_MB, budgetS, cpuPerGb) / 1e9, 1)} GB) |

Peak RSS was ${runs.map((run) => `${fixed(run.peakRssMb)} MB at ${fixed(run.bytes / 1e9, 0)} GB`).join(", ")}: the part pools are fixed,
and what grows is V8's heap without the export function's small young generation (the worker
has no NODE_OPTIONS, so it runs on the heap flags Lambda's runtime gives a function of its
memory: 25 MB semi-spaces at 512 MB) and the footer's row-group list. ${WORKER_MEMORY_MB} MB holds the largest 1.5 times
(${fixed(Math.max(...runs.map((run) => run.peakRssMb)) * 1.5, 0)} MB), so memory is chosen for CPU:
**${WORKER_MEMORY_MB} MB** takes MAX_CSV_BYTES within the budget at the same cost per GB as any larger
size (the work is CPU-bound, so doubling memory halves the time and keeps GB-seconds).
`;
}

await main();
