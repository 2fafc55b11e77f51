import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Stage } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { SYNTH_TIMEOUT_MS, synth } from "./synth.js";

interface Bundle {
  code: string;
  files: string[];
}

const bundles = new Map<string, Bundle>();

// The one synth that runs esbuild (locally, never Docker), as `cdk synth` and `cdk deploy` do.
beforeAll(() => {
  const { stack } = synth({}, { bundle: true, cfnValidation: false });
  // The assembly Template.fromStack already synthesised (Stage.synth caches it).
  const { directory } = Stage.of(stack)?.synth() ?? { directory: "" };
  const read = (file: string) => JSON.parse(readFileSync(join(directory, file), "utf8"));
  const template = read(`${stack.artifactId}.template.json`) as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
  };
  const manifest = read(`${stack.artifactId}.assets.json`) as {
    files: Record<string, { source: { path: string } }>;
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Lambda::Function") continue;
    const hash = String(resource.Properties.Code?.S3Key).replace(/\.zip$/, "");
    const assetDir = join(directory, String(manifest.files[hash]?.source.path));
    // ExportFunction (the API's) comes after ExportWorkerFunction in the template, so "export" ends
    // up the API's; the live windows' functions are bundled too but not checked here.
    const name = id.startsWith("Export") ? "export" : id.startsWith("Counter") ? "counter" : "";
    if (!name) continue;
    bundles.set(name, {
      code: readFileSync(join(assetDir, "index.mjs"), "utf8"),
      files: readdirSync(assetDir).sort(),
    });
  }
}, SYNTH_TIMEOUT_MS);

describe.each(["export", "counter"])("the %s function's bundle", (name) => {
  const bundle = () => {
    const found = bundles.get(name);
    if (!found) throw new Error(`no ${name} bundle`);
    return found;
  };

  it("is one ESM file with its source map", () => {
    expect(bundle().files).toEqual(["index.mjs", "index.mjs.map"]);
  });

  it("starts with the banner that gives bundled CommonJS a require()", () => {
    expect(bundle().code.startsWith("import { createRequire } from 'module';")).toBe(true);
  });

  it("carries its own AWS SDK and imports only Node built-ins", () => {
    const statement = /\bimport\s*(?:\{[^}]*\}|\*\s*as\s*[\w$]+|[\w$]+)\s*from\s*["']([^"']+)["']/g;
    const imports = [...bundle().code.matchAll(statement)].map((m) => m[1]);
    expect(imports).toContain("module");
    for (const specifier of imports) expect(specifier).toMatch(/^(node:|module$|[a-z_]+$)/);
    expect(imports.some((specifier) => specifier?.startsWith("@aws-sdk/"))).toBe(false);
  });
});

// Issue 5 (docs/benchmarks.md): module init time grows with what a bundle carries. Since issue 13
// the export reads each row's timestamp for its Parquet companion with the counter's one parser,
// which needs luxon for time zones; the bundle stays a single file well under a megabyte.
it("gives both bundles the counter's timestamp parser, and keeps the export under 1 MB", () => {
  const marker = "Invalid DateTime"; // luxon's name for an unparseable DateTime
  expect(bundles.get("counter")?.code).toContain(marker);
  expect(bundles.get("export")?.code).toContain(marker);
  // No Parquet writer: the companion is built by its own function (issue 19), not the export.
  expect(bundles.get("export")?.code).not.toContain("One chunk per column");
  expect(bundles.get("export")?.code).not.toContain("hyparquet");
  const bytes = Buffer.byteLength(bundles.get("export")?.code ?? "");
  expect(bytes).toBeLessThan(1024 * 1024);
});
