import { describe, expect, it } from "vitest";
import {
  ConfigError,
  type ContextKey,
  MAX_TARGETS,
  readConfig,
  type WavySessionsConfig,
} from "../../infra/config.js";
import { LIMITS } from "../../lambdas/lib/contract.js";
import { SYNTH_TIMEOUT_MS, synth } from "./synth.js";

const read = (context: Partial<Record<ContextKey, unknown>>): WavySessionsConfig =>
  readConfig((key) => context[key]);

const rejection = (context: Partial<Record<ContextKey, unknown>>): string => {
  try {
    read(context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("configuration from CDK context", () => {
  it("defaults to no targets, a 15-minute schedule and a new secret", () => {
    const config = read({});
    expect(config).toEqual(
      expect.objectContaining({
        targets: [],
        scheduleExpression: "rate(15 minutes)",
        alarmPeriodSeconds: 900,
        scheduleFlexibleWindowMinutes: 5,
        secret: { kind: "create" },
        exportRetentionDays: 90,
        exportMemoryMb: 512,
        counterMemoryMb: 512,
        counterReservedConcurrency: 0,
        downloadOrigins: "https://chatclub-cdn.wavy.global,https://*.wavy.global",
        alarms: { kind: "none" },
      }),
    );
  });

  it("names the stack WavySessions unless told, and refuses what CloudFormation would", () => {
    expect(read({}).stackName).toBe("WavySessions");
    expect(read({ stackName: "Wavy-Staging2" }).stackName).toBe("Wavy-Staging2");
    expect(read({ stackName: "W".repeat(56) }).stackName).toHaveLength(56);
    for (const name of ["2wavy", "wavy_sessions", "wavy.sessions", "W".repeat(57), " "])
      expect(rejection({ stackName: name }), name).toContain('context "stackName" must start');
  });

  it("accepts ids as digit strings or integers and always keeps strings", () => {
    const config = read({
      targets: [{ customerId: 42 }, { customerId: "42", subAccountId: 7 }],
    });
    expect(config.targets).toEqual([{ customerId: "42" }, { customerId: "42", subAccountId: "7" }]);
  });

  it("accepts what `cdk -c key=value` passes: JSON and numbers as strings", () => {
    const config = read({
      targets: '[{"customerId":"1","subAccountId":"2"}]',
      exportMemoryMb: "2048",
      counterReservedConcurrency: "2",
    });
    expect(config.targets).toEqual([{ customerId: "1", subAccountId: "2" }]);
    expect(config.exportMemoryMb).toBe(2048);
    expect(config.counterReservedConcurrency).toBe(2);
  });

  it("rejects a bad id with the key and the rule in the message", () => {
    expect(rejection({ targets: [{ customerId: "042" }] })).toMatch(
      /context "targets\[0\]\.customerId" must be a positive integer id \(1-18 digits, no leading zero\)/,
    );
    expect(rejection({ targets: [{ customerId: "1", subAccountId: "0" }] })).toContain(
      'targets[0].subAccountId"',
    );
    expect(rejection({ targets: [{ customerId: "1234567890123456789" }] })).toContain("customerId");
    expect(rejection({ targets: [{ customerId: "1", subAccountId: "" }] })).toContain(
      "subAccountId",
    );
  });

  it("rejects unknown target fields, repeated targets and too many of them", () => {
    expect(rejection({ targets: [{ customerId: "1", subaccountId: "2" }] })).toContain("targets");
    expect(rejection({ targets: [{ customerId: "1" }, { customerId: 1 }] })).toContain(
      "repeats target 1/all",
    );
    const many = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => ({ customerId: String(i + 1) }));
    expect(rejection({ targets: many })).toContain("see docs/scaling.md");
  });

  it("rejects a schedule EventBridge Scheduler would refuse or that runs less than daily", () => {
    expect(rejection({ scheduleExpression: "every 15 minutes" })).toMatch(
      /context "scheduleExpression" "every 15 minutes" is not a recurring EventBridge Scheduler expression/,
    );
    expect(rejection({ scheduleExpression: "rate(1 minutes)" })).toContain('"1 minute"');
    expect(rejection({ scheduleExpression: "rate(0 minutes)" })).toContain("at least 1");
    expect(rejection({ scheduleExpression: "rate(2 days)" })).toContain("at most one run a day");
    expect(rejection({ scheduleExpression: "cron(0/15 * * * *)" })).toContain("scheduleExpression");
    expect(read({ scheduleExpression: "rate(1 hour)" }).alarmPeriodSeconds).toBe(3600);
  });

  // https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based:
  // day-of-month and day-of-week cannot both be given; one of them must be "?".
  it("validates cron the way Scheduler does: ? in exactly one of the two day fields", () => {
    const cron = (expression: string) => ({
      scheduleExpression: expression,
      alarmPeriodMinutes: 60,
    });
    for (const good of [
      "cron(0/15 * * * ? *)",
      "cron(0 9 ? * MON-FRI *)",
      "cron(0 0 L * ? 2026-2030)",
      "cron(15 10 ? * 6L *)",
      "cron(0 8 1,15 JAN-JUN ? *)",
    ])
      expect(read(cron(good)).scheduleExpression, good).toBe(good);
    for (const bad of [
      "cron(0/15 * * * * *)", // no "?": Scheduler refuses it at create
      "cron(0 9 ? * ? *)", // "?" in both
      "cron(? * * * ? *)", // "?" outside the day fields
      "cron(0 9 * * MON-FRI *)",
    ])
      expect(rejection(cron(bad)), bad).toContain('context "scheduleExpression"');
    expect(rejection(cron("cron(0/15 * * * * *)"))).toContain('"?"');
  });

  it("requires alarmPeriodMinutes for a cron schedule and uses it as the alarms' period", () => {
    const cron = "cron(0/15 * * * ? *)";
    expect(rejection({ scheduleExpression: cron })).toContain(
      'context "alarmPeriodMinutes" is required with a cron schedule',
    );
    expect(read({ scheduleExpression: cron, alarmPeriodMinutes: 30 }).alarmPeriodSeconds).toBe(
      1800,
    );
    expect(read({ scheduleExpression: "rate(15 minutes)" }).alarmPeriodSeconds).toBe(900);
    expect(
      read({ scheduleExpression: "rate(15 minutes)", alarmPeriodMinutes: "60" }).alarmPeriodSeconds,
    ).toBe(3600);
    expect(rejection({ scheduleExpression: "rate(15 minutes)", alarmPeriodMinutes: 5 })).toContain(
      "must not be shorter than the schedule's period (15 minutes)",
    );
    expect(rejection({ scheduleExpression: cron, alarmPeriodMinutes: 1441 })).toContain(
      '"alarmPeriodMinutes" must be at most 1440',
    );
    expect(
      rejection({
        scheduleExpression: cron,
        alarmPeriodMinutes: 5,
        scheduleFlexibleWindowMinutes: 10,
      }),
    ).toContain('"scheduleFlexibleWindowMinutes" must not exceed');
  });

  it("rejects a flexible window longer than the schedule's period", () => {
    expect(
      rejection({ scheduleExpression: "rate(5 minutes)", scheduleFlexibleWindowMinutes: 10 }),
    ).toContain("must not exceed the schedule's period (5 minutes)");
  });

  it("caps DOWNLOAD_URL_TTL_SECONDS at what the functions' role session lasts", () => {
    expect(LIMITS.maxDownloadUrlTtlSeconds).toBe(3_600);
    expect(read({}).downloadUrlTtlSeconds).toBe(900);
    expect(read({ downloadUrlTtlSeconds: 3_600 }).downloadUrlTtlSeconds).toBe(3_600);
    expect(rejection({ downloadUrlTtlSeconds: 3_601 })).toContain(
      'context "downloadUrlTtlSeconds" must be at most 3600',
    );
    expect(rejection({ downloadUrlTtlSeconds: 604_800 })).toContain("downloadUrlTtlSeconds");
  });

  it("takes an existing secret by name or by complete ARN, not both", () => {
    expect(read({ wavySecretName: "wavy/prod" }).secret).toEqual({
      kind: "name",
      secretName: "wavy/prod",
    });
    const arn = "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy/prod-AbCdEf";
    expect(read({ wavySecretArn: arn }).secret).toEqual({ kind: "arn", secretArn: arn });
    expect(
      rejection({ wavySecretArn: "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy" }),
    ).toContain("complete ARN");
    expect(rejection({ wavySecretName: "a", wavySecretArn: arn })).toContain(
      "either wavySecretName or wavySecretArn",
    );
  });

  it("takes the KMS key of an imported secret, by key ARN, and only for an imported secret", () => {
    const key = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const arn = "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy/prod-AbCdEf";
    expect(read({ wavySecretName: "wavy/prod", wavySecretKmsKeyArn: key }).secret).toEqual({
      kind: "name",
      secretName: "wavy/prod",
      kmsKeyArn: key,
    });
    expect(read({ wavySecretArn: arn, wavySecretKmsKeyArn: key }).secret).toEqual({
      kind: "arn",
      secretArn: arn,
      kmsKeyArn: key,
    });
    expect(read({ wavySecretArn: arn }).secret).toEqual({ kind: "arn", secretArn: arn });
    const multiRegion =
      "arn:aws:kms:sa-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    expect(read({ wavySecretName: "w", wavySecretKmsKeyArn: multiRegion }).secret).toEqual(
      expect.objectContaining({ kmsKeyArn: multiRegion }),
    );
    expect(rejection({ wavySecretKmsKeyArn: key })).toContain(
      'context "wavySecretKmsKeyArn" only applies to an imported secret',
    );
    expect(
      rejection({
        wavySecretName: "wavy/prod",
        wavySecretKmsKeyArn: "arn:aws:kms:sa-east-1:123456789012:alias/wavy",
      }),
    ).toContain("not an alias");
  });

  it("rejects bad numbers, origins, e-mail addresses and topic ARNs", () => {
    const message = rejection({
      exportMemoryMb: 64,
      exportRetentionDays: "ninety",
      logRetentionDays: 10,
      downloadOrigins: "ftp://wavy.global",
      alarmEmail: "not-an-address",
      wavyApiUrl: "http://api-messaging.wavy.global",
      counterReservedConcurrency: -1,
    });
    expect(message).toContain('"exportMemoryMb" must be at least 128');
    expect(message).toContain('"exportRetentionDays" must be an integer');
    expect(message).toContain('"logRetentionDays" must be one of');
    expect(message).toContain('"downloadOrigins" has an entry that is not an origin');
    expect(message).toContain('"alarmEmail" is not an e-mail address');
    expect(message).toContain('"wavyApiUrl" must be an https URL');
    expect(message).toContain('"counterReservedConcurrency" must be at least 0');
    expect(rejection({ alarmTopicArn: "arn:aws:sqs:us-east-1:123456789012:q" })).toContain(
      "alarmTopicArn",
    );
  });
});

describe("live-window settings (issue 20)", () => {
  it("keeps a target's origins as strings and leaves them out when none are listed", () => {
    const config = read({
      targets: [
        { customerId: "42", origins: ["5511999990000", "551133334444"] },
        { customerId: "43", origins: [] },
        { customerId: "44" },
      ],
    });
    expect(config.targets).toEqual([
      { customerId: "42", origins: ["5511999990000", "551133334444"] },
      { customerId: "43" },
      { customerId: "44" },
    ]);
  });

  it("refuses an origin that is not 8-15 digits, naming the target and the position", () => {
    for (const origin of [
      "1234567",
      "1234567890123456",
      "+5511999990000",
      "55 11 99999",
      5511999990000,
    ])
      expect(
        rejection({ targets: [{ customerId: "42", origins: [origin] }] }),
        String(origin),
      ).toMatch(/context "targets\[0\]\.origins\[0\]" must be/);
    expect(rejection({ targets: [{ customerId: "42", origins: "5511999990000" }] })).toContain(
      'context "targets[0].origins" must be a JSON array',
    );
  });

  it("refuses an origin listed twice, within a target or across two", () => {
    expect(
      rejection({
        targets: [
          { customerId: "42", origins: ["5511999990000"] },
          { customerId: "42", subAccountId: "7", origins: ["551133334444", "5511999990000"] },
        ],
      }),
    ).toContain(
      'context "targets[1].origins[1]" repeats origin 5511999990000, already listed for target 42/all',
    );
    expect(
      rejection({ targets: [{ customerId: "42", origins: ["5511999990000", "5511999990000"] }] }),
    ).toContain('context "targets[0].origins[1]" repeats origin');
  });

  it("keeps closed windows 7 days unless told, within WINDOW_RETENTION_DAYS's bounds", () => {
    expect(read({}).windowRetentionDays).toBe(7);
    expect(read({ windowRetentionDays: "30" }).windowRetentionDays).toBe(30);
    expect(rejection({ windowRetentionDays: 0 })).toContain(
      'context "windowRetentionDays" must be at least 1',
    );
    expect(rejection({ windowRetentionDays: 366 })).toContain(
      'context "windowRetentionDays" must be at most 365',
    );
  });

  it("accepts the previous webhook token only once there has been a rotation", () => {
    expect(read({})).toMatchObject({ webhookTokenVersion: 1, webhookAcceptPreviousToken: false });
    expect(read({ webhookTokenVersion: "2", webhookAcceptPreviousToken: "true" })).toMatchObject({
      webhookTokenVersion: 2,
      webhookAcceptPreviousToken: true,
    });
    expect(rejection({ webhookAcceptPreviousToken: true })).toContain(
      'context "webhookAcceptPreviousToken" needs webhookTokenVersion 2 or more',
    );
    expect(rejection({ webhookAcceptPreviousToken: "yes" })).toContain(
      'context "webhookAcceptPreviousToken" must be true or false',
    );
  });

  it("throttles the webhook API at 200/400 a second unless told, burst at least the rate", () => {
    expect(read({})).toMatchObject({
      webhookThrottleRateLimit: 200,
      webhookThrottleBurstLimit: 400,
    });
    expect(rejection({ webhookThrottleRateLimit: 500 })).toContain(
      'context "webhookThrottleBurstLimit" must be at least webhookThrottleRateLimit',
    );
  });
});

describe("configuration in the synthesised stack", () => {
  it(
    "grants GetSecretValue on the named secret's ARN pattern and passes its name",
    () => {
      const { template } = synth(
        {
          wavySecretName: "wavy/prod",
          alarmTopicArn: "arn:aws:sns:sa-east-1:123456789012:ops",
          targets: [{ customerId: "5" }],
        },
        { cfnValidation: false },
      );
      // No Wavy secret of our own: the one secret left is the webhook token's, generated at deploy.
      const secrets = Object.values(template.findResources("AWS::SecretsManager::Secret"));
      expect(
        secrets.map((secret) => secret.Properties.GenerateSecretString?.GenerateStringKey),
      ).toEqual(["token"]);
      const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
      );
      const secretResources = statements
        .filter((s) => s.Action === "secretsmanager:GetSecretValue")
        .map((s) => JSON.stringify(s.Resource));
      expect(secretResources).toHaveLength(3);
      for (const resource of secretResources)
        expect(resource).toContain(":secret:wavy/prod-??????");
      template.hasResourceProperties("AWS::Lambda::Function", {
        Environment: { Variables: { WAVY_SECRET_ID: "wavy/prod" } },
      });
      // An existing topic is used as is: no topic of our own, every alarm sends to it.
      expect(template.findResources("AWS::SNS::Topic")).toEqual({});
      for (const alarm of Object.values(template.findResources("AWS::CloudWatch::Alarm")))
        expect(alarm.Properties.AlarmActions).toEqual(["arn:aws:sns:sa-east-1:123456789012:ops"]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    "gives a cron schedule's alarms the period alarmPeriodMinutes names",
    () => {
      const { template } = synth(
        {
          scheduleExpression: "cron(0 8-20 ? * MON-FRI *)",
          alarmPeriodMinutes: 120,
          targets: [{ customerId: "5" }],
        },
        { cfnValidation: false },
      );
      template.hasResourceProperties("AWS::Scheduler::Schedule", {
        ScheduleExpression: "cron(0 8-20 ? * MON-FRI *)",
      });
      const periods = (value: unknown): number[] =>
        typeof value !== "object" || value === null
          ? []
          : Object.entries(value).flatMap(([key, child]) =>
              key === "Period" && typeof child === "number" ? [child] : periods(child),
            );
      const counterAlarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"))
        .map((alarm) => alarm.Properties)
        .filter((alarm) => /OpenSessions|WavyRequestFailed/.test(JSON.stringify(alarm)));
      expect(counterAlarms.length).toBeGreaterThanOrEqual(2);
      for (const alarm of counterAlarms) expect(new Set(periods(alarm))).toEqual(new Set([7200]));
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    `fits ${MAX_TARGETS} targets within CloudFormation's 500 resources per stack`,
    () => {
      const targets = Array.from({ length: MAX_TARGETS }, (_, i) => ({
        customerId: String(i + 1),
      }));
      const { template } = synth(
        {
          targets,
          wavySecretArn: "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy-AbCdEf",
        },
        { cfnValidation: false },
      );
      const json = template.toJSON() as { Resources: Record<string, unknown> };
      expect(Object.keys(json.Resources).length).toBeLessThanOrEqual(500);
      // One per target, and the export sweeper's (issue 19).
      template.resourceCountIs("AWS::Scheduler::Schedule", MAX_TARGETS + 1);
      // Issue 21's intelligence (a zone alarm per target with origins) does not fit beside
      // them: refused at synth, naming the key.
      expect(() =>
        synth(
          {
            targets: targets.map((target, i) => ({
              ...target,
              origins: [String(5511900000000 + i)],
            })),
            wavySecretArn: "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy-AbCdEf",
          },
          { cfnValidation: false },
        ),
      ).toThrow(
        /context "targets" with these targets, origins, alarms and closing notices the stack holds \d+ resources, over CloudFormation's 500/,
      );
      template.hasResourceProperties("AWS::Lambda::Function", {
        Environment: {
          Variables: {
            WAVY_SECRET_ID: "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy-AbCdEf",
          },
        },
      });
    },
    SYNTH_TIMEOUT_MS,
  );
});
