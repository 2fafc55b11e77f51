import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { distance } from "fastest-levenshtein";
import { CONTEXT_KEYS, ConfigError } from "./config.js";

/**
 * Where a deployment's settings come from (docs/deploying.md, "Settings"): a stage file the user
 * keeps in their repository, `stages/<stage>.json`, read on every synth, so a plain
 * `npx cdk deploy` deploys what the file says and never drops the targets a previous
 * `-c targets=…` gave. `-c key=value` still overrides one run, with a warning that the next plain
 * deploy will not keep it.
 *
 * Every key is checked: a key this app does not read is an error naming it and the closest key it
 * knows (`-c alarmEmial=…` used to synthesise, silently, a stack with no alarm subscription).
 */

/** Selects the stage file; `-c stage=staging` reads stages/staging.json. */
export const STAGE_KEY = "stage";
export const DEFAULT_STAGE = "default";
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Keys of the CDK toolkit and library themselves, which live in the same context. */
function belongsToCdk(key: string): boolean {
  // Feature flags (`@aws-cdk/...`), toolkit keys (`aws:cdk:...`, `cdk-...`), lookups' cache
  // entries (`availability-zones:account=…`): all carry an "@" or ":" or the toolkit's prefixes.
  return (
    key.startsWith("@") ||
    key.includes(":") ||
    key.startsWith("cdk-") ||
    key === "cli-telemetry" ||
    key === "acknowledged-issue-numbers"
  );
}

const KNOWN_KEYS: readonly string[] = [...CONTEXT_KEYS, STAGE_KEY];

/** The known key a misspelt one most likely meant, if any is close enough to suggest. */
export function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const known of KNOWN_KEYS) {
    const d = distance(key.toLowerCase(), known.toLowerCase());
    if (best === undefined || d < best.distance) best = { key: known, distance: d };
  }
  // A third of the key's length: "alarmEmial" → alarmEmail, "target" → targets, but not
  // "region" → anything.
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function unknownKeyProblem(key: string, where: string): string {
  const near = closestKey(key);
  return `  - ${where} "${key}" is not a wavy-sessions setting${near ? `; did you mean "${near}"?` : ""}`;
}

export interface DeploymentContext {
  /** The stage whose file was read. */
  stage: string;
  /** The file's path, relative to the project, or undefined when the default stage has none. */
  stageFile: string | undefined;
  /** The settings: the stage file's, overridden by context given on the command line. */
  settings: Record<string, unknown>;
  /** Keys given with `-c` (or cdk.json) that the stage file does not keep. */
  notKept: string[];
}

/**
 * Merges the stage file with the app's context. `context` is `app.node.getAllContext()`: cdk.json's
 * `context` block and `-c` options together (the CDK does not tell them apart).
 */
export function resolveDeploymentContext(
  context: Record<string, unknown>,
  projectDir: string = process.cwd(),
): DeploymentContext {
  const problems: string[] = [];
  const given = Object.entries(context).filter(([key]) => !belongsToCdk(key));
  for (const [key] of given)
    if (!KNOWN_KEYS.includes(key)) problems.push(unknownKeyProblem(key, "context"));

  const stageValue = context[STAGE_KEY] ?? DEFAULT_STAGE;
  if (typeof stageValue !== "string" || !STAGE_NAME.test(stageValue))
    throw new ConfigError(
      `Invalid wavy-sessions configuration (see docs/deploying.md):\n  - context "stage" must be a name of letters, digits, "-" and "_" (the file stages/<stage>.json)`,
    );
  const stage = stageValue;
  const relative = join("stages", `${stage}.json`);
  const path = join(projectDir, relative);
  let fromFile: Record<string, unknown> = {};
  if (existsSync(path)) {
    fromFile = readStageFile(path, relative, problems);
  } else if (stage !== DEFAULT_STAGE) {
    problems.push(
      `  - context "stage" names ${relative}, which does not exist: copy stages/${DEFAULT_STAGE}.json`,
    );
  }

  if (problems.length > 0)
    throw new ConfigError(
      `Invalid wavy-sessions configuration (see docs/deploying.md):\n${problems.join("\n")}`,
    );

  const overrides = Object.fromEntries(given.filter(([key]) => key !== STAGE_KEY));
  const notKept = Object.keys(overrides).filter(
    (key) => JSON.stringify(overrides[key]) !== JSON.stringify(fromFile[key]),
  );
  return {
    stage,
    stageFile: existsSync(path) ? relative : undefined,
    settings: { ...fromFile, ...overrides },
    notKept,
  };
}

function readStageFile(
  path: string,
  relative: string,
  problems: string[],
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    problems.push(`  - ${relative} is not valid JSON: ${(error as Error).message}`);
    return {};
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`  - ${relative} must hold one JSON object of settings`);
    return {};
  }
  const settings = parsed as Record<string, unknown>;
  // "$comment" lets the file explain itself; JSON has no comments.
  for (const key of Object.keys(settings))
    if (key !== "$comment" && (key === STAGE_KEY || !KNOWN_KEYS.includes(key)))
      problems.push(unknownKeyProblem(key, relative));
  const { $comment: _comment, ...rest } = settings;
  return rest;
}
