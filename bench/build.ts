import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build } from "esbuild";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The house bundling of infra/constructs/bundled-node-function.ts (NodejsFunction's `bundling`):
 * ESM, minified, source maps, the SDK bundled, target node24, and the createRequire banner.
 */
export const HOUSE: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  sourcemap: true,
  mainFields: ["module", "main"],
  banner: {
    js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  },
  logLevel: "warning",
};

export interface Bundle {
  name: string;
  file: string;
  bytes: number;
  mapBytes: number;
  /** Output bytes by npm package (or `lambdas/`), largest first, from esbuild's metafile. */
  packages: { name: string; bytes: number }[];
}

/** What the bench bundles: the two deployed functions, the init baseline, and its children. */
export const ENTRIES = {
  "export-sessions": "lambdas/export-sessions/handler.ts",
  "count-sessions": "lambdas/count-sessions/handler.ts",
  "s3-client-only": "bench/children/s3-client-only.ts",
  "export-child": "bench/children/export.ts",
  "upload-baseline-child": "bench/children/upload-baseline.ts",
  "init-probe": "bench/children/init-probe.ts",
} as const;

export type BundleName = keyof typeof ENTRIES;

export async function buildBundles(outDir: string): Promise<Record<BundleName, Bundle>> {
  const built = {} as Record<BundleName, Bundle>;
  for (const [name, entry] of Object.entries(ENTRIES) as [BundleName, string][]) {
    // One folder per function with an index.mjs, as NodejsFunction's asset holds it.
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "index.mjs");
    const result = await build({
      ...HOUSE,
      entryPoints: [join(ROOT, entry)],
      outfile: file,
      metafile: true,
    });
    const packages = new Map<string, number>();
    for (const output of Object.values(result.metafile.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        const pkg =
          /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split("/")[0] ?? input;
        packages.set(pkg, (packages.get(pkg) ?? 0) + bytesInOutput);
      }
    }
    built[name] = {
      name,
      file,
      bytes: statSync(file).size,
      mapBytes: statSync(`${file}.map`).size,
      packages: [...packages.entries()]
        .map(([pkgName, bytes]) => ({ name: pkgName, bytes }))
        .sort((a, b) => b.bytes - a.bytes),
    };
  }
  return built;
}

/** A bench child without minification, so a CPU profile names its functions. */
export async function buildProfilingBundle(
  outDir: string,
  entry: "export-child" | "upload-baseline-child",
): Promise<string> {
  const file = join(outDir, `${entry}-profiling`, "index.mjs");
  await build({
    ...HOUSE,
    minify: false,
    entryPoints: [join(ROOT, ENTRIES[entry])],
    outfile: file,
  });
  return file;
}
