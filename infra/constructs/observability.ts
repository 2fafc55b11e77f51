import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import { ALL_SUB_ACCOUNTS, DIMENSION, METRIC, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import type { AlarmDestination, CountTarget } from "../config.js";
import { targetLabel } from "./session-counter.js";

/** CloudWatch alarm metric math takes at most 10 metrics per alarm. */
const METRICS_PER_ALARM = 10;

export interface ObservabilityProps {
  /** Every alarm's name starts with it, so the topic policy can name them all. */
  readonly alarmNamePrefix: string;
  readonly dashboardName: string;
  /** The functions' POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricsNamespace: string;
  readonly alarms: AlarmDestination;
  readonly targets: readonly CountTarget[];
  /** The longest gap between two counts of one target: the counter alarms' period. */
  readonly alarmPeriodSeconds: number;
  readonly exportFunction: lambda.IFunction;
  readonly counterFunction: lambda.IFunction;
  readonly api: apigateway.RestApi;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The companion function's dead-letter queue (docs/contract.md, "Companions"), watched by the
   * same DeadLetters alarm: an alarm of its own would take the stack past CloudFormation's 500
   * resources at 200 targets.
   */
  readonly companionDeadLetterQueue?: sqs.IQueue;
}

/** Alarms (sent to an SNS topic when one is configured) and one dashboard. */
export class Observability extends Construct {
  /** Messages waiting in the stack's dead-letter queue, plus the companion's when given. */
  private deadLetters(props: ObservabilityProps, period: Duration): cloudwatch.IMetric {
    const visible = (queue: sqs.IQueue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" });
    if (!props.companionDeadLetterQueue) return visible(props.deadLetterQueue);
    return new cloudwatch.MathExpression({
      expression: "stack + companion",
      usingMetrics: {
        stack: visible(props.deadLetterQueue),
        companion: visible(props.companionDeadLetterQueue),
      },
      period,
      label: "Dead-lettered events",
    });
  }

  readonly topic?: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;
    this.topic = this.alarmTopic(props.alarms);

    const fiveMinutes = Duration.minutes(5);
    const serviceAlarms = [
      this.alarm("ExportErrors", {
        alarmDescription: "The export function failed (an unhandled error, not a 4xx/5xx answer).",
        metric: props.exportFunction.metricErrors({ period: fiveMinutes, statistic: "Sum" }),
        threshold: 1,
      }),
      this.alarm("Api5xx", {
        alarmDescription:
          "The API answered 5xx: Wavy failing or throttling (502/503/504), or an internal error.",
        metric: props.api.metricServerError({ period: fiveMinutes, statistic: "Sum" }),
        threshold: 1,
      }),
      this.alarm("CounterErrors", {
        alarmDescription: "The counter function failed (Wavy failure, invalid event or a bug).",
        metric: props.counterFunction.metricErrors({ period: fiveMinutes, statistic: "Sum" }),
        threshold: 1,
      }),
      this.alarm("DeadLetters", {
        alarmDescription:
          "Counter or companion events were dead-lettered: undeliverable, or still failing after retries.",
        metric: this.deadLetters(props, fiveMinutes),
        threshold: 1,
      }),
      ...this.wavyFailureAlarms(),
    ];
    for (const target of props.targets) this.missingCountAlarm(target);

    this.dashboard = this.buildDashboard(serviceAlarms);
  }

  private alarmTopic(destination: AlarmDestination): sns.ITopic | undefined {
    switch (destination.kind) {
      case "none":
        return undefined;
      case "topic":
        return sns.Topic.fromTopicArn(this, "AlarmTopic", destination.topicArn);
      case "email": {
        const topic = new sns.Topic(this, "AlarmTopic", {
          displayName: "wavy-sessions alarms",
          enforceSSL: true,
        });
        const subscription = new sns.Subscription(this, "AlarmEmail", {
          topic,
          protocol: sns.SubscriptionProtocol.EMAIL,
          endpoint: destination.email,
        });
        NagSuppressions.addResourceSuppressions(subscription, [
          {
            id: "Serverless-SNSRedrivePolicy",
            reason:
              "An e-mail subscription: SNS retries e-mail delivery itself, and an undelivered alarm e-mail is still visible as the alarm's state in CloudWatch.",
          },
        ]);
        // enforceSSL makes CDK write a TopicPolicy, and a TopicPolicy replaces SNS's default
        // policy, which is what let same-account alarms publish: without this statement the
        // alarm history reads "not authorized to perform: SNS:Publish". CloudWatch publishes as
        // cloudwatch.amazonaws.com with the alarm's ARN as aws:SourceArn
        // (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger,
        // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html).
        const stack = Stack.of(this);
        topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: "AllowThisStacksAlarmsToPublish",
            principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions: ["sns:Publish"],
            resources: [topic.topicArn],
            conditions: {
              StringEquals: { "aws:SourceAccount": stack.account },
              ArnLike: {
                "aws:SourceArn": stack.formatArn({
                  service: "cloudwatch",
                  resource: "alarm",
                  resourceName: `${this.props.alarmNamePrefix}*`,
                  arnFormat: ArnFormat.COLON_RESOURCE_NAME,
                }),
              },
            },
          }),
        );
        NagSuppressions.addResourceSuppressions(topic, [
          {
            id: "AwsSolutions-SNS2",
            reason:
              "Alarm notifications carry alarm names and states, no user data; the AWS-managed SNS key would block CloudWatch from publishing, and a customer key costs more than what it protects.",
          },
        ]);
        return topic;
      }
    }
  }

  private alarm(
    id: string,
    props: {
      alarmDescription: string;
      metric: cloudwatch.IMetric;
      threshold: number;
      evaluationPeriods?: number;
      comparisonOperator?: cloudwatch.ComparisonOperator;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.props.alarmNamePrefix}${id}`,
      alarmDescription: props.alarmDescription,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      datapointsToAlarm: props.evaluationPeriods ?? 1,
      comparisonOperator:
        props.comparisonOperator ??
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // No OK action: OKActions run on every transition to OK, the INSUFFICIENT_DATA -> OK of a
    // newly created alarm included, so each deploy would mail one "OK" per alarm
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    // Recovery shows on the dashboard's alarm widget and in the alarm's history.
    if (this.topic) alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  /**
   * One target's metric with the exact dimension set the counter emits (docs/contract.md,
   * "Metrics"): CloudWatch matches a metric only by its full set, and Powertools adds `service`.
   */
  private targetMetric(metricName: string, target: CountTarget, statistic: string) {
    return new cloudwatch.Metric({
      namespace: this.props.metricsNamespace,
      metricName,
      dimensionsMap: {
        [DIMENSION.customerId]: target.customerId,
        [DIMENSION.subAccountId]: target.subAccountId ?? ALL_SUB_ACCOUNTS,
        [DIMENSION.service]: SERVICE_NAME.counter,
      },
      statistic,
      period: Duration.seconds(this.props.alarmPeriodSeconds),
    });
  }

  /** `WavyRequestFailed` summed across targets, ten per alarm (metric math's limit). */
  private wavyFailureAlarms(): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    const { targets } = this.props;
    for (let start = 0; start < targets.length; start += METRICS_PER_ALARM) {
      const chunk = targets.slice(start, start + METRICS_PER_ALARM);
      const usingMetrics = Object.fromEntries(
        chunk.map((target, index) => [
          `f${index}`,
          this.targetMetric(METRIC.wavyRequestFailed, target, "Sum"),
        ]),
      );
      const group = start / METRICS_PER_ALARM + 1;
      alarms.push(
        this.alarm(`WavyRequestFailed${group}`, {
          alarmDescription: `Wavy requests failed while counting: ${chunk.map(targetLabel).join(", ")}.`,
          metric: new cloudwatch.MathExpression({
            expression: `SUM([${Object.keys(usingMetrics).join(",")}])`,
            usingMetrics,
            label: METRIC.wavyRequestFailed,
            period: Duration.seconds(this.props.alarmPeriodSeconds),
          }),
          threshold: 1,
        }),
      );
    }
    return alarms;
  }

  /**
   * No run recorded for a target: the counter did not run, or failed. A run either counted
   * (`OpenSessions`) or found the secret still holding its placeholder (`NotConfigured`, the
   * first deploy before put-secret-value): both are runs, and FILL makes a period with one
   * but not the other add up instead of vanishing from the sum. Missing data breaches, so a
   * counter that never runs still alarms.
   *
   * Two periods, because the flexible time window can push a run past a period boundary;
   * PutMetricAlarm allows periods x evaluation periods up to one day below an hour's period
   * and up to seven days from an hour on, so two always fit under the one-day cap on periods
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
   */
  private missingCountAlarm(target: CountTarget): void {
    this.alarm(`NoCount-${targetLabel(target)}`, {
      alarmDescription: `No counter run for customer ${target.customerId}, sub-account ${target.subAccountId ?? ALL_SUB_ACCOUNTS}: neither ${METRIC.openSessions} nor ${METRIC.notConfigured}.`,
      metric: new cloudwatch.MathExpression({
        expression: "FILL(counted, 0) + FILL(notConfigured, 0)",
        usingMetrics: {
          counted: this.targetMetric(METRIC.openSessions, target, "SampleCount"),
          notConfigured: this.targetMetric(METRIC.notConfigured, target, "SampleCount"),
        },
        label: "Counter runs",
        period: Duration.seconds(this.props.alarmPeriodSeconds),
      }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  private buildDashboard(serviceAlarms: cloudwatch.Alarm[]): cloudwatch.Dashboard {
    const { exportFunction, counterFunction, api, deadLetterQueue } = this.props;
    const period = Duration.seconds(this.props.alarmPeriodSeconds);
    // SEARCH rather than one line per target: it scales past the per-graph metric limit and
    // keeps showing a target's history after it is removed from the configuration.
    const perTarget = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${this.props.metricsNamespace},${DIMENSION.customerId},${DIMENSION.subAccountId},${DIMENSION.service}} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
        usingMetrics: {},
        label,
        period,
      });
    const fiveMinutes = Duration.minutes(5);

    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: this.props.dashboardName,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: serviceAlarms,
        width: 24,
        height: 3,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Open sessions per target",
        left: [perTarget(METRIC.openSessions, "Maximum", "")],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Sessions closing within 1 h / 4 h",
        left: [perTarget(METRIC.expiringWithin1h, "Maximum", "")],
        right: [perTarget(METRIC.expiringWithin4h, "Maximum", "")],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Export latency",
        left: [
          exportFunction.metricDuration({ statistic: "p50", period: fiveMinutes }),
          exportFunction.metricDuration({ statistic: "p99", period: fiveMinutes }),
        ],
        right: [
          api.metricLatency({ statistic: "p50", period: fiveMinutes }),
          api.metricLatency({ statistic: "p99", period: fiveMinutes }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Export errors",
        left: [
          exportFunction.metricErrors({ period: fiveMinutes }),
          api.metricClientError({ period: fiveMinutes }),
          api.metricServerError({ period: fiveMinutes }),
        ],
        right: [api.metricCount({ period: fiveMinutes })],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Counter failures",
        left: [
          perTarget(METRIC.wavyRequestFailed, "Sum", ""),
          perTarget(METRIC.unparseableTimestamps, "Sum", ""),
          perTarget(METRIC.notConfigured, "Sum", ""),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Counter runs",
        left: [
          counterFunction.metricInvocations({ period: fiveMinutes }),
          counterFunction.metricErrors({ period: fiveMinutes }),
          counterFunction.metricThrottles({ period: fiveMinutes }),
        ],
        right: [
          deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: fiveMinutes,
            statistic: "Maximum",
          }),
        ],
        width: 12,
      }),
    );
    return dashboard;
  }
}
