import {
  type CloudWatchClient,
  type CompositeAlarm,
  DescribeAlarmsCommand,
  type MetricAlarm,
} from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { type Check, failed, passed } from "./checklist.js";

export const HEALTH_CHECK = {
  deadLetters: "dead-letter queue is empty",
  alarms: "no alarm in ALARM",
} as const;

/**
 * Visible, in-flight and delayed messages together (`sqs:GetQueueAttributes`,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-resources-required-process-messages.html):
 * someone reading the queue hides messages without removing them, so visible alone is not enough.
 */
const QUEUE_COUNTS = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

export async function checkDeadLetterQueue(queueUrl: string, sqs: SQSClient): Promise<Check> {
  try {
    const answer = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...QUEUE_COUNTS] }),
    );
    const counts = QUEUE_COUNTS.map((name) => Number(answer.Attributes?.[name] ?? "NaN"));
    const [visible, inFlight, delayed] = counts;
    const seen = `${visible} visible, ${inFlight} in flight, ${delayed} delayed`;
    if (counts.some((count) => !Number.isFinite(count))) {
      return failed(HEALTH_CHECK.deadLetters, `the queue did not report its counts (${seen})`);
    }
    if (counts.some((count) => count > 0)) {
      return failed(
        HEALTH_CHECK.deadLetters,
        `${seen}: failed counts are waiting (docs/deploying.md says how to inspect and redrive them)`,
      );
    }
    return passed(HEALTH_CHECK.deadLetters, seen);
  } catch (error) {
    return failed(
      HEALTH_CHECK.deadLetters,
      `GetQueueAttributes failed: ${(error as Error).message}`,
    );
  }
}

/**
 * Every alarm whose name starts with the stack's prefix (`cloudwatch:DescribeAlarms`,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html),
 * page by page: a stack with 200 targets has more alarms than one page holds.
 */
export async function checkAlarms(prefix: string, cloudWatch: CloudWatchClient): Promise<Check> {
  const alarms: (MetricAlarm | CompositeAlarm)[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await cloudWatch.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: prefix,
          AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
          NextToken: nextToken,
        }),
      );
      alarms.push(...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    return failed(HEALTH_CHECK.alarms, `DescribeAlarms failed: ${(error as Error).message}`);
  }
  if (alarms.length === 0) {
    // Nothing to judge is not a pass: the prefix is wrong, or the stack lost its alarms.
    return failed(HEALTH_CHECK.alarms, `no alarm is named ${prefix}*: pass --alarm-prefix`);
  }
  const byState = new Map<string, string[]>();
  for (const alarm of alarms) {
    const state = alarm.StateValue ?? "UNKNOWN";
    byState.set(state, [...(byState.get(state) ?? []), alarm.AlarmName ?? "(unnamed)"]);
  }
  const tally = [...byState.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, names]) => `${names.length} ${state}`)
    .join(", ");
  const alarming = byState.get("ALARM") ?? [];
  if (alarming.length > 0) {
    return failed(HEALTH_CHECK.alarms, `${tally} of ${prefix}*; in ALARM: ${alarming.join(", ")}`);
  }
  return passed(HEALTH_CHECK.alarms, `${tally} of ${prefix}*`);
}
