import { describe, expect, it } from "vitest";
import { NAMED_QUERIES, RAW_EXPORTS_TABLE, SESSIONS_TABLE } from "../../infra/athena-queries.js";
import { PARTITIONS, RAW_EXPORT_COLUMNS, SESSION_COLUMNS } from "../../lambdas/lib/contract.js";
import { readRepoFile as read, section } from "../support/markdown.js";

describe("docs/contract.md, Querying with Athena", () => {
  const text = section(read("docs/contract.md"), "Querying with Athena");

  it("names both tables, every column and every partition column the stack defines", () => {
    expect(text).toContain(`\`${RAW_EXPORTS_TABLE}\``);
    expect(text).toContain(`\`${SESSIONS_TABLE}\``);
    for (const { name } of [...RAW_EXPORT_COLUMNS, ...SESSION_COLUMNS]) {
      expect(text).toContain(`\`${name}\``);
    }
    for (const { column } of PARTITIONS) expect(text).toContain(`\`${column}\``);
  });

  it("shows each named query by its name, states the time-zone rule and what a query costs", () => {
    for (const query of NAMED_QUERIES) expect(text).toContain(`(${query.name})`);
    expect(text).toContain("America/Sao_Paulo");
    expect(text).toContain("$5 per TB");
    expect(text).toContain("10 MB minimum per query");
    expect(text).toContain("https://aws.amazon.com/athena/pricing/");
  });
});
