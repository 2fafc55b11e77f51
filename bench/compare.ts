import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXPORT_NODE_OPTIONS } from "../lambdas/lib/contract.js";
import { buildBundles } from "./build.js";
import type { ChildFigures } from "./children/measure.js";
import { csvOfSize } from "./data.js";
import { certificateFiles, log, runBaseline, runExport, startServers } from "./harness.js";
import { fixed, median } from "./stats.js";

/**
 * `npm run bench:compare -- --size 1000 --runs 2 [--pipe] VARIANT...`: export variants side by
 * side in one invocation, interleaved run by run, over TLS as deployed, for trying one lever.
 * A VARIANT is `label=NODE_OPTIONS@bundle+NAME=value...`, every part optional: `base=`,
 * `ss1=--max-semi-space-size=1`, `q1=@/tmp/q1/export-child/index.mjs` (an export-child bundle
 * built from another tree, e.g. with bench/build.ts), `arenas8=+MALLOC_ARENA_MAX=8` (an
 * environment variable over the function's). NODE_OPTIONS defaults to the export function's
 * (`-`: none). `--pipe` adds the bare pipe. Prints CPU per GB, wall time and peak RSS, medians
 * of the interleaved runs.
 */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA = join(ROOT, "bench", ".data");

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const size = option("--size", 200);
const runs = option("--runs", 3);
const withPipe = process.argv.includes("--pipe");
const specs = process.argv
  .slice(2)
  .filter((arg, i, all) => !arg.startsWith("--") && !all[i - 1]?.match(/^--(size|runs)$/));

const bundles = await buildBundles(join(DATA, "bundles"));
const variants = (specs.length > 0 ? specs : ["current="]).map((spec) => {
  const [label = spec, rest = ""] = spec.split(/=(.*)/s);
  const [head = "", ...assignments] = rest.split("+");
  const [nodeOptions = "", bundle = ""] = head.split("@");
  const env = Object.fromEntries(assignments.map((a) => a.split(/=(.*)/s).slice(0, 2)));
  return {
    label,
    env: {
      NODE_OPTIONS: nodeOptions === "-" ? "" : nodeOptions || EXPORT_NODE_OPTIONS,
      ...env,
    } as Record<string, string>,
    bundle: bundle || bundles["export-child"].file,
  };
});
const file = await csvOfSize(join(DATA, "csv"), size);
const servers = await startServers(await certificateFiles(join(DATA, "tls")));

const figures = new Map<string, ChildFigures[]>();
const record = (label: string, run: ChildFigures) =>
  figures.set(label, [...(figures.get(label) ?? []), run]);
try {
  for (let run = 0; run < runs; run++) {
    for (const v of variants) {
      const options = { transport: "tls" as const, extraEnv: v.env };
      record(v.label, await runExport(servers, v.bundle, file, run, options));
    }
    if (withPipe) {
      const pipe = bundles["upload-baseline-child"].file;
      record("bare pipe", await runBaseline(servers, pipe, file, run, { transport: "tls" }));
    }
  }
} finally {
  servers.stop();
}

const gb = file.bytes / 1e9;
const rows = [...figures].map(([label, list]) => [
  label,
  fixed(median(list.map((r) => (r.cpuUserMs + r.cpuSystemMs) / 1000 / gb)), 2),
  list.map((r) => fixed((r.cpuUserMs + r.cpuSystemMs) / 1000 / gb, 2)).join(" "),
  fixed(median(list.map((r) => r.wallMs)) / 1000, 1),
  fixed(median(list.map((r) => r.peakRssMb))),
  fixed(median(list.map((r) => r.peakHeapMb))),
  fixed(median(list.map((r) => r.peakArrayBuffersMb))),
]);
log(`${size} MB over TLS, ${runs} interleaved runs each`);
console.log(
  ["variant", "CPU s/GB (median)", "runs", "wall s", "peak RSS MB", "heap MB", "buffers MB"].join(
    " | ",
  ),
);
for (const row of rows) console.log(row.join(" | "));
process.exit(0);
