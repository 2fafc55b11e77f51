import type { Stack } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { S3_PREFIX, STACK_OUTPUT, WEBHOOK_REJECTED_PREFIX } from "../../lambdas/lib/contract.js";
import { CounterEventSchema } from "../../lambdas/lib/ids.js";
import { nagFindings, SYNTH_TIMEOUT_MS, type Synthesised, synth, TEST_TARGETS } from "./synth.js";

type Json = Record<string, unknown>;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let synthesised: Synthesised;
let template: Template;

// One synth for the whole file: it is the slow part (cdk-nag and CDK's template validation).
beforeAll(() => {
  synthesised = synth({ targets: TEST_TARGETS, alarmEmail: "ops@example.com" });
  template = synthesised.template;
}, SYNTH_TIMEOUT_MS);

const resources = (type: string) =>
  template.findResources(type) as Record<string, { Properties: Json; DeletionPolicy?: string }>;

const functionByEnv = (service: string) => {
  const match = Object.entries(resources("AWS::Lambda::Function")).find(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
      service,
  );
  if (!match) throw new Error(`no function for service ${service}`);
  return { logicalId: match[0], properties: match[1].Properties };
};

/** Every statement of every IAM policy attached to a role whose logical id starts so. */
const statementsOfRole = (rolePrefix: string): Statement[] =>
  Object.values(resources("AWS::IAM::Policy"))
    .filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) =>
        role.Ref.startsWith(rolePrefix),
      ),
    )
    .flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );

const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const resourcesOf = (statement: Statement) =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

