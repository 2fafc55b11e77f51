import { describe, expect, it } from "vitest";
import { ALL_SUB_ACCOUNTS, DIMENSION, METRIC, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import { readRepoFile as read, section } from "../support/markdown.js";

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
