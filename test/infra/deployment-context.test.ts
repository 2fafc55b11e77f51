import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/build.js";
import { ConfigError } from "../../infra/config.js";
import { closestKey, resolveDeploymentContext } from "../../infra/deployment-context.js";
import { SYNTH_TIMEOUT_MS, synth } from "./synth.js";

/** cdk.json's context: the feature flags every synth runs with. */
const flags = (
  JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
    context: Record<string, unknown>;
  }
).context;

/** A project folder holding only the given stage files. */
function projectWith(stages: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "wavy-stages-"));
  mkdirSync(join(dir, "stages"));
  for (const [name, body] of Object.entries(stages))
    writeFileSync(
      join(dir, "stages", `${name}.json`),
      typeof body === "string" ? body : JSON.stringify(body),
    );
  return dir;
}

function problem(context: Record<string, unknown>, dir = projectWith({})): string {
  try {
    resolveDeploymentContext(context, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("deployment settings: stage files and unknown keys", () => {
  it("refuses a misspelt -c key, naming the key it most likely meant", () => {
    const message = problem({ target: "[]", alarmEmial: "ops@example.com" });
    expect(message).toContain(
      'context "target" is not a wavy-sessions setting; did you mean "targets"?',
    );
    expect(message).toContain(
      '"alarmEmial" is not a wavy-sessions setting; did you mean "alarmEmail"?',
    );
  });

  it("suggests nothing for a key far from every setting", () => {
    expect(closestKey("region")).toBeUndefined();
    expect(problem({ region: "us-east-1" })).toMatch(/"region" is not a wavy-sessions setting$/m);
  });

  it("leaves the CDK's own keys alone (feature flags, toolkit keys)", () => {
    const settings = resolveDeploymentContext(
      {
        "@aws-cdk/core:checkSecretUsage": true,
        "aws:cdk:enable-path-metadata": true,
        "cli-telemetry": false,
      },
      projectWith({}),
    );
    expect(settings.settings).toEqual({});
  });

  it("reads the stage file, so a plain deploy keeps its targets", () => {
    const dir = projectWith({ default: { targets: [{ customerId: "42" }] } });
    const context = resolveDeploymentContext({}, dir);
    expect(context.settings).toEqual({ targets: [{ customerId: "42" }] });
    expect(context.notKept).toEqual([]);
    expect(context.stageFile).toBe(join("stages", "default.json"));
  });

  it("selects another stage with -c stage=NAME, and refuses a stage with no file", () => {
    const dir = projectWith({ staging: { stackName: "WavyStaging" } });
    expect(resolveDeploymentContext({ stage: "staging" }, dir).settings).toEqual({
      stackName: "WavyStaging",
    });
    expect(problem({ stage: "prod" }, dir)).toContain(
      "names stages/prod.json, which does not exist",
    );
    expect(problem({ stage: "../etc/passwd" }, dir)).toContain('context "stage" must be a name');
  });

  it("refuses an unknown key in a stage file, and a file that is not one JSON object", () => {
    expect(problem({}, projectWith({ default: { targetz: [] } }))).toContain(
      'stages/default.json "targetz" is not a wavy-sessions setting; did you mean "targets"?',
    );
    expect(problem({}, projectWith({ default: "[1]" }))).toContain("must hold one JSON object");
    expect(problem({}, projectWith({ default: "{" }))).toContain("is not valid JSON");
  });

  it("lets -c override the file for one run and says the next plain deploy will not keep it", () => {
    const dir = projectWith({ default: { targets: [{ customerId: "42" }], exportMemoryMb: 512 } });
    const context = resolveDeploymentContext(
      { targets: '[{"customerId":"7"}]', exportMemoryMb: 512 },
      dir,
    );
    expect(context.settings.targets).toBe('[{"customerId":"7"}]');
    expect(context.notKept).toEqual(["targets"]);
  });

  it(
    "warns at synth when the deployment has no targets, and when -c settings are not kept",
    () => {
      const { stack } = buildApp(
        { context: { ...flags, "aws:cdk:bundling-stacks": [], exportMemoryMb: 1024 } },
        projectWith({}),
      );
      const annotations = Annotations.fromStack(stack);
      annotations.hasWarning("*", Match.stringLikeRegexp("^No targets \\(no stage file\\)"));
      annotations.hasWarning("*", Match.stringLikeRegexp("^exportMemoryMb given with -c"));

      const kept = buildApp(
        { context: { ...flags, "aws:cdk:bundling-stacks": [] } },
        projectWith({ default: { targets: [{ customerId: "42" }] } }),
      );
      const quiet = Annotations.fromStack(kept.stack);
      expect(quiet.findWarning("*", Match.stringLikeRegexp("^No targets"))).toEqual([]);
      expect(quiet.findWarning("*", Match.stringLikeRegexp("given with -c"))).toEqual([]);
      // The target from the stage file has its counter schedule.
      Template.fromStack(kept.stack).hasResourceProperties("AWS::Scheduler::Schedule", {
        Target: Match.objectLike({ Input: Match.stringLikeRegexp('"customerId":"42"') }),
      });
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe("tear-down", () => {
  it(
    "a throwaway deployment (retain=false) deletes every resource, the buckets' objects included",
    () => {
      const { template } = synth({ retain: "false" }, { cfnValidation: false });
      const resources = Object.entries(template.toJSON().Resources as Record<string, Resource>);
      const kept = resources.filter(([, r]) => r.DeletionPolicy && r.DeletionPolicy !== "Delete");
      expect(kept.map(([id]) => id)).toEqual([]);
      // Both buckets are emptied first: CloudFormation cannot delete a bucket holding objects.
      template.resourceCountIs("Custom::S3AutoDeleteObjects", 2);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    "the production default keeps the user's data: buckets, secret and log groups are retained",
    () => {
      const { template } = synth({}, { cfnValidation: false });
      for (const type of ["AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"])
        for (const resource of Object.values(template.findResources(type)))
          expect(resource.DeletionPolicy, type).toBe("Retain");
      template.resourceCountIs("Custom::S3AutoDeleteObjects", 0);
    },
    SYNTH_TIMEOUT_MS,
  );
});

interface Resource {
  Type: string;
  DeletionPolicy?: string;
}

describe("log level", () => {
  it(
    "sets every function's POWERTOOLS_LOG_LEVEL from logLevel, INFO by default, and refuses others",
    () => {
      const levels = (context: Record<string, unknown>) =>
        Object.values(
          synth(context, { cfnValidation: false }).template.findResources("AWS::Lambda::Function"),
        ).map(
          (fn) =>
            (fn.Properties.Environment as { Variables: Record<string, unknown> } | undefined)
              ?.Variables.POWERTOOLS_LOG_LEVEL,
        );
      const debug = levels({ logLevel: "DEBUG" });
      expect(debug.length).toBeGreaterThan(4);
      expect(new Set(debug)).toEqual(new Set(["DEBUG"]));
      expect(new Set(levels({}))).toEqual(new Set(["INFO"]));
      expect(() => synth({ logLevel: "verbose" }, { cfnValidation: false })).toThrow(
        /context "logLevel" must be one of DEBUG, INFO, WARN, ERROR/,
      );
    },
    SYNTH_TIMEOUT_MS,
  );
});
