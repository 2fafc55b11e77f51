import { Duration } from "aws-cdk-lib";
import type * as events from "aws-cdk-lib/aws-events";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { WEBHOOK_REJECTED_PREFIX, WINDOW_SERVICE_NAME } from "../../lambdas/lib/contract.js";
import type { CountTarget } from "../config.js";
import { acknowledge, arnFinding } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { ExportStorage } from "./export-storage.js";
import type { WindowsTable } from "./windows-table.js";

/**
 * The processor's timeout. A batch is at most 10 bodies of at most 1 MiB, applied with one
 * conditional UpdateItem per window: seconds at most. The queue's visibility timeout is six
 * times this (webhook-ingest.ts).
 */
export const WINDOW_PROCESSOR_TIMEOUT = Duration.seconds(30);

export interface WindowProcessorProps {
  readonly entry: string;
  readonly queue: sqs.IQueue;
  readonly table: WindowsTable;
  /** Where items that are not valid are kept, under WEBHOOK_REJECTED_PREFIX. */
  readonly storage: ExportStorage;
  readonly metricsNamespace: string;
  readonly windowRetentionDays: number;
  readonly memoryMb: number;
  readonly logRetention: logs.RetentionDays;
  /** Where `Send Rejected Outside Window` goes (issue 21, "Status callbacks explained"). */
  readonly bus: events.IEventBus;
  /** The targets whose `origins` name the `Origin` labels and per-target counts. */
  readonly targets: readonly CountTarget[];
}

/** `WINDOW_TARGETS` (docs/contract.md, "Configuration"): the targets that list origins. */
export function windowTargetsEnvironment(targets: readonly CountTarget[]): string {
  return JSON.stringify(
    targets
      .filter((target) => (target.origins?.length ?? 0) > 0)
      .map((target) => ({
        customerId: target.customerId,
        subAccountId: target.subAccountId ?? null,
        origins: target.origins,
      })),
  );
}

/**
 * The queue-triggered function that applies Wavy's webhook bodies to the windows' table
 * (docs/contract.md, "Live windows"): batches of 10 with partial batch responses, so one bad
 * message is retried alone and, after five receives, dead-lettered by the queue's redrive policy.
 */
export class WindowProcessor extends Construct {
  readonly function: BundledNodeFunction;

  constructor(scope: Construct, id: string, props: WindowProcessorProps) {
    super(scope, id);
    const { table, storage } = props;

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions window events: applies Wavy's webhooks to the live windows",
      memorySize: props.memoryMb,
      timeout: WINDOW_PROCESSOR_TIMEOUT,
      logRetention: props.logRetention,
      environment: {
        WINDOWS_TABLE_NAME: table.table.tableName,
        WINDOW_RETENTION_DAYS: String(props.windowRetentionDays),
        REJECTED_BUCKET: storage.bucket.bucketName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_SERVICE_NAME: WINDOW_SERVICE_NAME.windowEvents,
        EVENT_BUS_NAME: props.bus.eventBusName,
        WINDOW_TARGETS: windowTargetsEnvironment(props.targets),
      },
    });
    // Issue 21: Send Rejected Outside Window, events:PutEvents on this bus only (the L2 grant
    // names its ARN, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    props.bus.grantPutEventsTo(this.function);
    // Lambda polls with the function's execution role: the L2 event source grants it
    // ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes and GetQueueUrl
    // on this queue (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
    this.function.addEventSource(
      new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    // The conditional UpdateItem that moves a window forward, and what the domain may read or
    // write whole (docs/contract.md, "Applying an MO").
    table.grantItems(this.function, [
      "dynamodb:UpdateItem",
      "dynamodb:PutItem",
      "dynamodb:GetItem",
    ]);
    // Rejected items, written once per message and item (a redelivery overwrites the same key).
    storage.grantObjects(this.function, ["s3:PutObject"], [WEBHOOK_REJECTED_PREFIX]);

    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Invoked by an SQS event source mapping, not asynchronously: a message that keeps failing goes to the webhook queue's own dead-letter queue (redrive policy, maxReceiveCount 5).",
      },
    ]);
    // The event source mapping is a child of the function.
    acknowledge(this.function, [
      {
        id: "Serverless-LambdaEventSourceMappingDestination",
        reason:
          "An SQS event source mapping takes no on-failure destination (Lambda supports them for stream and Kafka sources); a failing message goes to the queue's dead-letter queue through its redrive policy (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).",
      },
    ]);
    acknowledge(this.function.role ?? this.function, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "A rejected item's key is minted per message and item (webhooks/rejected/<kind>/<date>/<messageId>-<index>.json), so PutObject is granted on exactly that prefix.",
        findings: [arnFinding(storage.bucket, "/webhooks/rejected/*")],
      },
    ]);
  }
}
