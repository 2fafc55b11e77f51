import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { S3_PREFIX } from "../../lambdas/lib/contract.js";
import { acknowledgeSchedulerInvoke } from "../nag.js";
import type { ExportStorage } from "./export-storage.js";

export interface ExportSweeperProps {
  /** The export worker: the sweep is its `{"sweep": true}` event (lambdas/export-worker/handler.ts). */
  readonly worker: lambda.IFunction;
  readonly storage: ExportStorage;
  /** Named after the stack, so a second deployment gets a group of its own. */
  readonly scheduleGroupName: string;
  /** Where Scheduler sends a sweep it could not deliver. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * How often the running exports past their deadlineAt are settled.
   * @default Duration.minutes(5) (docs/contract.md, "The export lifecycle")
   */
  readonly rate?: Duration;
}

/**
 * The scheduled sweep (docs/contract.md, "The export lifecycle"): an EventBridge Scheduler
 * schedule invoking the worker with `{"sweep": true}`, so a dead run's `Export Failed` does not
 * wait for a reader. Settling writes the failed manifest, takes back the dead run's objects and
 * upload, removes its running-index entry (manifests/running/) and puts the event: the worker's
 * role holds all of that but the two grants below.
 */
export class ExportSweeper extends Construct {
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ExportSweeperProps) {
    super(scope, id);
    const rate = props.rate ?? Duration.minutes(5);
    this.scheduleGroup = new scheduler.ScheduleGroup(this, "Schedules", {
      scheduleGroupName: props.scheduleGroupName,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.schedule = new scheduler.Schedule(this, "Sweep", {
      description: "Settle the exports still running past their deadlineAt",
      schedule: scheduler.ScheduleExpression.rate(rate),
      scheduleGroup: this.scheduleGroup,
      // As the counter's schedules: the role LambdaInvoke creates trusts scheduler.amazonaws.com
      // with aws:SourceAccount and aws:SourceArn = this group's ARN
      // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html),
      // and gets lambda:InvokeFunction on the worker and sqs:SendMessage on the queue
      // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
      target: new LambdaInvoke(props.worker, {
        input: scheduler.ScheduleTargetInput.fromObject({ sweep: true }),
        deadLetterQueue: props.deadLetterQueue,
        // The next sweep is as good as a late one: no retry, no old event.
        maxEventAge: rate,
        retryAttempts: 0,
      }),
    });
    // GroupName is a plain string, so CloudFormation would not otherwise order the group first.
    this.schedule.node.addDependency(this.scheduleGroup);

    // The running index's entries are deleted once settled (s3:DeleteObject on manifests/), and a
    // dead run's upload is found with ListMultipartUploads, which needs
    // s3:ListBucketMultipartUploads on the bucket
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html).
    props.storage.grantObjects(props.worker, ["s3:DeleteObject"], [S3_PREFIX.manifests]);
    props.storage.grantBucket(props.worker, ["s3:ListBucketMultipartUploads"]);

    // CDK puts the schedule's role at the stack's top level, named from the target's ARN.
    acknowledgeSchedulerInvoke(props.worker, "worker");
  }
}