describe("export API", () => {
  /**
   * The resources of this type that belong to the export API: the webhooks have a REST API of
   * their own (test/infra/live-windows.test.ts).
   */
  const ofExportApi = (type: string) =>
    Object.fromEntries(
      Object.entries(resources(type)).filter(([, resource]) =>
        String((resource.Properties.RestApiId as { Ref?: string })?.Ref).startsWith("ExportApi"),
      ),
    );
  /** "METHOD /full/path" of every method, and the method resources by that key. */
  const methodsByRoute = () => {
    const parts = ofExportApi("AWS::ApiGateway::Resource");
    const pathOf = (ref: unknown): string => {
      const id = (ref as { Ref?: string }).Ref;
      const resource = id ? parts[id] : undefined;
      // The root's id is a Fn::GetAtt on the RestApi's RootResourceId.
      if (!resource) return "";
      return `${pathOf(resource.Properties.ParentId)}/${String(resource.Properties.PathPart)}`;
    };
    return Object.fromEntries(
      Object.values(ofExportApi("AWS::ApiGateway::Method")).map((method) => [
        `${String(method.Properties.HttpMethod)} ${pathOf(method.Properties.ResourceId) || "/"}`,
        method.Properties,
      ]),
    );
  };

  const ROUTES = [
    "POST /exports",
    "GET /exports/{exportId}",
    "GET /v1/session",
    "ANY /",
    "ANY /{proxy+}",
    "ANY /exports",
    "ANY /exports/{exportId}",
    "ANY /exports/{exportId}/{proxy+}",
    "ANY /v1",
    "ANY /v1/{proxy+}",
    "ANY /v1/session",
    "ANY /v1/session/{proxy+}",
    // The live windows' lookups, served by their own function (docs/contract.md, "Lookups").
    "GET /windows",
    "GET /windows/{destination}",
  ];
  const LOOKUPS = new Set(["GET /windows", "GET /windows/{destination}"]);

  it("requires SigV4 (AWS_IAM) on every method, the catch-alls included", () => {
    const methods = Object.values(ofExportApi("AWS::ApiGateway::Method"));
    expect(methods).toHaveLength(ROUTES.length);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe("AWS_IAM");
  });

  it("serves the contract's routes and sends every other method and path to the function", () => {
    const routes = methodsByRoute();
    expect(Object.keys(routes).sort()).toEqual([...ROUTES].sort());
    const { logicalId: exportFunction } = functionByEnv("wavy-sessions-export");
    const { logicalId: lookupFunction } = functionByEnv("wavy-sessions-windows-api");
    for (const [route, method] of Object.entries(routes)) {
      const integration = method.Integration as Json;
      expect(integration.Type, route).toBe("AWS_PROXY");
      expect(integration.IntegrationHttpMethod, route).toBe("POST");
      const target = LOOKUPS.has(route) ? lookupFunction : exportFunction;
      expect(JSON.stringify(integration.Uri), route).toContain(`"${target}","Arn"`);
    }
  });

  it("lets API Gateway invoke the function for every method, and nothing else", () => {
    const { logicalId: exportFunction } = functionByEnv("wavy-sessions-export");
    const permissions = Object.values(resources("AWS::Lambda::Permission")).filter(
      (p) =>
        JSON.stringify(p.Properties.FunctionName) === `{"Fn::GetAtt":["${exportFunction}","Arn"]}`,
    );
    // One for the whole deployed stage: every method and path of this API is the function's.
    expect(permissions).toHaveLength(1);
    for (const { Properties: permission } of permissions) {
      expect(permission.Principal).toBe("apigateway.amazonaws.com");
      expect(permission.Action).toBe("lambda:InvokeFunction");
      // Scoped to this API's deployed stage (any method, any path), never to test-invoke-stage.
      const sourceArn = JSON.stringify(permission.SourceArn);
      expect(sourceArn).toMatch(
        /"Ref":"ExportApi[A-Za-z0-9]*"},"\/",\{"Ref":"ExportApiDeploymentStageprod/,
      );
      expect(sourceArn).toMatch(/"\/\*\/\*"\]\]\}$/);
      expect(sourceArn).not.toContain("test-invoke-stage");
    }
  });

  it("validates only the explicit routes, never the catch-alls", () => {
    for (const [route, method] of Object.entries(methodsByRoute())) {
      // The lookups' function validates their queries (docs/contract.md, "Lookups").
      if (route.startsWith("ANY ") || LOOKUPS.has(route)) {
        expect(method.RequestValidatorId, route).toBeUndefined();
        expect(method.RequestModels, route).toBeUndefined();
      } else {
        expect(method.RequestValidatorId, route).toBeDefined();
      }
    }
  });

  it("is regional, traced, throttled and writes JSON access logs", () => {
    template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
    });
    const stages = Object.values(ofExportApi("AWS::ApiGateway::Stage"));
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.Properties ?? {};
    expect(stage.TracingEnabled).toBe(true);
    const format = (stage.AccessLogSetting as { Format: string }).Format;
    // $context.error.messageString arrives quoted (aws-edges.test.ts checks it).
    const line = format.replace("$context.error.messageString", '"message"');
    expect(Object.keys(JSON.parse(line))).toEqual(
      expect.arrayContaining(["requestId", "caller", "status", "integrationLatency"]),
    );
    expect(stage.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: "*",
        ResourcePath: "/*",
        ThrottlingRateLimit: 10,
        ThrottlingBurstLimit: 20,
        LoggingLevel: "ERROR",
        DataTraceEnabled: false,
      }),
    ]);
  });

  it("validates the POST body against a model and /v1/session's customerId", () => {
    template.hasResourceProperties("AWS::ApiGateway::RequestValidator", {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    template.hasResourceProperties("AWS::ApiGateway::Model", {
      ContentType: "application/json",
      Schema: Match.objectLike({ required: ["customerId"] }),
    });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "POST",
      RequestModels: { "application/json": Match.anyValue() },
      RequestValidatorId: Match.anyValue(),
    });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "GET",
      RequestParameters: {
        "method.request.querystring.customerId": true,
        "method.request.querystring.subAccountId": false,
      },
    });
  });

  it("answers its own errors in the contract's envelope, with the contract's codes", () => {
    const responses = Object.fromEntries(
      Object.values(ofExportApi("AWS::ApiGateway::GatewayResponse")).map((r) => [
        r.Properties.ResponseType,
        r.Properties,
      ]),
    );
    const expected: Record<string, [status: string | undefined, code: string]> = {
      BAD_REQUEST_BODY: ["400", "INVALID_REQUEST"],
      BAD_REQUEST_PARAMETERS: ["400", "INVALID_REQUEST"],
      MISSING_AUTHENTICATION_TOKEN: ["403", "MISSING_AUTHENTICATION_TOKEN"],
      ACCESS_DENIED: ["403", "ACCESS_DENIED"],
      THROTTLED: ["429", "THROTTLED"],
      INTEGRATION_TIMEOUT: ["504", "UPSTREAM_TIMEOUT"],
      DEFAULT_4XX: [undefined, "$context.error.responseType"],
      DEFAULT_5XX: [undefined, "INTERNAL"],
    };
    expect(Object.keys(responses).sort()).toEqual(Object.keys(expected).sort());
    for (const [type, [status, code]] of Object.entries(expected)) {
      const response = responses[type] ?? {};
      expect(response.StatusCode, type).toBe(status);
      const template = (response.ResponseTemplates as Record<string, string>)["application/json"];
      expect(template, type).toBe(
        `{"error":{"code":"${code}","message":$context.error.messageString}}`,
      );
    }
  });
});

