import { Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { WINDOW_METRIC } from "../../lambdas/lib/contract.js";
import type { MetricFactory } from "./metric-factory.js";

export interface WindowsMonitoringProps {
  /** The stack's dashboard (infra/constructs/observability.ts), which gains a row. */
  readonly dashboard: cloudwatch.Dashboard;
  /** Where the stack's alarms notify, if anywhere. */
  readonly topic?: sns.ITopic;
  /** Every alarm's name starts with it (the topic policy names them all so). */
  readonly alarmNamePrefix: string;
  /** The stack's metric definitions (infra/constructs/metric-factory.ts). */
  readonly metrics: MetricFactory;
  readonly webhookApi: apigateway.RestApi;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly processor: lambda.IFunction;
  /** The counter's period: how often OpenWindows is emitted. */
  readonly periodSeconds: number;
}

/**
 * The live windows on the stack's dashboard (open windows beside the CSV's open sessions, the
 * webhook items applied and rejected, the webhook API and queues) and their two alarms: a message
 * dead-lettered (Wavy sent it and it could not be applied), and the webhook API answering 5xx
 * (SQS refusing: Wavy retries, but nothing is stored meanwhile).
 */
export class WindowsMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: WindowsMonitoringProps) {
    super(scope, id);
    const fiveMinutes = Duration.minutes(5).toSeconds();
    const { metrics, webhookApi, queue, deadLetterQueue, processor } = props;

    this.alarms = [
      this.alarm(props, "WebhookDeadLetters", {
        alarmDescription:
          "Webhook messages were dead-lettered after 5 failed receives: inspect and redrive them (docs/deploying.md, Webhooks).",
        metric: metrics.deadLetters(deadLetterQueue),
      }),
      this.alarm(props, "WebhookApi5xx", {
        alarmDescription:
          "The webhook API answered 5xx: SQS refused or failed, so Wavy's callbacks are not being stored (Wavy retries).",
        metric: metrics.apiServerErrors(webhookApi, "Sum"),
      }),
    ];

    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Open windows (webhooks), per origin and per target",
        left: [metrics.byName(WINDOW_METRIC.openWindows, "Maximum", props.periodSeconds)],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Webhook items applied / rejected",
        left: [metrics.byName(WINDOW_METRIC.itemsApplied, "Sum", fiveMinutes)],
        right: [metrics.byName(WINDOW_METRIC.itemsRejected, "Sum", fiveMinutes)],
        width: 12,
      }),
    );
    props.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Webhook API (Wavy's callbacks)",
        left: [
          metrics.apiCount(webhookApi),
          metrics.apiClientErrors(webhookApi),
          metrics.apiServerErrors(webhookApi),
        ],
        right: [
          metrics.apiLatency(webhookApi, "p99"),
          metrics.apiIntegrationLatency(webhookApi, "p99"),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Webhook queue and processor",
        left: [metrics.oldestMessageAge(queue), metrics.deadLetters(deadLetterQueue)],
        right: [metrics.functionErrors(processor), metrics.functionThrottles(processor)],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: "Live-window alarms",
        alarms: this.alarms,
        width: 24,
        height: 2,
      }),
    );
  }

  /** An alarm as the stack's others are (observability.ts): named under the prefix, no OK action. */
  private alarm(
    props: WindowsMonitoringProps,
    id: string,
    options: { alarmDescription: string; metric: cloudwatch.IMetric },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${props.alarmNamePrefix}${id}`,
      alarmDescription: options.alarmDescription,
      metric: options.metric,
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.topic) alarm.addAlarmAction(new actions.SnsAction(props.topic));
    return alarm;
  }
}
