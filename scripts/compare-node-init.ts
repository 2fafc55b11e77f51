/**
 * Cold start of the deployed bundles under two (or more) Node binaries, for a runtime bump
 * (docs/benchmarks.md, "Node 24"): bench/run.ts's init measurement (a fresh Node as Lambda starts
 * it, `import()` of the bundle, the export's process settings), each binary given bundles built
 * with the house settings for its own esbuild target, and the binaries interleaved run by run so
 * the machine's drift hits them alike. Besides the wall time it reports the CPU time (user +
 * system) of the import, which a loaded machine inflates far less.
 *
 *   npm install --prefix /tmp/node22 node@22    # any Node from npm's `node` package
 *   npm exec -- node --import tsx scripts/compare-node-init.ts 31 \
 *     node22=/tmp/node22/node_modules/node/bin/node:node22 \
 *     node24=node_modules/node/bin/node:node24
 *
 * Arguments: the runs per bundle and binary, then `label=<node binary>:<esbuild target>` each.
 */
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildBundles, HOUSE } from "../bench/build.js";
import { FUNCTION_MEMORY_MB, LAMBDA_ENV } from "../bench/harness.js";
import { lambdaNodeArgs } from "../bench/lambda-runtime.js";
import { median } from "../bench/stats.js";
import { EXPORT_PROCESS_ENVIRONMENT } from "../lambdas/lib/contract.js";

/** bench/children/init-probe.ts, plus the CPU time: `node -e PROBE <bundle>`. */
const PROBE = `
import { pathToFileURL } from "node:url";
const cpu = process.cpuUsage();
const started = performance.now();
await import(pathToFileURL(process.argv[1]).href);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000 }));
process.exit(0);`;

const NAMES = ["s3-client-only", "export-sessions", "count-sessions"] as const;
const execFileAsync = promisify(execFile);

async function main(): Promise<void> {
  const [runsArg, ...specs] = process.argv.slice(2);
  const runs = Number(runsArg);
  if (!Number.isInteger(runs) || runs < 1 || specs.length === 0) {
    throw new Error("usage: compare-node-init.ts <runs> <label>=<node binary>:<target>...");
  }
  const nodes = [];
  for (const spec of specs) {
    const [, label, bin, target] = /^([^=]+)=(.+):([a-z0-9]+)$/.exec(spec) ?? [];
    if (!label || !bin || !target) throw new Error(`not label=<node binary>:<target>: ${spec}`);
    HOUSE.target = target;
    const bundles = await buildBundles(join(tmpdir(), "wavy-sessions-node-init", label));
    nodes.push({ label, bin, bundles });
  }
  const wall = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let run = 0; run < runs; run++) {
    for (const { label, bin, bundles } of nodes) {
      for (const name of NAMES) {
        const env: Record<string, string> =
          name === "export-sessions" ? { ...EXPORT_PROCESS_ENVIRONMENT } : {};
        const args = lambdaNodeArgs(FUNCTION_MEMORY_MB.export, env.NODE_OPTIONS);
        const { stdout } = await execFileAsync(
          bin,
          [...args, "--input-type=module", "-e", PROBE, bundles[name].file],
          { env: { PATH: process.env.PATH, ...LAMBDA_ENV, ...env } },
        );
        const figures = JSON.parse(stdout) as { ms: number; cpuMs: number };
        const key = `${label} ${name}`;
        wall.set(key, [...(wall.get(key) ?? []), figures.ms]);
        cpu.set(key, [...(cpu.get(key) ?? []), figures.cpuMs]);
      }
    }
  }
  console.log(`| binary | bundle | wall ms (median) | CPU ms (median) | CPU ÷ S3-client-only |`);
  console.log(`|---|---|---|---|---|`);
  for (const { label } of nodes) {
    const base = median(cpu.get(`${label} s3-client-only`) ?? []);
    for (const name of NAMES) {
      const key = `${label} ${name}`;
      const cpuMs = median(cpu.get(key) ?? []);
      console.log(
        `| ${label} | ${name} | ${median(wall.get(key) ?? []).toFixed(1)} | ${cpuMs.toFixed(1)} | ${(cpuMs / base).toFixed(2)}× |`,
      );
    }
  }
  console.log(`(${runs} runs per bundle and binary, interleaved)`);
}

await main();
