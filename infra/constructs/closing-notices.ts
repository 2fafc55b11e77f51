import { Duration } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import { CLOSING_NOTICES, WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import type { ClosingNoticeSettings } from "../../lambdas/lib/intelligence/closing-notices.js";
import { acknowledge, acknowledgeSchedulerInvoke } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";

export interface ClosingNoticesProps {
  /** Path of lambdas/closing-notices/handler.ts. */
  readonly entry: string;
  /** Issue 20's windows table (with its `byOriginClosesAt` index). */
  readonly table: dynamodb.ITable;
  /** Where `Window Closing` events go. */
  readonly bus: events.IEventBus;
  /** `closingNotices` from the CDK context: origin -> closingNoticeMinutes. */
  readonly settings: ClosingNoticeSettings;
  readonly logRetention: logs.RetentionDays;
  /** Shared settings (POWERTOOLS_METRICS_NAMESPACE). */
  readonly environment?: Record<string, string>;
  /** @default the account's default schedule group */
  readonly scheduleGroup?: scheduler.IScheduleGroup;
  /** @default 256 */
  readonly memoryMb?: number;
}

/**
 * The closing-notice sweeper (docs/contract.md, "Closing notices"): a function and an
 * EventBridge Scheduler schedule every 5 minutes. Why 5: a notice goes out at most one interval
 * after its window enters the lead, so with the shortest lead allowed (10 minutes) a window
 * still gets two chances, and with the usual 60 a notice says 55-60 minutes left. A shorter
 * interval would buy little and re-read the lead's windows (docs/benchmarks.md) more often.
 */
export class ClosingNotices extends Construct {
  readonly function: BundledNodeFunction;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ClosingNoticesProps) {
    super(scope, id);
    const timeout = Duration.minutes(1);

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions closing notices: one Window Closing event per window instance",
      memorySize: props.memoryMb ?? 256,
      timeout,
      logRetention: props.logRetention,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: CLOSING_NOTICES.serviceName,
        WINDOWS_TABLE_NAME: props.table.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        CLOSING_NOTICES: JSON.stringify(props.settings),
      },
      // A failed sweep is not retried: the next tick, 5 minutes later, finds what it left (the
      // claim is the cursor), so a retry would only overlap it.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(CLOSING_NOTICES.sweepIntervalMinutes),
    });
    const nothingToReplay =
      "A failed sweep leaves nothing to replay: the next scheduled sweep, 5 minutes later, queries the same lead and finds every window not yet claimed; the function's Errors metric shows the failure.";
    acknowledge(
      this.function,
      [
        { id: "Serverless-LambdaDLQ", reason: nothingToReplay },
        { id: "Serverless-LambdaAsyncFailureDestination", reason: nothingToReplay },
      ],
      // The second finding is on the function's EventInvokeConfig child, which the
      // acknowledgment covers as it covers every construct under the function.
    );

    // Query on the index only, never the table: the sweeper reads by origin and closesAt
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-specific-table-indexes.html).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [`${props.table.tableArn}/index/${WINDOWS_TABLE.closingIndex}`],
      }),
    );
    // UpdateItem on the table for the claim and its release (conditional writes); no PutItem,
    // no DeleteItem (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/using-identity-based-policies.html).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:UpdateItem"],
        resources: [props.table.tableArn],
      }),
    );
    // A customer-managed key, if the table ever gets one; AWS owned and AWS managed keys need none.
    props.table.encryptionKey?.grantEncryptDecrypt(this.function);
    // PutEvents on that bus only (the L2 grant names its ARN,
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    props.bus.grantPutEventsTo(this.function);

    this.schedule = new scheduler.Schedule(this, "Sweep", {
      description: "Sweep the windows closing within each origin's closingNoticeMinutes",
      schedule: scheduler.ScheduleExpression.rate(
        Duration.minutes(CLOSING_NOTICES.sweepIntervalMinutes),
      ),
      scheduleGroup: props.scheduleGroup,
      // No flexible window: a late tick is a late notice.
      timeWindow: scheduler.TimeWindow.off(),
      // LambdaInvoke creates the role Scheduler assumes, trusting scheduler.amazonaws.com with
      // aws:SourceAccount and the schedule group's aws:SourceArn, with lambda:InvokeFunction on
      // this function only (https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role).
      target: new LambdaInvoke(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        // A tick older than the next one is worth nothing.
        maxEventAge: Duration.minutes(CLOSING_NOTICES.sweepIntervalMinutes),
        retryAttempts: 0,
      }),
    });

    acknowledgeSchedulerInvoke(this.function, "sweeper");
  }
}
