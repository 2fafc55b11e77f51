import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { INTELLIGENCE_METRIC } from "../../lambdas/lib/contract.js";
import type { MetricFactory } from "./metric-factory.js";

/**
 * Window intelligence's row on the stack's dashboard (docs/contract.md, "Window intelligence",
 * "Metrics"): the sends Wavy rejected outside the window and the delivery outcomes, the
 * snapshot's drift and its measured zone, the closing notices, and the intelligence alarms.
 * Each metric has a dimension set of its own, so each is shown by name (SEARCH, as the live
 * windows' are): an origin added later appears without a redeploy.
 */
export function addWindowIntelligenceWidgets(
  dashboard: cloudwatch.Dashboard,
  props: {
    metrics: MetricFactory;
    /** The counter's period: how often the reconciliation's figures are emitted. */
    counterPeriodSeconds: number;
    alarms: readonly cloudwatch.IAlarm[];
  },
): void {
  const { metrics, counterPeriodSeconds } = props;
  const fiveMinutes = Duration.minutes(5).toSeconds();
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Sends rejected outside the window (104/210), per origin and target",
      left: [metrics.byName(INTELLIGENCE_METRIC.sendsRejectedOutsideWindow, "Sum", fiveMinutes)],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Delivery outcomes, per origin and status",
      left: [metrics.byName(INTELLIGENCE_METRIC.deliveryOutcomes, "Sum", fiveMinutes)],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Closing notices sent / deferred",
      left: [metrics.byName(INTELLIGENCE_METRIC.closingNoticesSent, "Sum", fiveMinutes)],
      right: [metrics.byName(INTELLIGENCE_METRIC.closingNoticesDeferred, "Sum", fiveMinutes)],
      width: 8,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Snapshot drift: only in the CSV / only live / written",
      left: [
        metrics.byName(INTELLIGENCE_METRIC.windowsOnlyInSnapshot, "Maximum", counterPeriodSeconds),
        metrics.byName(INTELLIGENCE_METRIC.windowsOnlyLive, "Maximum", counterPeriodSeconds),
      ],
      right: [
        metrics.byName(INTELLIGENCE_METRIC.snapshotWindowsWritten, "Sum", counterPeriodSeconds),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "The CSV's measured UTC offset (minutes) and zone mismatch",
      left: [
        metrics.byName(INTELLIGENCE_METRIC.csvUtcOffsetMinutes, "Maximum", counterPeriodSeconds),
      ],
      right: [metrics.byName(INTELLIGENCE_METRIC.csvZoneMismatch, "Maximum", counterPeriodSeconds)],
      width: 12,
    }),
  );
  if (props.alarms.length > 0) {
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Window-intelligence alarms",
        alarms: [...props.alarms],
        width: 24,
        height: 2,
      }),
    );
  }
}
