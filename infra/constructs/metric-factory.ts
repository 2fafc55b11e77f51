import { Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { ALL_SUB_ACCOUNTS, DIMENSION, METRIC, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import type { CountTarget } from "../config.js";

/** CloudWatch alarm metric math takes at most 10 metrics per alarm. */
export const METRICS_PER_ALARM = 10;

/** The window of the service alarms and the dashboard's service graphs. */
const FIVE_MINUTES = Duration.minutes(5);

export interface MetricFactoryProps {
  /** The functions' POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricsNamespace: string;
  /** The longest gap between two counts of one target: the counter metrics' period. */
  readonly alarmPeriodSeconds: number;
}

/**
 * Every metric the stack watches, defined once (docs/contract.md, "Metrics"): the alarms and the
 * dashboard (infra/constructs/observability.ts, dashboard.ts) are built from these, as
 * cdk-monitoring-constructs' MetricFactory classes stand apart from the monitorings that use them.
 */
export class MetricFactory {
  private readonly period: Duration;

  constructor(private readonly props: MetricFactoryProps) {
    this.period = Duration.seconds(props.alarmPeriodSeconds);
  }

  /**
   * One target's metric with the exact dimension set the counter emits (docs/contract.md,
   * "Metrics"): CloudWatch matches a metric only by its full set, and Powertools adds `service`.
   */
  targetMetric(metricName: string, target: CountTarget, statistic: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.props.metricsNamespace,
      metricName,
      dimensionsMap: {
        [DIMENSION.customerId]: target.customerId,
        [DIMENSION.subAccountId]: target.subAccountId ?? ALL_SUB_ACCOUNTS,
        [DIMENSION.service]: SERVICE_NAME.counter,
      },
      statistic,
      period: this.period,
    });
  }

  /** `WavyRequestFailed` summed across at most METRICS_PER_ALARM targets (metric math's limit). */
  wavyRequestFailed(targets: readonly CountTarget[]): cloudwatch.MathExpression {
    if (targets.length > METRICS_PER_ALARM) {
      throw new Error(`at most ${METRICS_PER_ALARM} targets per alarm, not ${targets.length}`);
    }
    const usingMetrics = Object.fromEntries(
      targets.map((target, index) => [
        `f${index}`,
        this.targetMetric(METRIC.wavyRequestFailed, target, "Sum"),
      ]),
    );
    return new cloudwatch.MathExpression({
      expression: `SUM([${Object.keys(usingMetrics).join(",")}])`,
      usingMetrics,
      label: METRIC.wavyRequestFailed,
      period: this.period,
    });
  }

  /**
   * A target's recorded runs: a run either counted (`OpenSessions`) or found the secret still
   * holding its placeholder (`NotConfigured`); FILL makes a period with one but not the other
   * add up instead of vanishing from the sum.
   */
  counterRuns(target: CountTarget): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: "FILL(counted, 0) + FILL(notConfigured, 0)",
      usingMetrics: {
        counted: this.targetMetric(METRIC.openSessions, target, "SampleCount"),
        notConfigured: this.targetMetric(METRIC.notConfigured, target, "SampleCount"),
      },
      label: "Counter runs",
      period: this.period,
    });
  }

  /**
   * One counter metric of every target, by SEARCH rather than one line per target: it scales
   * past the per-graph metric limit and keeps showing a target's history after it is removed
   * from the configuration.
   */
  perTarget(metricName: string, statistic: string, label = ""): cloudwatch.MathExpression {
    const { metricsNamespace } = this.props;
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${metricsNamespace},${DIMENSION.customerId},${DIMENSION.subAccountId},${DIMENSION.service}} MetricName="${metricName}"', '${statistic}', ${this.period.toSeconds()})`,
      usingMetrics: {},
      label,
      period: this.period,
    });
  }

  /**
   * Every series of one metric by name alone, whatever its dimensions: for the live windows'
   * metrics, each with a dimension set of its own (docs/contract.md, "Live windows"); SEARCH keeps
   * a removed origin's history on view.
   */
  byName(metricName: string, statistic: string, seconds: number): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${this.props.metricsNamespace}} MetricName="${metricName}"', '${statistic}', ${seconds})`,
      usingMetrics: {},
      label: "",
      period: Duration.seconds(seconds),
    });
  }

  functionErrors(fn: lambda.IFunction, statistic?: string): cloudwatch.Metric {
    return fn.metricErrors({ period: FIVE_MINUTES, ...(statistic && { statistic }) });
  }

  functionDuration(fn: lambda.IFunction, statistic: string): cloudwatch.Metric {
    return fn.metricDuration({ statistic, period: FIVE_MINUTES });
  }

  functionInvocations(fn: lambda.IFunction): cloudwatch.Metric {
    return fn.metricInvocations({ period: FIVE_MINUTES });
  }

  functionThrottles(fn: lambda.IFunction): cloudwatch.Metric {
    return fn.metricThrottles({ period: FIVE_MINUTES });
  }

  apiServerErrors(api: apigateway.RestApi, statistic?: string): cloudwatch.Metric {
    return api.metricServerError({ period: FIVE_MINUTES, ...(statistic && { statistic }) });
  }

  apiClientErrors(api: apigateway.RestApi): cloudwatch.Metric {
    return api.metricClientError({ period: FIVE_MINUTES });
  }

  apiLatency(api: apigateway.RestApi, statistic: string): cloudwatch.Metric {
    return api.metricLatency({ statistic, period: FIVE_MINUTES });
  }

  apiCount(api: apigateway.RestApi): cloudwatch.Metric {
    return api.metricCount({ period: FIVE_MINUTES });
  }

  apiIntegrationLatency(api: apigateway.RestApi, statistic: string): cloudwatch.Metric {
    return api.metricIntegrationLatency({ statistic, period: FIVE_MINUTES });
  }

  /** The age of a queue's oldest message: the most seen in five minutes. */
  oldestMessageAge(queue: sqs.IQueue): cloudwatch.Metric {
    return queue.metricApproximateAgeOfOldestMessage({
      period: FIVE_MINUTES,
      statistic: "Maximum",
    });
  }

  /** Messages waiting in a dead-letter queue: the most seen in five minutes. */
  /** Messages waiting in the dead-letter queue, summed with the companion's own when given. */
  deadLetters(queue: sqs.IQueue, companionQueue?: sqs.IQueue): cloudwatch.IMetric {
    const visible = (q: sqs.IQueue) =>
      q.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: "Maximum" });
    if (!companionQueue) return visible(queue);
    return new cloudwatch.MathExpression({
      expression: "stack + companion",
      usingMetrics: { stack: visible(queue), companion: visible(companionQueue) },
      period: FIVE_MINUTES,
      label: "Dead-lettered events",
    });
  }
}
