import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import {
  ALL_SUB_ACCOUNTS,
  DIMENSION,
  INTELLIGENCE_DIMENSION,
  INTELLIGENCE_METRIC,
  SERVICE_NAME,
} from "../../lambdas/lib/contract.js";

export interface IntelligenceTarget {
  readonly customerId: string;
  readonly subAccountId?: string;
  readonly origins?: readonly string[];
}

export interface WindowIntelligenceAlarmsProps {
  readonly namespace: string;
  /** `<stack>/`: every alarm's name starts so. */
  readonly alarmNamePrefix: string;
  readonly targets: readonly IntelligenceTarget[];
  /** The counter's alarm period (its schedule's): the longest gap between two measurements. */
  readonly counterPeriod: Duration;
  /** POWERTOOLS_SERVICE_NAME of the queue processor (issue 20's window-events function). */
  readonly processorServiceName: string;
  /**
   * The alarm option of issue 21: alarm when an origin's sends rejected outside the window reach
   * this many in 5 minutes. @default no such alarm
   */
  readonly rejectedSendsThreshold?: number;
  readonly action?: cloudwatch.IAlarmAction;
}

/**
 * The window-intelligence alarms (docs/contract.md, "Window intelligence"): the CSV's measured
 * zone against WAVY_TIMEZONE per reconciled target, and optionally the rejected sends per origin.
 * Metrics are built from the contract's names and the exact dimension sets the functions emit
 * (CloudWatch matches a metric only on all of them).
 */
export class WindowIntelligenceAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: WindowIntelligenceAlarmsProps) {
    super(scope, id);
    for (const target of props.targets) {
      if (!target.origins?.length) continue;
      const label = `${target.customerId}-${target.subAccountId ?? ALL_SUB_ACCOUNTS}`;
      const mismatch = new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: INTELLIGENCE_METRIC.csvZoneMismatch,
        dimensionsMap: {
          [DIMENSION.customerId]: target.customerId,
          [DIMENSION.subAccountId]: target.subAccountId ?? ALL_SUB_ACCOUNTS,
          [DIMENSION.service]: SERVICE_NAME.counter,
        },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: props.counterPeriod,
      });
      this.add(`CsvZoneMismatch-${label}`, props, {
        metric: mismatch,
        threshold: 1,
        description: `The CSV's measured UTC offset for customer ${target.customerId} disagrees with WAVY_TIMEZONE: the closing-soon figures are off by the difference (docs/contract.md, "Measuring the CSV's zone").`,
      });
    }
    if (props.rejectedSendsThreshold === undefined) return;
    const origins = new Set(props.targets.flatMap((target) => target.origins ?? []));
    for (const origin of origins) {
      const rejected = new cloudwatch.Metric({
        namespace: props.namespace,
        metricName: INTELLIGENCE_METRIC.sendsRejectedOutsideWindow,
        dimensionsMap: {
          [INTELLIGENCE_DIMENSION.origin]: origin,
          [DIMENSION.service]: props.processorServiceName,
        },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      });
      this.add(`SendsRejectedOutsideWindow-${origin}`, props, {
        metric: rejected,
        threshold: props.rejectedSendsThreshold,
        description: `Sends from ${origin} rejected by Wavy because the user's window was closed (codes 104/210).`,
      });
    }
  }

  private add(
    id: string,
    props: WindowIntelligenceAlarmsProps,
    alarm: { metric: cloudwatch.Metric; threshold: number; description: string },
  ): void {
    const created = new cloudwatch.Alarm(this, id, {
      alarmName: `${props.alarmNamePrefix}${id}`,
      alarmDescription: alarm.description,
      metric: alarm.metric,
      threshold: alarm.threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Nothing emitted: an undecided measurement, or no rejected send. Not an alarm.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.action) created.addAlarmAction(props.action);
    this.alarms.push(created);
  }
}
