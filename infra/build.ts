import { App, type AppProps, Aspects } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { readConfig } from "./config.js";
import { WavySessionsStack } from "./wavy-sessions-stack.js";

/**
 * The app as `cdk synth` builds it, shared with the tests so they check the very same thing:
 * the configuration from context, the stack, and both cdk-nag packs (their findings become
 * errors and warnings on the stack, which fail the tests and show in `cdk synth`).
 */
export function buildApp(props: AppProps = {}): { app: App; stack: WavySessionsStack } {
  const app = new App(props);
  const config = readConfig((key) => app.node.tryGetContext(key));
  // Environment-agnostic: no account or region lookups, so synth works offline.
  const stack = new WavySessionsStack(app, config.stackName, {
    description: "wavy-sessions: Wavy open sessions as S3 copies and CloudWatch metrics",
    config,
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  Aspects.of(app).add(new ServerlessChecks({ verbose: true }));
  return { app, stack };
}
