import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../infra/config.js";
import { CFN_VARIANTS } from "../../scripts/cfn-variants.js";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth } from "./synth.js";
import { resourcesOf } from "./template.js";

/** Issue 21 composed in the stack (docs/contract.md, "Window intelligence", "Deployment settings"). */
const WITH_NOTICES = CFN_VARIANTS["closing-notices-and-rejected-sends-alarm"] ?? {};

let plain: Template;
let noticed: Synthesised;

beforeAll(() => {
  plain = synth(
    { targets: [{ customerId: "42", origins: ["5511999990000"] }, { customerId: "43" }] },
    { cfnValidation: false },
  ).template;
  noticed = synth(WITH_NOTICES, { cfnValidation: false });
}, SYNTH_TIMEOUT_MS * 2);

const functionsOf = (template: Template, service: string) =>
  Object.values(resourcesOf(template, "AWS::Lambda::Function")).filter(
    (fn) =>
      (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.POWERTOOLS_SERVICE_NAME === service,
  );

describe("window intelligence in the stack", () => {
  it("adds no sweeper while closingNotices is empty, and a zone alarm per target with origins", () => {
    expect(functionsOf(plain, "wavy-sessions-closing-notices")).toEqual([]);
    const names = Object.values(resourcesOf(plain, "AWS::CloudWatch::Alarm")).map(
      (alarm) => alarm.Properties.AlarmName,
    );
    expect(names).toContain("WavySessions/CsvZoneMismatch-42-all");
    expect(names).not.toContain("WavySessions/CsvZoneMismatch-43-all");
    expect(names.filter((name) => String(name).includes("SendsRejectedOutsideWindow"))).toEqual([]);
  });

  it("adds the sweeper with its settings, every 5 minutes, in its own schedule group", () => {
    const [sweeper] = functionsOf(noticed.template, "wavy-sessions-closing-notices");
    const environment = sweeper?.Properties.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;
    const variables = environment?.Variables ?? {};
    expect(JSON.parse(String(variables.CLOSING_NOTICES))).toEqual({
      "5511999990000": 60,
      "5521988887777": 30,
    });
    expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe("WavySessions");
    noticed.template.hasResourceProperties("AWS::Scheduler::ScheduleGroup", {
      Name: "WavySessions-notices",
    });
    noticed.template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(5 minutes)",
      GroupName: Match.anyValue(),
      FlexibleTimeWindow: { Mode: "OFF" },
    });
  });

  it("alarms on rejected sends per origin, to the stack's topic, and shows the figures", () => {
    const alarms = Object.values(resourcesOf(noticed.template, "AWS::CloudWatch::Alarm"));
    const rejected = alarms.filter((alarm) =>
      String(alarm.Properties.AlarmName).includes("SendsRejectedOutsideWindow-"),
    );
    expect(rejected.map((alarm) => alarm.Properties.AlarmName).sort()).toEqual([
      "WavySessions/SendsRejectedOutsideWindow-551133334444",
      "WavySessions/SendsRejectedOutsideWindow-5511999990000",
      "WavySessions/SendsRejectedOutsideWindow-5521988887777",
    ]);
    for (const alarm of rejected) {
      expect(alarm.Properties.Threshold).toBe(10);
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
    const [dashboard] = Object.values(resourcesOf(noticed.template, "AWS::CloudWatch::Dashboard"));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of [
      "SendsRejectedOutsideWindow",
      "DeliveryOutcomes",
      "WindowsOnlyInSnapshot",
      "CsvUtcOffsetMinutes",
      "ClosingNoticesSent",
    ])
      expect(body).toContain(metric);
  });

  it("refuses a bad closingNotices or threshold at synth, naming the key", () => {
    const read = (context: Record<string, unknown>) => () =>
      readConfig((key) => context[key] as never);
    expect(read({ closingNotices: '{"5511999990000": 5}' })).toThrow(ConfigError);
    expect(read({ closingNotices: '{"5511999990000": 5}' })).toThrow(
      /context "closingNotices" closingNoticeMinutes of 5511999990000 must be a whole number from 10 to 1440/,
    );
    expect(read({ rejectedSendsAlarmThreshold: "0" })).toThrow(/rejectedSendsAlarmThreshold/);
    expect(read({ closingNotices: '{"5511999990000": 60}' })().closingNotices).toEqual({
      "5511999990000": 60,
    });
  });
});
