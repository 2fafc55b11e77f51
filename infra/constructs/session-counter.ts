import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ALL_SUB_ACCOUNTS, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import type { CountTarget } from "../config.js";
import { acknowledge, acknowledgeSchedulerInvoke } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { ExportStorage } from "./export-storage.js";
import type { WavySecret } from "./wavy-secret.js";

export interface SessionCounterProps {
  readonly entry: string;
  readonly scheduleGroupName: string;
  readonly secret: WavySecret;
  readonly wavyEnvironment: Record<string, string>;
  readonly targets: readonly CountTarget[];
  readonly scheduleExpression: string;
  readonly flexibleWindowMinutes: number;
  readonly memoryMb: number;
  readonly reservedConcurrency: number;
  readonly logRetention: logs.RetentionDays;
  /** Where a snapshot target's CSV is stored, and its events go. */
  readonly storage: ExportStorage;
  readonly bus: events.IEventBus;
  /**
   * Where events that could not be delivered, or kept failing, go: the stack's dead-letter queue
   * (infra/constructs/dead-letter-queue.ts), for both the schedules and the function.
   */
  readonly deadLetterQueue: sqs.IQueue;
}

/** `42-all`, `42-7`: stable construct ids, so editing one target replaces only its schedule. */
export function targetLabel(target: CountTarget): string {
  return `${target.customerId}-${target.subAccountId ?? ALL_SUB_ACCOUNTS}`;
}

/**
 * The counter function and one EventBridge Scheduler schedule per target, in a group of their
 * own; events that could not be delivered or kept failing go to the stack's dead-letter queue.
 */
export class SessionCounter extends Construct {
  readonly function: BundledNodeFunction;
  /** The queue it was given (props.deadLetterQueue). */
  readonly deadLetterQueue: sqs.IQueue;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedules: scheduler.Schedule[] = [];

  constructor(scope: Construct, id: string, props: SessionCounterProps) {
    super(scope, id);

    this.deadLetterQueue = props.deadLetterQueue;

    // docs/contract.md, "Scheduled snapshots": only then does the counter write to S3 and put events.
    const snapshots = props.targets.some((target) => target.snapshot === true);
    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions counter: open sessions per target as CloudWatch metrics",
      memorySize: props.memoryMb,
      // One CSV scan; far below this, but a slow Wavy must not cut a count short.
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      // Wavy's rate limits are undocumented (it answers 420): at most this many counts at once,
      // when asked. 0 is "no reservation" here; to Lambda it would mean "never run".
      reservedConcurrentExecutions:
        props.reservedConcurrency > 0 ? props.reservedConcurrency : undefined,
      environment: {
        ...props.wavyEnvironment,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME.counter,
        ...(snapshots && { EVENT_BUS_NAME: props.bus.eventBusName }),
      },
      // Scheduler invokes asynchronously: its retry policy covers delivery (throttling, access),
      // these cover the function failing (a Wavy error makes the handler throw).
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: this.deadLetterQueue,
    });
    props.secret.grantRead(this.function);
    if (snapshots) this.grantSnapshots(props);
    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Failed async invocations go to the dead-letter queue through an on-failure destination, whose record also carries the error; a DeadLetterConfig on top would deliver each failure twice.",
      },
    ]);

    this.scheduleGroup = new scheduler.ScheduleGroup(this, "Schedules", {
      scheduleGroupName: props.scheduleGroupName,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const expression = scheduler.ScheduleExpression.expression(props.scheduleExpression);
    for (const target of props.targets) {
      const label = targetLabel(target);
      const schedule = new scheduler.Schedule(this, `Count-${label}`, {
        description: `Count Wavy open sessions of customer ${target.customerId}, sub-account ${target.subAccountId ?? ALL_SUB_ACCOUNTS}`,
        schedule: expression,
        scheduleGroup: this.scheduleGroup,
        timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(props.flexibleWindowMinutes)),
        // No role of our own: the one LambdaInvoke creates, shared by every schedule of this
        // target, trusts scheduler.amazonaws.com with aws:SourceAccount and aws:SourceArn = the
        // schedule GROUP's ARN, which is what Scheduler presents when it assumes the role
        // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html:
        // "Do not scope the aws:SourceArn statement to a specific schedule"). The same role
        // gets lambda:InvokeFunction on the counter and, because deadLetterQueue is set,
        // sqs:SendMessage on the queue: Scheduler dead-letters with the execution role too
        // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
        target: new LambdaInvoke(this.function, {
          // A target is already the counter's event (docs/contract.md, "Handlers"):
          // readConfig leaves subAccountId out when there is none.
          input: scheduler.ScheduleTargetInput.fromObject(target),
          deadLetterQueue: this.deadLetterQueue,
          // A count is a snapshot: one older than an hour is not worth taking.
          maxEventAge: Duration.hours(1),
          retryAttempts: 3,
        }),
      });
      // GroupName is a plain string, so CloudFormation would not otherwise order the group first.
      schedule.node.addDependency(this.scheduleGroup);
      this.schedules.push(schedule);
    }
    // CDK puts that role at the stack's top level under a name derived from the target's ARN.
    acknowledgeSchedulerInvoke(this.function, "counter");
  }

  /**
   * A snapshot is a synchronous export made by the counter: it writes the CSV (its companion is
   * the companion function's), the history entry and the manifest, aborts its upload and takes
   * back the CSV, entry and manifest when a later write fails, and puts events on the bus
   * only (the L2 grant names its ARN,
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
   */
  private grantSnapshots(props: SessionCounterProps): void {
    const snapshot = ["write", "abort", "delete"] as const;
    props.storage.bind(this.function, {
      objects: {
        exports: snapshot,
        // Issue 19: a failed snapshot takes its manifest back with If-Match on the running
        // version, and a conditional delete needs s3:GetObject as well
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
        manifests: [...snapshot, "read"],
        history: snapshot,
      },
    });
    props.bus.grantPutEventsTo(this.function);
  }
}