describe("functions", () => {
  it("run on nodejs24.x or newer, on arm64, traced, without paying for source maps at start-up", () => {
    const functions = Object.values(resources("AWS::Lambda::Function"));
    // The export function, its worker, the counter, the companion function, and the live
    // windows' processor and lookups.
    expect(functions).toHaveLength(6);
    for (const { Properties: fn } of functions) {
      const major = Number(/^nodejs(\d+)\.x$/.exec(String(fn.Runtime))?.[1]);
      expect(major).toBeGreaterThanOrEqual(24);
      expect(fn.Architectures).toEqual(["arm64"]);
      expect(fn.TracingConfig).toEqual({ Mode: "Active" });
      const nodeOptions = (fn.Environment as { Variables: Json }).Variables.NODE_OPTIONS;
      expect(String(nodeOptions ?? "")).not.toContain("--enable-source-maps");
      expect(fn.LoggingConfig).toEqual(
        expect.objectContaining({ LogGroup: { Ref: expect.any(String) } }),
      );
    }
  });

  it("give the export function the contract's environment and a 29 s timeout", () => {
    const { properties } = functionByEnv("wavy-sessions-export");
    expect(properties.Timeout).toBe(29);
    expect(properties.MemorySize).toBe(512);
    expect((properties.Environment as { Variables: Json }).Variables).toEqual({
      WAVY_SECRET_ID: { Ref: expect.stringMatching(/^WavySecret/) },
      WAVY_API_URL: "https://api-messaging.wavy.global",
      WAVY_DOWNLOAD_ORIGINS: "https://chatclub-cdn.wavy.global,https://*.wavy.global",
      WAVY_TIMEZONE: "America/Sao_Paulo",
      EXPORT_BUCKET: { Ref: expect.stringMatching(/^StorageExports/) },
      DOWNLOAD_URL_TTL_SECONDS: "900",
      REQUEST_BUDGET_MS: "25000",
      MAX_CSV_BYTES: "5368709120",
      POWERTOOLS_METRICS_NAMESPACE: "WavySessions",
      POWERTOOLS_SERVICE_NAME: "wavy-sessions-export",
      // Every function's, from the logLevel setting (INFO by default).
      POWERTOOLS_LOG_LEVEL: "INFO",
      EVENT_BUS_NAME: "default",
      EXPORT_WORKER_FUNCTION_NAME: { Ref: expect.stringMatching(/^ExportWorkerFunction/) },
      EXPORT_WORKER_TIMEOUT_SECONDS: "900",
      // A 1 MB young generation and one malloc arena hold down the export's peak RSS
      // (docs/benchmarks.md, steps 6 and 10).
      NODE_OPTIONS: "--max-semi-space-size=1",
      MALLOC_ARENA_MAX: "1",
    });
  });

  it("give the counter the Wavy settings but no bucket, and reserve it no concurrency", () => {
    const { properties } = functionByEnv("wavy-sessions-counter");
    const variables = (properties.Environment as { Variables: Json }).Variables;
    expect(variables).not.toHaveProperty("EXPORT_BUCKET");
    expect(variables).toEqual(
      expect.objectContaining({
        WAVY_SECRET_ID: { Ref: expect.stringMatching(/^WavySecret/) },
        WAVY_API_URL: "https://api-messaging.wavy.global",
        WAVY_TIMEZONE: "America/Sao_Paulo",
        POWERTOOLS_METRICS_NAMESPACE: "WavySessions",
      }),
    );
    expect(properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(properties.MemorySize).toBe(512);
    expect(properties.Timeout).toBe(300);
  });

  it("send the counter's failed async invocations to the dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [Match.stringLikeRegexp("^CounterDeadLetters"), "Arn"] },
        },
      },
    });
  });
});

