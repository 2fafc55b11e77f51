import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { METRIC, SECRET_PLACEHOLDER, SERVICE_NAME } from "../../lambdas/lib/contract.js";
import { SYNTH_TIMEOUT_MS, synth, TEST_TARGETS } from "./synth.js";
import {
  ENV,
  globMatches,
  type Json,
  listOf,
  logicalIdOf,
  resolve,
  resourcesOf,
  type Statement,
  statementsOfRole,
} from "./template.js";

/**
 * What AWS itself requires at each edge between two services (issue 9), checked against the
 * synthesised template with the request context AWS documents for that edge.
 */

/** One synth per context, shared by the blocks that read it (cdk-nag runs; CDK's linter not). */
const synthesised = new Map<string, Template>();
const templateFor = (context: Record<string, unknown>): Template => {
  const key = JSON.stringify(context);
  let found = synthesised.get(key);
  if (!found) {
    found = synth(context, { cfnValidation: false }).template;
    synthesised.set(key, found);
  }
  return found;
};
const DEFAULT = { targets: TEST_TARGETS, alarmEmail: "ops@example.com" };

let template: Template;
beforeAll(() => {
  template = templateFor(DEFAULT);
}, SYNTH_TIMEOUT_MS);

const onlyOne = <T>(values: Record<string, T>): [string, T] => {
  const entries = Object.entries(values);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, T];
};

describe("EventBridge Scheduler -> counter and dead-letter queue", () => {
  // Scheduler assumes the execution role with aws:SourceArn = the schedule GROUP's ARN:
  // https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
  it("can assume the schedules' role: trusted for the group's ARN and the account", () => {
    // The counter's group, and the export sweeper's (issue 19): each schedule trusted for its own.
    const groups = Object.entries(resourcesOf(template, "AWS::Scheduler::ScheduleGroup"));
    const schedules = Object.values(resourcesOf(template, "AWS::Scheduler::Schedule"));
    expect(schedules).toHaveLength(TEST_TARGETS.length + 1);
    for (const schedule of schedules) {
      const [groupId, group] =
        groups.find(([, g]) => g.Properties.Name === schedule.Properties.GroupName) ?? [];
      if (!group || !groupId) {
        throw new Error(`no group named ${String(schedule.Properties.GroupName)}`);
      }
      const groupArn = `arn:aws:scheduler:${ENV.region}:${ENV.account}:schedule-group/${String(group.Properties.Name)}`;
      const target = schedule.Properties.Target as Json;
      const roleId = logicalIdOf(target.RoleArn);
      const role = resourcesOf(template, "AWS::IAM::Role")[roleId ?? ""];
      if (!role) throw new Error(`no role behind ${JSON.stringify(target.RoleArn)}`);
      const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] })
        .Statement;
      const allowsScheduler = trust.some((statement) => {
        if (statement.Effect !== "Allow") return false;
        const principal = statement.Principal as { Service?: string };
        if (principal.Service !== "scheduler.amazonaws.com") return false;
        const conditions = statement.Condition ?? {};
        const sourceArn = [
          ...["StringEquals", "ArnEquals"].map((op) => [op, conditions[op]?.["aws:SourceArn"]]),
          ...["StringLike", "ArnLike"].map((op) => [op, conditions[op]?.["aws:SourceArn"]]),
        ].filter(([, value]) => value !== undefined) as [string, unknown][];
        const account = resolve(template, conditions.StringEquals?.["aws:SourceAccount"]);
        return (
          account === ENV.account &&
          sourceArn.length === 1 &&
          sourceArn.every(([op, value]) => {
            const arn = resolve(template, value);
            if (typeof arn !== "string") return false;
            return op.endsWith("Like") ? globMatches(arn, groupArn) : arn === groupArn;
          })
        );
      });
      expect(allowsScheduler, `trust policy of ${roleId}`).toBe(true);
      // CloudFormation must create the group before a schedule names it.
      const dependsOnGroup =
        listOf(schedule.DependsOn).includes(groupId) ||
        logicalIdOf(schedule.Properties.GroupName) === groupId;
      expect(dependsOnGroup, "schedule depends on its group").toBe(true);
    }
  });

  it("invokes the counter and dead-letters with that same role", () => {
    for (const schedule of Object.values(resourcesOf(template, "AWS::Scheduler::Schedule"))) {
      const target = schedule.Properties.Target as Json;
      const roleId = logicalIdOf(target.RoleArn) ?? "";
      const statements = statementsOfRole(template, roleId);
      const grants = (action: string, resource: unknown) =>
        statements.some(
          (s) =>
            s.Effect === "Allow" &&
            listOf(s.Action).includes(action) &&
            listOf(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(resource)),
        );
      expect(grants("lambda:InvokeFunction", target.Arn)).toBe(true);
      const deadLetters = (target.DeadLetterConfig as { Arn: unknown }).Arn;
      expect(grants("sqs:SendMessage", deadLetters)).toBe(true);
    }
  });
});

