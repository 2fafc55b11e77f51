import { Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { METRIC } from "../../lambdas/lib/contract.js";
import type { MetricFactory } from "./metric-factory.js";

export interface DashboardProps {
  readonly dashboardName: string;
  readonly metrics: MetricFactory;
  /** The service alarms, in one status widget. */
  readonly alarms: cloudwatch.IAlarm[];
  readonly exportFunction: lambda.IFunction;
  readonly counterFunction: lambda.IFunction;
  readonly api: apigateway.RestApi;
  readonly deadLetterQueue: sqs.IQueue;
  /** The companion function's own dead-letter queue, summed with the stack's. */
  readonly companionDeadLetterQueue?: sqs.IQueue;
}

/** The stack's one dashboard: the alarms' states, then the figures, built from the metric factory. */
export function buildDashboard(
  scope: Construct,
  id: string,
  props: DashboardProps,
): cloudwatch.Dashboard {
  const { metrics, exportFunction, counterFunction, api } = props;
  const dashboard = new cloudwatch.Dashboard(scope, id, {
    dashboardName: props.dashboardName,
    defaultInterval: Duration.days(1),
  });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: "Alarms",
      alarms: props.alarms,
      width: 24,
      height: 3,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Open sessions per target",
      left: [metrics.perTarget(METRIC.openSessions, "Maximum")],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "Sessions closing within 1 h / 4 h",
      left: [metrics.perTarget(METRIC.expiringWithin1h, "Maximum")],
      right: [metrics.perTarget(METRIC.expiringWithin4h, "Maximum")],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Export latency",
      left: [
        metrics.functionDuration(exportFunction, "p50"),
        metrics.functionDuration(exportFunction, "p99"),
      ],
      right: [metrics.apiLatency(api, "p50"), metrics.apiLatency(api, "p99")],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "Export errors",
      left: [
        metrics.functionErrors(exportFunction),
        metrics.apiClientErrors(api),
        metrics.apiServerErrors(api),
      ],
      right: [metrics.apiCount(api)],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Counter failures",
      left: [
        metrics.perTarget(METRIC.wavyRequestFailed, "Sum"),
        metrics.perTarget(METRIC.unparseableTimestamps, "Sum"),
        metrics.perTarget(METRIC.notConfigured, "Sum"),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "Counter runs",
      left: [
        metrics.functionInvocations(counterFunction),
        metrics.functionErrors(counterFunction),
        metrics.functionThrottles(counterFunction),
      ],
      right: [metrics.deadLetters(props.deadLetterQueue, props.companionDeadLetterQueue)],
      width: 12,
    }),
  );
  return dashboard;
}