describe("least privilege", () => {
  const everyStatement = () =>
    Object.values(resources("AWS::IAM::Policy")).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );

  it("grants no wildcard actions anywhere", () => {
    for (const statement of everyStatement()) {
      for (const action of actionsOf(statement)) {
        expect(action).not.toBe("*");
        expect(action).not.toMatch(/:\*$/);
      }
    }
  });

  it("lets both functions read the one Wavy secret, nothing more from Secrets Manager", () => {
    for (const role of ["ExportFunctionRole", "CounterFunctionRole"]) {
      const secretStatements = statementsOfRole(role).filter((s) =>
        actionsOf(s).some((a) => a.startsWith("secretsmanager:")),
      );
      expect(secretStatements).toEqual([
        {
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: { Ref: expect.stringMatching(/^WavySecret/) },
        },
      ]);
    }
  });

  it("scopes the export function's object access to its prefixes, each to what it needs", () => {
    const s3Statements = statementsOfRole("ExportFunctionRole").filter((s) =>
      actionsOf(s).some((a) => a.startsWith("s3:")),
    );
    const granted: Record<string, Set<string>> = {};
    for (const statement of s3Statements) {
      for (const resource of resourcesOf(statement)) {
        const join = (resource as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
        if (join) {
          const suffix = String(join[1].at(-1));
          const actions = granted[suffix] ?? new Set<string>();
          for (const action of actionsOf(statement)) actions.add(action);
          granted[suffix] = actions;
        } else {
          // The bucket itself: ListBucket (a missing manifest is NoSuchKey, not 403; the history
          // is listed) and ListBucketMultipartUploads (a dead worker's upload is found).
          expect(actionsOf(statement).sort()).toEqual([
            "s3:ListBucket",
            "s3:ListBucketMultipartUploads",
          ]);
          expect(resource).toEqual({
            "Fn::GetAtt": [expect.stringMatching(/^StorageExports/), "Arn"],
          });
        }
      }
    }
    const sorted = Object.fromEntries(
      Object.entries(granted).map(([suffix, actions]) => [suffix, [...actions].sort()]),
    );
    expect(sorted).toEqual({
      "/exports/*": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      "/manifests/*": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      "/history/*": ["s3:DeleteObject", "s3:PutObject"],
      "/idempotency/*": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
      // The companion is the companion function's: only HeadObject, for companion.status.
      "/sessions/*": ["s3:GetObject"],
      // The closing list is read only through the presigned URL the function signs.
      "/closing/*": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
    });
  });

  it("lets the export function delete what a failed export wrote: its manifest, history entry, CSV and closing list", () => {
    // The manifest is written before the CSV is committed; a failed commit takes it back, and a
    // dead worker's object is taken back by whoever reads its export past deadlineAt.
    const deletes = statementsOfRole("ExportFunctionRole").filter((s) =>
      actionsOf(s).includes("s3:DeleteObject"),
    );
    const suffixes = deletes.flatMap((statement) =>
      resourcesOf(statement).map((resource) =>
        String((resource as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1].at(-1)),
      ),
    );
    expect(suffixes.sort()).toEqual([
      "/closing/*",
      "/exports/*",
      "/history/*",
      "/idempotency/*",
      "/manifests/*",
    ]);
  });

  it("gives the counter no S3 access at all", () => {
    const counter = statementsOfRole("CounterFunctionRole").flatMap(actionsOf);
    expect(counter.filter((action) => action.startsWith("s3:"))).toEqual([]);
  });

  it("keeps log writes to each function's own log group, without the managed basic role", () => {
    for (const role of Object.values(resources("AWS::IAM::Role"))) {
      const managed = JSON.stringify(role.Properties.ManagedPolicyArns ?? []);
      expect(managed).not.toContain("AWSLambdaBasicExecutionRole");
    }
    const logs = statementsOfRole("ExportFunctionRole").find((s) =>
      actionsOf(s).includes("logs:PutLogEvents"),
    );
    expect(logs?.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^ExportFunctionLogs/), "Arn"],
    });
  });
});