describe("CloudWatch alarms -> SNS topic -> e-mail", () => {
  // A TopicPolicy replaces SNS's default policy; the alarms publish as cloudwatch.amazonaws.com
  // with their own ARN as aws:SourceArn:
  // https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
  it("lets this stack's alarms publish to the topic, and no other account's or stack's", () => {
    const [topicId] = onlyOne(resourcesOf(template, "AWS::SNS::Topic"));
    const [, policy] = onlyOne(resourcesOf(template, "AWS::SNS::TopicPolicy"));
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const fromAlarms = statements.filter(
      (s) =>
        s.Effect === "Allow" &&
        (s.Principal as { Service?: string }).Service === "cloudwatch.amazonaws.com",
    );
    expect(fromAlarms).toHaveLength(1);
    const [statement] = fromAlarms as [Statement];
    expect(listOf(statement.Action)).toEqual(["sns:Publish"]);
    expect(statement.Resource).toEqual({ Ref: topicId });
    expect(resolve(template, statement.Condition?.StringEquals?.["aws:SourceAccount"])).toBe(
      ENV.account,
    );
    const pattern = resolve(template, statement.Condition?.ArnLike?.["aws:SourceArn"]);
    expect(typeof pattern).toBe("string");

    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm"));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      const name = alarm.Properties.AlarmName;
      expect(typeof name, "alarms have names the policy can know").toBe("string");
      const arn = `arn:aws:cloudwatch:${ENV.region}:${ENV.account}:alarm:${String(name)}`;
      expect(globMatches(String(pattern), arn), arn).toBe(true);
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    // Another stack's alarms are not let in, even one whose stack name starts with this one's.
    for (const name of ["Other/NoCount-42-all", "WavySessions-Staging/NoCount-42-all"]) {
      const other = `arn:aws:cloudwatch:${ENV.region}:${ENV.account}:alarm:${name}`;
      expect(globMatches(String(pattern), other), name).toBe(false);
    }
  });

  // OKActions run on every transition to OK, INSUFFICIENT_DATA -> OK at creation included:
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  it("mails nothing when a new alarm first settles to OK", () => {
    for (const alarm of Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm"))) {
      expect(alarm.Properties.OKActions).toBeUndefined();
      expect(alarm.Properties.InsufficientDataActions).toBeUndefined();
    }
  });
});

describe("two stacks in one account and region", () => {
  let secondStack: Template;
  beforeAll(() => {
    secondStack = templateFor({ ...DEFAULT, stackName: "WavySessionsStaging" });
  }, SYNTH_TIMEOUT_MS);

  /** Every name the stack gives a resource, and every namespace and API it selects metrics by. */
  const names = (t: Template): string[] => {
    const found: string[] = [];
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item);
      } else if (typeof value === "object" && value !== null) {
        const json = value as Json;
        if (typeof json.Namespace === "string" && !json.Namespace.startsWith("AWS/"))
          found.push(`Namespace=${json.Namespace}`);
        if (json.Name === "ApiName" && typeof json.Value === "string")
          found.push(`ApiName=${json.Value}`);
        for (const child of Object.values(json)) visit(child);
      }
    };
    for (const resource of Object.values(t.toJSON().Resources as Record<string, Json>)) {
      const properties = (resource.Properties ?? {}) as Json;
      for (const key of ["Name", "GroupName", "DashboardName", "AlarmName"]) {
        const name = resolve(t, properties[key]);
        if (typeof name === "string") found.push(`${key}=${name}`);
      }
      visit(properties);
    }
    // The functions' namespace comes from their environment.
    for (const fn of Object.values(resourcesOf(t, "AWS::Lambda::Function"))) {
      const variables = (fn.Properties.Environment as { Variables: Json }).Variables;
      found.push(`Namespace=${String(variables.POWERTOOLS_METRICS_NAMESPACE)}`);
    }
    return found;
  };

  it("name the REST API, schedule group, dashboard and alarms after the stack", () => {
    const staging = names(secondStack);
    for (const kind of ["GroupName", "DashboardName", "AlarmName", "ApiName", "Namespace"])
      expect(
        staging.some((name) => name.startsWith(`${kind}=`)),
        kind,
      ).toBe(true);
    // The export API and the webhooks' API (docs/contract.md, "Webhooks (deployed)").
    const apis = Object.values(resourcesOf(secondStack, "AWS::ApiGateway::RestApi"));
    expect(apis.map((api) => api.Properties.Name).sort()).toEqual([
      "WavySessionsStaging",
      "WavySessionsStaging-webhooks",
    ]);
    for (const group of Object.values(resourcesOf(secondStack, "AWS::Scheduler::ScheduleGroup")))
      expect(String(group.Properties.Name)).toMatch(/^WavySessionsStaging-/);
    for (const alarm of Object.values(resourcesOf(secondStack, "AWS::CloudWatch::Alarm")))
      expect(String(alarm.Properties.AlarmName)).toMatch(/^WavySessionsStaging\//);
  });

  it("share no name and select no metric of the other", () => {
    const first = new Set(names(template));
    expect(first.size).toBeGreaterThan(0);
    expect(names(secondStack).filter((name) => first.has(name))).toEqual([]);
  });

  it("gives each 5xx alarm the dimension of its own API", () => {
    const alarms = Object.values(resourcesOf(secondStack, "AWS::CloudWatch::Alarm")).filter(
      (a) => a.Properties.MetricName === "5XXError",
    );
    const dimension = (suffix: string) =>
      alarms.find((a) => String(a.Properties.AlarmName).endsWith(suffix))?.Properties.Dimensions;
    expect(dimension("/Api5xx")).toEqual([{ Name: "ApiName", Value: "WavySessionsStaging" }]);
    expect(dimension("/WebhookApi5xx")).toEqual([
      { Name: "ApiName", Value: "WavySessionsStaging-webhooks" },
    ]);
  });
});

