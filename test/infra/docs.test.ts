import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ALL_SUB_ACCOUNTS, DIMENSION, METRIC, SERVICE_NAME } from "../../lambdas/lib/contract.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

/** The text of one `## ` section of a Markdown file. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

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
