import { type Dirent, readdirSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  ALL_SUB_ACCOUNTS,
  DIMENSION,
  EXPORT_METRIC,
  INTELLIGENCE_METRIC,
  METRIC,
  SERVICE_NAME,
  STACK_OUTPUT,
  WINDOW_METRIC,
} from "../../lambdas/lib/contract.js";
import { readRepoFile as read, section } from "../support/markdown.js";
import { SYNTH_TIMEOUT_MS, synth, TEST_TARGETS } from "./synth.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

describe("contract.md's metrics section", () => {
  // CloudWatch matches a metric only by its complete dimension set: a query or alarm built
  // from a partial list finds nothing.
  it("names every metric and the exact dimension set, service and its value included", () => {
    const metrics = section(read("docs/contract.md"), "Metrics");
    for (const name of [
      ...Object.values(METRIC),
      ...Object.values(EXPORT_METRIC),
      ...Object.values(WINDOW_METRIC),
    ])
      expect(metrics, name).toContain(`| \`${name}\` |`);
    for (const name of Object.values(DIMENSION)) expect(metrics).toContain(`| \`${name}\` |`);
    expect(metrics).toContain(`| \`${DIMENSION.service}\` | \`${SERVICE_NAME.counter}\``);
    expect(metrics).toContain(`or \`${ALL_SUB_ACCOUNTS}\` |`);
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

describe("contract.md's Running locally", () => {
  it("lists every variable npm start reads (local/settings.ts), with its default", () => {
    const settings = read("local/settings.ts");
    const table = section(read("docs/contract.md"), "Running locally");
    const variables = [
      ...[...settings.matchAll(/digits\(env, "([A-Z_]+)", (\d+)/g)].map((m) => [m[1], m[2]]),
      ...[...settings.matchAll(/env\.([A-Z_]+)/g)].map((m) => [m[1], undefined]),
    ] as [string, string | undefined][];
    expect(variables.length).toBeGreaterThanOrEqual(8);
    for (const [name, fallback] of variables) {
      const row = table.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      if (fallback !== undefined) expect(row, name).toMatch(new RegExp(`\\| \`${fallback}\` \\|$`));
    }
  });
});

/**
 * Issue 22: the README is a quick start, a picture and links; docs/contract.md is the one
 * reference. A README that lists routes, metrics, error codes, outputs or key layouts again
 * drifts from the code the day one of them changes, so it may name none of them, except the
 * routes its runnable curl examples call (test/integration/local-start.test.ts runs those).
 */
describe("README stays a quick start (issue 22)", () => {
  const contract = read("docs/contract.md");
  const errorCodes = [...section(contract, "Errors").matchAll(/^\| \d{3} \| `([A-Z_]+)` \|/gm)].map(
    (match) => match[1] as string,
  );
  const metricNames = [
    ...Object.values(METRIC),
    ...Object.values(EXPORT_METRIC),
    ...Object.values(WINDOW_METRIC),
    ...Object.values(INTELLIGENCE_METRIC),
  ];

  /** What a reference would restate; the README must hold none of it. */
  function restated(markdown: string): string[] {
    const prose = markdown
      // The architecture picture labels its edges with routes; it is a picture, not a table.
      .replace(/```mermaid\n[\s\S]*?```/g, "")
      // A runnable example: a curl line and the lines it continues on.
      .replace(/^curl (?:[^\n]*\\\n)*[^\n]*$/gm, "");
    const word = (name: string) => new RegExp(`\\b${name}\\b`).test(markdown);
    return [
      ...[...prose.matchAll(/\b(?:GET|POST|PUT|PATCH|DELETE|HEAD) \/[^\s`|)]*/g)].map((m) => m[0]),
      ...[...prose.matchAll(/\b[a-z-]+\/customerId=[^\s`]*/g)].map((m) => m[0]),
      ...metricNames.filter(word),
      ...errorCodes.filter(word),
      ...Object.values(STACK_OUTPUT).filter(word),
    ];
  }

  it("finds what it looks for: contract.md restates routes, metrics, codes, outputs and keys", () => {
    expect(errorCodes).toContain("INVALID_REQUEST");
    const found = restated(contract);
    for (const sample of [
      "POST /exports",
      "GET /windows",
      "OpenSessions",
      "UPSTREAM_TIMEOUT",
      STACK_OUTPUT.apiUrl,
    ])
      expect(
        found.some((hit) => hit.startsWith(sample)),
        sample,
      ).toBe(true);
    expect(found.some((hit) => hit.startsWith("exports/customerId="))).toBe(true);
  });

  it("names no route outside its curl examples, no metric, error code, stack output or key layout", () => {
    expect(restated(read("README.md"))).toEqual([]);
  });

  it("has every section the code and the docs cite by name or by anchor", () => {
    const readme = read("README.md");
    const headings = [...readme.matchAll(/^#{2,3} (.+)$/gm)].map((m) => (m[1] as string).trim());
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replaceAll(" ", "-");
    const cited: string[] = [];
    for (const file of sourceFiles([
      "lambdas",
      "infra",
      "local",
      "dev",
      "scripts",
      "bench",
      "test",
      "docs",
    ])) {
      const text = read(file);
      for (const m of text.matchAll(/README(?:\.md)?(?:, |'s )"?([A-Z][A-Za-z ]*[a-z])"?/g))
        cited.push(`${file}: ${m[1]}`);
      for (const m of text.matchAll(/README\.md#([a-z0-9-]+)/g)) cited.push(`${file}: #${m[1]}`);
    }
    expect(cited.length).toBeGreaterThan(0);
    for (const citation of cited) {
      const name = citation.slice(citation.indexOf(": ") + 2);
      const found = name.startsWith("#")
        ? headings.some((heading) => `#${slug(heading)}` === name)
        : headings.some((heading) => heading.toLowerCase() === name.toLowerCase());
      expect(found, citation).toBe(true);
    }
  });

  it("links the reference documents, each of which exists", () => {
    const readme = read("README.md");
    const linked = [...readme.matchAll(/\]\((docs\/[a-z-]+\.md)[#)]/g)].map((m) => m[1] as string);
    for (const doc of ["docs/contract.md", "docs/architecture.md", "docs/deploying.md"])
      expect(linked).toContain(doc);
    for (const doc of new Set(linked)) expect(() => read(doc), doc).not.toThrow();
  });
});

/** Text files under the given top-level folders, as paths from the repository's root. */
function sourceFiles(roots: string[]): string[] {
  return roots.flatMap((root) =>
    (
      readdirSync(new URL(`../../${root}`, import.meta.url), {
        recursive: true,
        withFileTypes: true,
      }) as Dirent[]
    )
      .filter((entry) => entry.isFile() && /\.(ts|md)$/.test(entry.name))
      .map((entry) => `${relative(repoRoot, entry.parentPath)}/${entry.name}`)
      .filter((path) => !path.includes("node_modules") && !path.includes("/.")),
  );
}