describe("storage", () => {
  const exportBucket = () => {
    const entry = Object.entries(resources("AWS::S3::Bucket")).find(([id]) =>
      id.startsWith("StorageExports"),
    );
    if (!entry) throw new Error("no export bucket");
    return entry;
  };

  it("blocks public access, encrypts, enforces ownership and logs access", () => {
    const [, bucket] = exportBucket();
    expect(bucket.Properties).toEqual(
      expect.objectContaining({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
          ],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
        LoggingConfiguration: expect.objectContaining({
          DestinationBucketName: { Ref: expect.stringMatching(/^StorageAccessLogs/) },
        }),
      }),
    );
    expect(bucket.Properties).not.toHaveProperty("VersioningConfiguration");
  });

  it("expires exports, companions and manifests after the retention, closing lists and Athena results sooner, and aborts stale uploads after a day", () => {
    const [, bucket] = exportBucket();
    expect((bucket.Properties.LifecycleConfiguration as { Rules: Json[] }).Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: "exports/", ExpirationInDays: 90, Status: "Enabled" }),
        expect.objectContaining({ Prefix: "manifests/", ExpirationInDays: 90, Status: "Enabled" }),
        expect.objectContaining({ Prefix: "sessions/", ExpirationInDays: 90, Status: "Enabled" }),
        expect.objectContaining({ Prefix: "closing/", ExpirationInDays: 2, Status: "Enabled" }),
        expect.objectContaining({
          Prefix: "athena-results/",
          ExpirationInDays: 7,
          Status: "Enabled",
        }),
        expect.objectContaining({ Prefix: "history/", ExpirationInDays: 90, Status: "Enabled" }),
        expect.objectContaining({ Prefix: "idempotency/", ExpirationInDays: 2, Status: "Enabled" }),
        expect.objectContaining({
          Prefix: "webhooks/rejected/",
          ExpirationInDays: 14,
          Status: "Enabled",
        }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
      ]),
    );
  });

  it("has an expiring lifecycle rule for every prefix the stack writes under", () => {
    const [, bucket] = exportBucket();
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Json[] }).Rules;
    const expiring = rules
      .filter((rule) => typeof rule.ExpirationInDays === "number")
      .map((rule) => rule.Prefix as string);
    for (const prefix of [...Object.values(S3_PREFIX), WEBHOOK_REJECTED_PREFIX]) {
      expect(expiring, prefix).toContain(prefix);
    }
  });

  it("refuses plain HTTP on both buckets", () => {
    const policies = Object.values(resources("AWS::S3::BucketPolicy"));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain(
        '"Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny"',
      );
    }
  });

  it("keeps the user's data, the secret and the logs when the stack is destroyed", () => {
    for (const type of [
      "AWS::S3::Bucket",
      "AWS::SecretsManager::Secret",
      "AWS::Logs::LogGroup",
      "AWS::SQS::Queue",
    ]) {
      const all = Object.values(resources(type));
      expect(all.length).toBeGreaterThan(0);
      for (const resource of all) expect(resource.DeletionPolicy).toBe("Retain");
    }
  });
});

