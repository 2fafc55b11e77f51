/**
 * npm run lint:cfn: AWS's CloudFormation linter on the synthesised templates of every variant
 * in cfn-variants.ts, so the template is checked by something we did not write (issue 9).
 *
 * cfn-lint is a Python tool, not an npm package, which is why this is its own script and not
 * part of `npm test`: `pip install cfn-lint` (or `pipx install cfn-lint`). Each variant is
 * synthesised offline into a temporary directory, without bundling (the asset hashes are all
 * that bundling changes in a template). Errors fail the run; warnings are printed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../infra/build.js";
import { CFN_VARIANTS } from "./cfn-variants.js";

// The regions the stack is most likely deployed to: Wavy serves Brazil; us-east-1 is the default.
const REGIONS = ["sa-east-1", "us-east-1"];

const cdkJson = JSON.parse(readFileSync(new URL("../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};

function synthesise(context: Record<string, unknown>, outdir: string): string {
  const { app, stack } = buildApp({
    outdir,
    context: { ...cdkJson.context, ...context, "aws:cdk:bundling-stacks": [] },
  });
  return app.synth().getStackArtifact(stack.artifactId).templateFullPath;
}

function main(): number {
  const version = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    console.error("cfn-lint is not installed: pip install cfn-lint (see README.md, Tests).");
    return 1;
  }
  console.log(`${version.stdout.trim()}, regions ${REGIONS.join(" ")}`);
  const workdir = mkdtempSync(join(tmpdir(), "wavy-sessions-cfn-lint-"));
  let failed = 0;
  try {
    for (const [name, context] of Object.entries(CFN_VARIANTS)) {
      const template = synthesise(context, join(workdir, name));
      const lint = spawnSync(
        "cfn-lint",
        ["--non-zero-exit-code", "error", "--regions", ...REGIONS, "--", template],
        { encoding: "utf8" },
      );
      const findings = `${lint.stdout}${lint.stderr}`.trim();
      const ok = lint.status === 0;
      if (!ok) failed += 1;
      console.log(`${ok ? "ok  " : "FAIL"} ${name} (${JSON.stringify(Object.keys(context))})`);
      if (findings) console.log(findings.replaceAll(template, `<${name}>`).replace(/^/gm, "     "));
    }
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
  const total = Object.keys(CFN_VARIANTS).length;
  console.log(
    failed ? `${failed} of ${total} templates have errors` : `${total} templates, no errors`,
  );
  return failed ? 1 : 0;
}

process.exitCode = main();
