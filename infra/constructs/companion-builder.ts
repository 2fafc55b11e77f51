import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { COMPANION, EVENT, EXPORT_PROCESS_ENVIRONMENT } from "../../lambdas/lib/contract.js";
import { acknowledge } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { ExportStorage } from "./export-storage.js";

export interface CompanionBuilderProps {
  /** Path of lambdas/build-companion/handler.ts. */
  readonly entry: string;
  readonly storage: ExportStorage;
  /** The bus the `Export Succeeded` events are put on (EVENT_BUS_NAME). */
  readonly bus: events.IEventBus;
  /** IANA zone of Wavy's offset-less timestamps (WAVY_TIMEZONE), for created_at. */
  readonly timeZone: string;
  /**
   * The function's memory. @default 512: the largest CSV it takes within its timeout at this size
   * is in docs/benchmarks.md.
   */
  readonly memoryMb?: number;
  readonly logRetention: logs.RetentionDays;
  /** The stack's namespace (POWERTOOLS_METRICS_NAMESPACE), as every function of the stack has. */
  readonly metricsNamespace: string;
}

/**
 * Derived data off the request path (docs/contract.md, "Companions"; issue 19 item 3): an
 * EventBridge rule on the completion bus sends every `Export Succeeded` (request, async,
 * schedule) to the companion function, which builds the export's Parquet companion from the
 * stored CSV. Both hops retry on their own, and what still fails lands in a dead-letter queue of
 * its own (SSE, TLS only), which the stack's DeadLetters alarm watches (Observability), so a
 * companion never holds up or fails an export.
 */
export class CompanionBuilder extends Construct {
  readonly function: BundledNodeFunction;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: CompanionBuilderProps) {
    super(scope, id);
    const { storage } = props;

    // SQS-managed SSE, and a queue policy denying anything but TLS (enforceSSL).
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // The events in it are the operator's to look at, as the stack's other queue's.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions companion: builds an export's Parquet companion from its CSV",
      memorySize: props.memoryMb ?? 512,
      timeout: Duration.seconds(COMPANION.timeoutSeconds),
      logRetention: props.logRetention,
      environment: {
        WAVY_TIMEZONE: props.timeZone,
        POWERTOOLS_SERVICE_NAME: "wavy-sessions-companion",
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        // The export's young-generation cap: without it a 10 M-row companion peaked 23 MB above
        // a 1 M-row one (125 vs 103 MB); with it 91 vs 93 MB at the same CPU (bench:companion).
        // NODE_OPTIONS (EXPORT_NODE_OPTIONS) and MALLOC_ARENA_MAX, as the export function has.
        ...EXPORT_PROCESS_ENVIRONMENT,
      },
      deadLetterQueue: this.deadLetterQueue,
    });
    // Lambda retries the asynchronous invocation EventBridge makes twice, within 6 h (its
    // defaults), then sends the event to the function's dead-letter queue; the L2 gives the
    // execution role sqs:SendMessage on it
    // (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq).
    // The function's DeadLetterConfig rather than an EventInvokeConfig destination: one resource
    // fewer, and the stack at 200 targets sits at CloudFormation's 500 (test/infra/config.test.ts).

    // Reads the manifest and the CSV it names; HeadObject of the companion needs s3:GetObject,
    // and s3:ListBucket so that a missing key is a 404, not a 403
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). PutObject covers
    // the multipart calls (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuAndPermissions.html);
    // DeleteObject takes back the companion of an export that failed meanwhile.
    storage.bind(this.function, {
      objects: {
        exports: ["read"],
        manifests: ["read"],
        sessions: ["read", "write", "abort", "delete"],
      },
      list: true,
    });

    // The L2 target adds the function's resource-based policy allowing events.amazonaws.com to
    // invoke it with aws:SourceArn = the rule
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions),
    // and the dead-letter queue's policy allowing events.amazonaws.com sqs:SendMessage for this
    // rule only ("Granting permissions to the dead-letter queue",
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq).
    this.rule = new events.Rule(this, "ExportSucceeded", {
      description: "wavy-sessions: build the Parquet companion of every export that succeeded",
      eventBus: props.bus,
      eventPattern: { source: [EVENT.source], detailType: [EVENT.succeeded] },
      targets: [
        new targets.LambdaFunction(this.function, {
          retryAttempts: COMPANION.deliveryRetryAttempts,
          maxEventAge: Duration.minutes(COMPANION.maxEventAgeMinutes),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    acknowledge(this.deadLetterQueue, [
      {
        id: "AwsSolutions-SQS3",
        reason: "This queue is itself the dead-letter queue of the companion's rule and function.",
      },
      {
        id: "Serverless-SQSRedrivePolicy",
        reason: "This queue is itself the dead-letter queue of the companion's rule and function.",
      },
    ]);
    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Failed asynchronous invocations go to the companion's dead-letter queue through an on-failure destination, whose record also carries the error.",
      },
    ]);
  }
}