describe("schedules", () => {
  // The counter's group only: the export sweeper's schedule has its own (test/infra/export-sweeper.test.ts).
  const counterSchedules = () =>
    Object.values(resources("AWS::Scheduler::Schedule")).filter(
      (schedule) => schedule.Properties.GroupName === "WavySessions-counter",
    );

  it("count every configured target once, with the contract's event as input", () => {
    const schedules = counterSchedules();
    expect(schedules).toHaveLength(TEST_TARGETS.length);
    const inputs = schedules.map((s) =>
      JSON.parse((s.Properties.Target as { Input: string }).Input),
    );
    expect(inputs).toEqual(expect.arrayContaining(TEST_TARGETS));
    expect(inputs).toContainEqual({ customerId: "42" });
    for (const input of inputs) expect(Object.keys(input).sort()).not.toContain("undefined");
    // The counter's own (strict) schema takes every input the stack writes.
    for (const input of inputs) expect(CounterEventSchema.safeParse(input).error).toBeUndefined();
  });

  it("spread runs over a flexible window, retry and dead-letter to an encrypted queue", () => {
    for (const schedule of counterSchedules()) {
      expect(schedule.Properties).toEqual(
        expect.objectContaining({
          ScheduleExpression: "rate(15 minutes)",
          FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 5 },
          GroupName: "WavySessions-counter",
          Target: expect.objectContaining({
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
            DeadLetterConfig: {
              Arn: { "Fn::GetAtt": [expect.stringMatching(/^CounterDeadLetters/), "Arn"] },
            },
          }),
        }),
      );
    }
    template.hasResourceProperties("AWS::SQS::Queue", { SqsManagedSseEnabled: true });
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });
});

describe("observability", () => {
  const alarms = () => Object.values(resources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);

  it("alarms on export errors, API 5xx, counter failures and a non-empty dead-letter queue", () => {
    const names = alarms().map((a) => a.MetricName ?? "math");
    expect(names).toEqual(expect.arrayContaining(["Errors", "5XXError", "math"]));
    // The dead-letter queues (the stack's and the companion's) are summed by one alarm.
    const deadLetters = alarms().find((a) => String(a.AlarmName).endsWith("/DeadLetters"));
    expect(JSON.stringify(deadLetters?.Metrics)).toContain("ApproximateNumberOfMessagesVisible");
    const math = alarms().find((a) => String(a.AlarmName).includes("/WavyRequestFailed"));
    expect(JSON.stringify(math?.Metrics)).toContain('"MetricName":"WavyRequestFailed"');
  });

  it("alarms on any failed export, summed over the three functions that end exports (issue 22)", () => {
    const failed = alarms().find((a) => String(a.AlarmName).endsWith("/ExportsFailed"));
    const stats = ((failed?.Metrics ?? []) as { MetricStat?: { Metric: Json } }[]).flatMap((m) =>
      m.MetricStat ? [m.MetricStat.Metric] : [],
    );
    expect(stats.map((metric) => metric.MetricName)).toEqual([
      "ExportsFailed",
      "ExportsFailed",
      "ExportsFailed",
    ]);
    // The exact dimension set the functions emit: service only.
    expect(stats.map((metric) => metric.Dimensions)).toEqual(
      ["wavy-sessions-export", "wavy-sessions-export-worker", "wavy-sessions-counter"].map(
        (service) => [{ Name: "service", Value: service }],
      ),
    );
    expect(failed?.Threshold).toBe(1);
  });

  it("alarms when a target's OpenSessions goes missing, treating no data as breaching", () => {
    type Query = { MetricStat?: { Metric: Json; Period: number } };
    const missing = alarms().filter((a) =>
      (a.Metrics as Query[] | undefined)?.some(
        (m) => m.MetricStat?.Metric.MetricName === "OpenSessions",
      ),
    );
    expect(missing).toHaveLength(TEST_TARGETS.length);
    const metrics = missing.flatMap((alarm) => {
      expect(alarm.TreatMissingData).toBe("breaching");
      expect(alarm.EvaluationPeriods).toBe(2);
      return (alarm.Metrics as Query[]).flatMap((m) => (m.MetricStat ? [m.MetricStat] : []));
    });
    for (const stat of metrics) {
      expect(stat.Metric.Namespace).toBe("WavySessions");
      expect(stat.Period).toBe(900);
    }
    expect(metrics.map((stat) => stat.Metric.Dimensions)).toContainEqual([
      { Name: "CustomerId", Value: "42" },
      { Name: "SubAccountId", Value: "all" },
      { Name: "service", Value: "wavy-sessions-counter" },
    ]);
  });

  it("sends every alarm to the SNS topic mailing the configured address", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^ObservabilityAlarmTopic/) },
      ]);
    }
  });

  it("draws open sessions, expiring-soon figures, export latency and errors", () => {
    const dashboards = Object.values(resources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const needle of [
      "OpenSessions",
      "SessionsExpiringWithin1h",
      "SessionsExpiringWithin4h",
      "WavyRequestFailed",
      "Duration",
      "p99",
      "Latency",
      "5XXError",
    ]) {
      expect(body).toContain(needle);
    }
  });
});

