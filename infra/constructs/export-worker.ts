import { Duration } from "aws-cdk-lib";
import type * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULTS, SERVICE_NAME, WORKER } from "../../lambdas/lib/contract.js";
import { acknowledge } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { ExportStorage } from "./export-storage.js";
import type { WavySecret } from "./wavy-secret.js";

export interface ExportWorkerProps {
  readonly entry: string;
  readonly storage: ExportStorage;
  readonly secret: WavySecret;
  readonly wavyEnvironment: Record<string, string>;
  readonly bus: events.IEventBus;
  readonly memoryMb: number;
  readonly logRetention: logs.RetentionDays;
  /**
   * Where failed or expired invocations go: the stack's dead-letter queue, whose alarm the
   * operator already watches (and one queue fewer: the stack holds 200 targets in 500 resources).
   */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * The asynchronous export's worker (docs/contract.md, "Asynchronous exports"): the export
 * function invokes it with InvocationType Event. Lambda does not retry it (a retry would race the
 * attempt it replaces, and the manifest already records a failure) and sends a failed or expired
 * invocation to the stack's dead-letter queue for the operator.
 */
export class ExportWorker extends Construct {
  readonly function: BundledNodeFunction;

  constructor(scope: Construct, id: string, props: ExportWorkerProps) {
    super(scope, id);
    const { storage } = props;

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions export worker: copies one accepted export's CSV to S3",
      memorySize: props.memoryMb,
      // Lambda's longest; the export's deadlineAt is createdAt plus this (EXPORT_WORKER_TIMEOUT_SECONDS).
      timeout: Duration.seconds(WORKER.maxTimeoutSeconds),
      logRetention: props.logRetention,
      environment: {
        ...props.wavyEnvironment,
        MAX_CSV_BYTES: String(DEFAULTS.maxCsvBytes),
        EVENT_BUS_NAME: props.bus.eventBusName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME.worker,
      },
      // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html: retries
      // 0-2 and an event age up to 6 h. An event older than the worker's timeout is past its
      // deadlineAt anyway, so it goes to the queue instead of running only to record a failure.
      retryAttempts: 0,
      maxEventAge: Duration.seconds(WORKER.maxTimeoutSeconds),
      onFailure: props.deadLetterQueue,
    });
    props.secret.grantRead(this.function);
    // Reads and rewrites the manifest it was given, writes the CSV (its companion is the
    // companion function's); aborts or deletes it when it fails, or when an observer recorded the
    // end first. ListBucket: a missing manifest is NoSuchKey, not 403.
    storage.bind(this.function, {
      objects: {
        exports: ["write", "abort", "delete"],
        manifests: ["write", "read"],
      },
      list: true,
    });
    // events:PutEvents on this bus only (the L2 grant names its ARN,
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    props.bus.grantPutEventsTo(this.function);

    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Failed asynchronous invocations go to the stack's dead-letter queue through an on-failure destination, whose record also carries the error.",
      },
    ]);
  }
}
