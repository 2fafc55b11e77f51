import {
  Annotations,
  App,
  type AppProps,
  Aspects,
  RemovalPolicies,
  Validations,
} from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { type ContextKey, readConfig } from "./config.js";
import { resolveDeploymentContext } from "./deployment-context.js";
import { WavySessionsStack } from "./wavy-sessions-stack.js";

/**
 * The app as `cdk synth` builds it, shared with the tests so they check the very same thing:
 * the configuration from the stage file and context, the stack, and both cdk-nag packs (any
 * finding not acknowledged fails synthesis, in the tests and in `cdk synth`).
 */
export function buildApp(
  props: AppProps = {},
  projectDir: string = process.cwd(),
): { app: App; stack: WavySessionsStack } {
  const app = new App(props);
  const deployment = resolveDeploymentContext(app.node.getAllContext(), projectDir);
  const config = readConfig((key: ContextKey) => deployment.settings[key]);
  // Environment-agnostic: no account or region lookups, so synth works offline.
  const stack = new WavySessionsStack(app, config.stackName, {
    description: "wavy-sessions: Wavy open sessions as S3 copies and CloudWatch metrics",
    config,
  });
  const source = deployment.stageFile ?? "no stage file";
  if (config.targets.length === 0)
    Annotations.of(stack).addWarningV2(
      "wavy-sessions:no-targets",
      `No targets (${source}): nothing is counted on a schedule and no NoCount alarm exists. Add "targets" to stages/${deployment.stage}.json.`,
    );
  if (deployment.notKept.length > 0)
    Annotations.of(stack).addWarningV2(
      "wavy-sessions:not-kept",
      `${deployment.notKept.join(", ")} given with -c: the next plain deploy reads stages/${deployment.stage}.json and will not keep ${deployment.notKept.length === 1 ? "it" : "them"}.`,
    );
  // Throwaway deployments (docs/deploying.md, "Tear-down"): every resource, data included, goes
  // with `cdk destroy`; the buckets empty themselves first (autoDeleteObjects).
  if (!config.retain) RemovalPolicies.of(stack).destroy();
  // One log level for every function, set where they all are rather than in each construct.
  Aspects.of(stack).add({
    visit: (node) => {
      if (node instanceof lambda.Function)
        node.addEnvironment("POWERTOOLS_LOG_LEVEL", config.logLevel);
    },
  });
  // cdk-nag 3 packs are CDK validation plugins: a finding fails synthesis with CDK's report
  // (an exception in-memory, exit code 1 from `cdk synth`). The acknowledged rules are also
  // written into each resource's Metadata (cdk_nag.rules_to_suppress), an audit trail the
  // template carries and test/infra checks.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
  return { app, stack };
}