describe("cdk-nag", () => {
  it("finds nothing unsuppressed in the AwsSolutions and Serverless packs", () => {
    expect(nagFindings(synthesised.stack)).toEqual([]);
  });

  it(
    "fails synthesis on a finding nobody acknowledged (cdk-nag 3 is a CDK validation plugin)",
    () => {
      // An SQS queue without a dead-letter queue: AwsSolutions-SQS3, acknowledged nowhere.
      const extend = (stack: Stack) => new sqs.Queue(stack, "Unacknowledged", { enforceSSL: true });
      expect(() => synth({}, { cfnValidation: false, extend })).toThrow(
        /AwsSolutions-SQS3[\s\S]*Unacknowledged/,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it("gives every acknowledgment one rule id and a reason, and IAM4/IAM5 ones a finding", () => {
    const suppressions = Object.values(template.toJSON().Resources as Record<string, Json>).flatMap(
      (resource) =>
        ((resource.Metadata as Json | undefined)?.cdk_nag as { rules_to_suppress?: Json[] })
          ?.rules_to_suppress ?? [],
    );
    expect(suppressions.length).toBeGreaterThan(0);
    for (const suppression of suppressions) {
      // cdk-nag 3 writes each acknowledged rule as its id, a finding as `RuleId[finding]`.
      const [, rule, finding] = /^((?:AwsSolutions|Serverless)-[A-Za-z0-9]+)(\[.+\])?$/.exec(
        String(suppression.id),
      ) ?? [undefined, undefined];
      expect(rule, String(suppression.id)).toBeDefined();
      expect(String(suppression.reason).length).toBeGreaterThan(40);
      if (rule === "AwsSolutions-IAM5" || rule === "AwsSolutions-IAM4")
        expect(finding, String(suppression.id)).toBeDefined();
    }
  });
});

describe("outputs", () => {
  it("name everything an operator and npm run smoke look for", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    // Each RestApi adds its own endpoint output (ExportApiEndpoint..., WebhooksApiEndpoint...):
    // the first is ApiUrl, the second the webhook URLs' base (which holds no token).
    const ours = Object.keys(outputs).filter(
      (key) => !key.startsWith("ExportApiEndpoint") && !key.startsWith("WebhooksApiEndpoint"),
    );
    expect(ours.sort()).toEqual(Object.values(STACK_OUTPUT).sort());
    expect(outputs[STACK_OUTPUT.alarmNamePrefix]?.Value).toBe("WavySessions/");
    expect(outputs[STACK_OUTPUT.metricsNamespace]?.Value).toBe("WavySessions");
    expect(outputs[STACK_OUTPUT.scheduleGroupName]?.Value).toBe("WavySessions-counter");
    expect(JSON.parse(String(outputs[STACK_OUTPUT.firstTarget]?.Value))).toEqual(TEST_TARGETS[0]);
    const { logicalId: counter } = functionByEnv("wavy-sessions-counter");
    expect(outputs[STACK_OUTPUT.counterFunctionName]?.Value).toEqual({ Ref: counter });
    const { logicalId: exporter } = functionByEnv("wavy-sessions-export");
    expect(outputs[STACK_OUTPUT.exportFunctionName]?.Value).toEqual({ Ref: exporter });
    for (const alarm of Object.values(resources("AWS::CloudWatch::Alarm")))
      expect(String(alarm.Properties.AlarmName)).toMatch(/^WavySessions\//);
  });
});
