import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { WindowIntelligenceAlarms } from "../../infra/constructs/window-intelligence-alarms.js";

function synth(rejectedSendsThreshold?: number) {
  const stack = new Stack(new App(), "AlarmsTest");
  new WindowIntelligenceAlarms(stack, "Intelligence", {
    namespace: "WavySessions",
    alarmNamePrefix: "WavySessions/",
    targets: [
      { customerId: "42", origins: ["5511999990000"] },
      { customerId: "42", subAccountId: "7", origins: ["5511999990000", "5511888880000"] },
      { customerId: "43" },
    ],
    counterPeriod: Duration.minutes(15),
    processorServiceName: "wavy-sessions-window-events",
    rejectedSendsThreshold,
  });
  return Template.fromStack(stack);
}

describe("WindowIntelligenceAlarms", () => {
  it("alarms per reconciled target when the CSV's measured zone disagrees, on the counter's exact dimensions", () => {
    const template = synth();
    template.resourceCountIs("AWS::CloudWatch::Alarm", 2);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "WavySessions/CsvZoneMismatch-42-7",
      MetricName: "CsvZoneMismatch",
      Namespace: "WavySessions",
      Statistic: "Maximum",
      Period: 900,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
      Dimensions: Match.arrayEquals([
        { Name: "CustomerId", Value: "42" },
        { Name: "SubAccountId", Value: "7" },
        { Name: "service", Value: "wavy-sessions-counter" },
      ]),
    });
  });

  it("adds one rejected-sends alarm per origin when asked", () => {
    const template = synth(5);
    const alarms = template.findResources("AWS::CloudWatch::Alarm", {
      Properties: { MetricName: "SendsRejectedOutsideWindow" },
    });
    expect(Object.keys(alarms)).toHaveLength(2);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "WavySessions/SendsRejectedOutsideWindow-5511888880000",
      Threshold: 5,
      Dimensions: Match.arrayEquals([
        { Name: "Origin", Value: "5511888880000" },
        { Name: "service", Value: "wavy-sessions-window-events" },
      ]),
    });
  });
});
