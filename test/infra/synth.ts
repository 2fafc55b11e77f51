import { readFileSync } from "node:fs";
import { Annotations, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { buildApp } from "../../infra/build.js";
import type { WavySessionsStack } from "../../infra/wavy-sessions-stack.js";

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};

/** Two targets, one with a sub-account: enough to see one schedule and alarm per target. */
export const TEST_TARGETS = [
  { customerId: "42" },
  { customerId: "42", subAccountId: "7" },
  { customerId: "900000000000000001", subAccountId: "123" },
];

export interface Synthesised {
  stack: WavySessionsStack;
  template: Template;
  annotations: Annotations;
}

export interface SynthOptions {
  /** Run esbuild as `cdk synth` does (slow); otherwise CDK's `aws:cdk:bundling-stacks` skips it. */
  bundle?: boolean;
  /**
   * CDK's built-in CloudFormation linter (a WASM module, seconds per synth). stack.test.ts runs
   * it; other files turn it off to keep the suite fast. cdk-nag always runs.
   */
  cfnValidation?: boolean;
  /** Adds to the stack before it is synthesised. */
  extend?: (stack: WavySessionsStack) => unknown;
}

/**
 * Builds the app exactly as `cdk synth` does: cdk.json's context (feature flags and the
 * defaults), overridden by `context`, with the cdk-nag packs registered. Skipping bundling
 * changes only the asset hashes, not the template.
 */
export function synth(
  context: Record<string, unknown> = {},
  { bundle = false, cfnValidation = true, extend }: SynthOptions = {},
): Synthesised {
  const { stack } = buildApp({
    context: {
      ...cdkJson.context,
      ...context,
      ...(bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
    },
  });
  extend?.(stack);
  const previous = process.env.CDK_VALIDATION;
  if (!cfnValidation) process.env.CDK_VALIDATION = "false";
  try {
    // Template.fromStack synthesises the app once; Annotations reuses that assembly.
    const template = Template.fromStack(stack);
    return { stack, template, annotations: Annotations.fromStack(stack) };
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}

/** Synthesis is CPU-bound; on a loaded two-core machine it can take tens of seconds. */
export const SYNTH_TIMEOUT_MS = 180_000;

/**
 * What the two cdk-nag packs find under `scope` that no acknowledgment covers, one
 * `rule: construct path` line each. Through buildApp any such finding already fails synthesis;
 * running the packs directly (cdk-nag 3's validateScope) names them in a test's diff, and checks a
 * construct synthesised without buildApp.
 */
export function nagFindings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((violation) =>
        violation.violatingResources.map(
          (resource) =>
            `${violation.ruleName}: ${(resource as { constructPath?: string }).constructPath}`,
        ),
      ),
  );
}
