import { ArnFormat, Stack } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ALL_SUB_ACCOUNTS, METRIC } from "../../lambdas/lib/contract.js";
import type { AlarmDestination, CountTarget } from "../config.js";
import { acknowledge } from "../nag.js";
import { buildDashboard } from "./dashboard.js";
import { METRICS_PER_ALARM, MetricFactory } from "./metric-factory.js";
import { targetLabel } from "./session-counter.js";

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

/**
 * Alarms (sent to an SNS topic when one is configured) and one dashboard (dashboard.ts), both
 * built from the metric definitions of metric-factory.ts.
 */
export class Observability extends Construct {
  readonly topic?: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly metrics: MetricFactory;
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;
    this.topic = this.alarmTopic(props.alarms);
    const metrics = new MetricFactory(props);
    this.metrics = metrics;

    const serviceAlarms = [
      this.alarm("ExportErrors", {
        alarmDescription: "The export function failed (an unhandled error, not a 4xx/5xx answer).",
        metric: metrics.functionErrors(props.exportFunction, "Sum"),
        threshold: 1,
      }),
      this.alarm("Api5xx", {
        alarmDescription:
          "The API answered 5xx: Wavy failing or throttling (502/503/504), or an internal error.",
        metric: metrics.apiServerErrors(props.api, "Sum"),
        threshold: 1,
      }),
      this.alarm("ExportsFailed", {
        alarmDescription:
          "An export failed, whichever function ended it (ExportsFailedByCode says why).",
        metric: metrics.exportsFailed(),
        threshold: 1,
      }),
      this.alarm("CounterErrors", {
        alarmDescription: "The counter function failed (Wavy failure, invalid event or a bug).",
        metric: metrics.functionErrors(props.counterFunction, "Sum"),
        threshold: 1,
      }),
      this.alarm("DeadLetters", {
        alarmDescription:
          "Counter or companion events were dead-lettered: undeliverable, or still failing after retries.",
        metric: metrics.deadLetters(props.deadLetterQueue, props.companionDeadLetterQueue),
        threshold: 1,
      }),
      ...this.wavyFailureAlarms(),
    ];
    for (const target of props.targets) this.missingCountAlarm(target);

    this.dashboard = buildDashboard(this, "Dashboard", {
      dashboardName: props.dashboardName,
      metrics,
      alarms: serviceAlarms,
      exportFunction: props.exportFunction,
      counterFunction: props.counterFunction,
      api: props.api,
      deadLetterQueue: props.deadLetterQueue,
      ...(props.companionDeadLetterQueue && {
        companionDeadLetterQueue: props.companionDeadLetterQueue,
      }),
    });
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
        acknowledge(subscription, [
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
        acknowledge(topic, [
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

  /** `WavyRequestFailed` summed across targets, ten per alarm (metric math's limit). */
  private wavyFailureAlarms(): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    const { targets } = this.props;
    for (let start = 0; start < targets.length; start += METRICS_PER_ALARM) {
      const chunk = targets.slice(start, start + METRICS_PER_ALARM);
      const group = start / METRICS_PER_ALARM + 1;
      alarms.push(
        this.alarm(`WavyRequestFailed${group}`, {
          alarmDescription: `Wavy requests failed while counting: ${chunk.map(targetLabel).join(", ")}.`,
          metric: this.metrics.wavyRequestFailed(chunk),
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
      metric: this.metrics.counterRuns(target),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
