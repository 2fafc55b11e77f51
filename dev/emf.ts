import {
  type CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";

/**
 * What CloudWatch Logs does with a function's log line in the Embedded Metric Format: find the
 * metric directives and turn them into metric data, so a local run can feed a CloudWatch
 * emulator (moto) the way Lambda's log pipeline feeds CloudWatch. Hand-written: the published
 * EMF libraries (aws-embedded-metrics) only produce the format, none reads it.
 *
 * Follows the specification,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html:
 * the root holds `_aws: {Timestamp, CloudWatchMetrics: [MetricDirective]}`; a directive names a
 * Namespace, a list of DimensionSets (each an array of root member names whose string values are
 * the dimensions) and Metrics (`{Name, Unit?, StorageResolution?}`, the value being the root
 * member of that name: a number, or an array of numbers).
 */

interface MetricDefinition {
  Name: string;
  Unit?: string;
  StorageResolution?: number;
}

interface MetricDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: MetricDefinition[];
}

export interface EmfDocument {
  timestamp: Date;
  directives: MetricDirective[];
  members: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isDirective(value: unknown): value is MetricDirective {
  return (
    isRecord(value) &&
    typeof value.Namespace === "string" &&
    Array.isArray(value.Dimensions) &&
    value.Dimensions.every(
      (set) => Array.isArray(set) && set.every((key) => typeof key === "string"),
    ) &&
    Array.isArray(value.Metrics) &&
    value.Metrics.every((metric) => isRecord(metric) && typeof metric.Name === "string")
  );
}

/** The EMF document on one log line, or undefined for any other line (as CloudWatch ignores it). */
export function parseEmfLine(line: string): EmfDocument | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return undefined;
  let root: unknown;
  try {
    root = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isRecord(root) || !isRecord(root._aws)) return undefined;
  const { Timestamp, CloudWatchMetrics } = root._aws;
  if (typeof Timestamp !== "number" || !Array.isArray(CloudWatchMetrics)) return undefined;
  if (!CloudWatchMetrics.every(isDirective)) return undefined;
  return { timestamp: new Date(Timestamp), directives: CloudWatchMetrics, members: root };
}

/** One PutMetricData request per directive: a directive has exactly one namespace. */
export function toPutMetricData(document: EmfDocument): PutMetricDataCommandInput[] {
  return document.directives.map((directive) => {
    const data: MetricDatum[] = [];
    const dimensionSets = directive.Dimensions.length > 0 ? directive.Dimensions : [[]];
    for (const metric of directive.Metrics) {
      const value = document.members[metric.Name];
      const values = (Array.isArray(value) ? value : [value]).filter(
        (v): v is number => typeof v === "number",
      );
      if (values.length === 0) continue;
      for (const set of dimensionSets) {
        data.push({
          MetricName: metric.Name,
          Timestamp: document.timestamp,
          Unit: metric.Unit as MetricDatum["Unit"],
          StorageResolution: metric.StorageResolution,
          Dimensions: set.map((key) => ({ Name: key, Value: String(document.members[key]) })),
          ...(values.length === 1 ? { Value: values[0] } : { Values: values }),
        });
      }
    }
    return { Namespace: directive.Namespace, MetricData: data };
  });
}

/**
 * A log-line sink for the Lambda stand-in: EMF lines become PutMetricData calls, as CloudWatch
 * Logs extracts them in AWS; every other line goes to `otherLine`.
 */
export function forwardEmfToCloudWatch(
  cloudWatch: CloudWatchClient,
  otherLine: (line: string) => void = () => {},
): (line: string) => Promise<void> {
  return async (line) => {
    const document = parseEmfLine(line);
    if (!document) {
      otherLine(line);
      return;
    }
    for (const input of toPutMetricData(document)) {
      if (input.MetricData?.length) await cloudWatch.send(new PutMetricDataCommand(input));
    }
  };
}
