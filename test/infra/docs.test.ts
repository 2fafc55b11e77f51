import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ALL_SUB_ACCOUNTS,
  DIMENSION,
  METRIC,
  SERVICE_NAME,
  STACK_OUTPUT,
} from "../../lambdas/lib/contract.js";
import { readRepoFile as read, section } from "../support/markdown.js";
import { SYNTH_TIMEOUT_MS, synth, TEST_TARGETS } from "./synth.js";

describe("README's metrics section", () => {
  // CloudWatch matches a metric only by its complete dimension set: a query or alarm built
  // from a partial list finds nothing.
  it("names every metric and the exact dimension set, service and its value included", () => {
    const metrics = section(read("README.md"), "Metrics");
    for (const name of Object.values(METRIC)) expect(metrics).toContain(`| \`${name}\` |`);
    for (const name of Object.values(DIMENSION)) expect(metrics).toContain(`| \`${name}\` |`);
    expect(metrics).toContain(`| \`${DIMENSION.service}\` | \`${SERVICE_NAME.counter}\` |`);
    expect(metrics).toContain(`\`${ALL_SUB_ACCOUNTS}\` when it has none`);
    expect(metrics).toContain(`Name=${DIMENSION.service},Value=${SERVICE_NAME.counter}`);
  });
});

describe("docs that stay true (issue 22)", () => {
  it(
    "contract.md's outputs table lists exactly the stack's outputs",
    () => {
      const table = section(read("docs/contract.md"), "Stack outputs");
      const listed = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
      expect(new Set(listed)).toEqual(new Set(Object.values(STACK_OUTPUT)));
      // With targets, so FirstTarget exists too; every output synthesised is in STACK_OUTPUT.
      const { template } = synth({ targets: TEST_TARGETS }, { cfnValidation: false });
      // Less the two each RestApi L2 adds by itself (`<Api>Endpoint<hash>`), which the contract
      // names as such.
      const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>).filter(
        (key) => !/^(ExportApi|WebhooksApi)Endpoint[0-9A-F]{8}$/.test(key),
      );
      expect(new Set(outputs)).toEqual(new Set(Object.values(STACK_OUTPUT)));
    },
    SYNTH_TIMEOUT_MS,
  );

  it("README's layout names every handler folder, every domain folder and every top-level folder", () => {
    const layout = section(read("README.md"), "Layout");
    const folders = (path: string) =>
      readdirSync(new URL(`../../${path}`, import.meta.url), { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
        .map((entry) => entry.name);
    for (const handler of folders("lambdas").filter((name) => name !== "lib"))
      expect(layout, handler).toContain(`lambdas/${handler}/`);
    for (const domain of folders("lambdas/lib")) expect(layout, domain).toContain(`${domain}/`);
    for (const top of folders(".").filter((name) => name !== "node_modules" && name !== "cdk.out"))
      expect(layout, top).toContain(`${top}/`);
  });
});