describe("Lambda concurrency", () => {
  // Lambda keeps at least 100 (or the whole quota on young accounts, 10 or 50) unreserved:
  // https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
  const counter = (t: Template) =>
    Object.values(resourcesOf(t, "AWS::Lambda::Function")).find(
      (fn) =>
        (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
        SERVICE_NAME.counter,
    )?.Properties;

  it("reserves nothing unless counterReservedConcurrency asks for it", () => {
    for (const fn of Object.values(resourcesOf(template, "AWS::Lambda::Function")))
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    // 0 means "no reservation", never Lambda's 0, which would throttle every count.
    const zero = templateFor({ ...DEFAULT, counterReservedConcurrency: 0 });
    expect(counter(zero)).toBeDefined();
    expect(counter(zero)?.ReservedConcurrentExecutions).toBeUndefined();
    const three = templateFor({ ...DEFAULT, counterReservedConcurrency: "3" });
    expect(counter(three)?.ReservedConcurrentExecutions).toBe(3);
  });
});

describe("imported secret encrypted with a customer-managed key", () => {
  const KEY_ARN = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const SECRET_ARN = "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy/prod-AbCdEf";
  let importedSecret: Template;
  beforeAll(() => {
    importedSecret = templateFor({
      targets: TEST_TARGETS,
      wavySecretArn: SECRET_ARN,
      wavySecretKmsKeyArn: KEY_ARN,
    });
  }, SYNTH_TIMEOUT_MS);

  // GetSecretValue makes Secrets Manager call kms:Decrypt as the caller, via its endpoint:
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html#security-encryption-authz
  const kmsStatements = (t: Template, roleId: string) =>
    statementsOfRole(t, roleId).filter((s) => listOf(s.Action).some((a) => a.startsWith("kms:")));
  /** The roles of the functions that read the Wavy secret (WAVY_SECRET_ID). */
  const functionRoles = (t: Template) =>
    Object.values(resourcesOf(t, "AWS::Lambda::Function"))
      .filter(
        (fn) => "WAVY_SECRET_ID" in (fn.Properties.Environment as { Variables: Json }).Variables,
      )
      .map((fn) => logicalIdOf(fn.Properties.Role) ?? "");
  const allFunctionRoles = (t: Template) =>
    Object.values(resourcesOf(t, "AWS::Lambda::Function")).map(
      (fn) => logicalIdOf(fn.Properties.Role) ?? "",
    );

  it("lets every function that reads the secret decrypt with that key, only through Secrets Manager", () => {
    const roles = functionRoles(importedSecret);
    // The export function, its worker and the counter.
    expect(roles).toHaveLength(3);
    for (const roleId of roles) {
      const statements = kmsStatements(importedSecret, roleId);
      expect(statements).toHaveLength(1);
      const [statement] = statements as [Statement];
      expect(statement.Effect).toBe("Allow");
      expect(listOf(statement.Action)).toEqual(["kms:Decrypt"]);
      expect(statement.Resource).toBe(KEY_ARN);
      expect(resolve(importedSecret, statement.Condition?.StringEquals?.["kms:ViaService"])).toBe(
        "secretsmanager.sa-east-1.amazonaws.com",
      );
    }
  });

  it("grants the live windows' and the companion's functions no KMS access: they never read the Wavy secret", () => {
    const readers = new Set(functionRoles(importedSecret));
    const others = allFunctionRoles(importedSecret).filter((role) => !readers.has(role));
    expect(others).toHaveLength(3);
    for (const roleId of others) expect(kmsStatements(importedSecret, roleId)).toEqual([]);
  });

  it("grants no KMS access when the secret uses Secrets Manager's own key", () => {
    for (const roleId of functionRoles(template))
      expect(kmsStatements(template, roleId)).toEqual([]);
  });
});

describe("API Gateway access log", () => {
  // $context.error.messageString is the quoted form of $context.error.message, which may hold
  // quotes and newlines: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html
  it("writes the error message through $context.error.messageString, one valid JSON line", () => {
    // The export API's stage; the webhooks' stage logs no error message (live-windows.test.ts).
    const [, stage] = onlyOne(
      Object.fromEntries(
        Object.entries(resourcesOf(template, "AWS::ApiGateway::Stage")).filter(([id]) =>
          id.startsWith("ExportApi"),
        ),
      ),
    );
    const format = (stage.Properties.AccessLogSetting as { Format: string }).Format;
    expect(format).toContain('"errorMessage":$context.error.messageString');
    expect(format).not.toMatch(/\$context\.error\.message(?!String)/);
    // With every variable substituted the way API Gateway does, the line parses.
    const line = format.replace(
      /\$context\.error\.messageString/g,
      JSON.stringify('a "quoted"\nmessage'),
    );
    expect(JSON.parse(line).errorMessage).toBe('a "quoted"\nmessage');
  });
});

describe("first deploy", () => {
  it("creates the secret holding the contract's placeholder", () => {
    // The Wavy secret; the webhook token's is generated (live-windows.test.ts).
    const [, secret] = onlyOne(
      Object.fromEntries(
        Object.entries(resourcesOf(template, "AWS::SecretsManager::Secret")).filter(
          ([, secret]) => secret.Properties.SecretString !== undefined,
        ),
      ),
    );
    const value = JSON.parse(String(secret.Properties.SecretString));
    expect(value).toEqual(SECRET_PLACEHOLDER);
  });

  it("counts a run that found the secret not configured as a run in the NoCount alarms", () => {
    const noCount = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm")).filter((a) =>
      String(a.Properties.AlarmName).includes("NoCount"),
    );
    expect(noCount).toHaveLength(TEST_TARGETS.length);
    for (const alarm of noCount) {
      const { Metrics: metrics, ...rest } = alarm.Properties as {
        Metrics: { Id: string; Expression?: string; MetricStat?: Json; ReturnData?: boolean }[];
      };
      expect(rest).toEqual(
        expect.objectContaining({
          ComparisonOperator: "LessThanThreshold",
          Threshold: 1,
          TreatMissingData: "breaching",
        }),
      );
      const byName = Object.fromEntries(
        metrics
          .filter((m) => m.MetricStat)
          .map((m) => {
            const stat = m.MetricStat as {
              Metric: { MetricName: string; Dimensions: Json[] };
              Stat: string;
            };
            return [
              stat.Metric.MetricName,
              { id: m.Id, stat: stat.Stat, dims: stat.Metric.Dimensions },
            ];
          }),
      );
      expect(Object.keys(byName).sort()).toEqual(
        [METRIC.notConfigured, METRIC.openSessions].sort(),
      );
      const open = byName[METRIC.openSessions];
      const notConfigured = byName[METRIC.notConfigured];
      expect(open?.stat).toBe("SampleCount");
      expect(notConfigured?.stat).toBe("SampleCount");
      expect(notConfigured?.dims).toEqual(open?.dims);
      expect(open?.dims).toContainEqual({ Name: "service", Value: SERVICE_NAME.counter });
      const expression = metrics.find((m) => m.ReturnData !== false && m.Expression)?.Expression;
      expect(expression?.replace(/\s/g, "")).toBe(
        `FILL(${open?.id},0)+FILL(${notConfigured?.id},0)`,
      );
    }
  });
});
