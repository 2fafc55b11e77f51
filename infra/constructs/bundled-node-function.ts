import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { acknowledge } from "../nag.js";

/**
 * The Node major the handlers are written and tested for: the `node` devDependency runs the test
 * suite on 24, so the Lambda runtime and the bundle target move together with it. nodejs24.x
 * runs no callback-style handler (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html#nodejs-handler-signatures):
 * every handler here is a middy function, which is async.
 */
const RUNTIME = lambda.Runtime.NODEJS_24_X;
const BUNDLE_TARGET = "node24";

export interface BundledNodeFunctionProps {
  /** Path of the handler module (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly environment?: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
  /** Async invocations only: where events go once Lambda's own retries are spent. */
  readonly onFailure?: sqs.IQueue;
  readonly retryAttempts?: number;
  readonly maxEventAge?: Duration;
  /** Async invocations only: the function's own dead-letter queue (no EventInvokeConfig). */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * A handler module bundled by the local esbuild (never Docker) into one Lambda function, with the
 * settings both functions share: ARM, active tracing, its own log group with a retention, and an
 * ESM bundle with the AWS SDK inside (the runtime's copy is a version we did not test), minified,
 * with a source map shipped beside it for reading stack traces offline. Node does not apply it at
 * run time (no --enable-source-maps): parsing the map at start-up cost 34 MB of RSS and about
 * 100 ms of cold start (docs/benchmarks.md). Set NODE_OPTIONS=--enable-source-maps on a function
 * while debugging.
 */
export class BundledNodeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: BundledNodeFunctionProps) {
    // Created before the function so the role can be scoped to it: no AWSLambdaBasicExecutionRole
    // (a managed policy that may write to any log group).
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      // Logs are operational, not the user's data; they outlive a teardown for the audit trail.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of ${props.description}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [logGroup.logGroupArn],
      }),
    );

    super(scope, id, {
      entry: props.entry,
      handler: "handler",
      description: props.description,
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // A destination rather than a DeadLetterConfig: its record carries the error as well.
      onFailure: props.onFailure ? new destinations.SqsDestination(props.onFailure) : undefined,
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      deadLetterQueue: props.deadLetterQueue,
      environment: props.environment,
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        // The map names lines, it need not carry the sources: a smaller asset.
        sourcesContent: false,
        // Bundle the SDK too: one tested version, and a smaller cold start than the runtime's.
        externalModules: [],
        mainFields: ["module", "main"],
        // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
        banner:
          "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });

    acknowledge(role, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Active tracing: X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so AWS requires Resource: *.",
        findings: ["Resource::*"],
      },
    ]);
  }
}
