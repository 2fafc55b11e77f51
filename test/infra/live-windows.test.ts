import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { SQS_MAX_MESSAGE_BYTES } from "../../infra/constructs/webhook-ingest.js";
import {
  STACK_OUTPUT,
  WEBHOOK_MAX_BODY_BYTES,
  WEBHOOK_REJECTED_PREFIX,
  WINDOW_METRIC,
  WINDOW_SERVICE_NAME,
  WINDOWS_TABLE,
} from "../../lambdas/lib/contract.js";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth } from "./synth.js";
import {
  listOf,
  type Resource,
  resourcesOf,
  type Statement,
  statementsOfRole,
} from "./template.js";

type Json = Record<string, unknown>;

const TARGETS = [
  { customerId: "42", origins: ["5511999990000", "551133334444"] },
  { customerId: "42", subAccountId: "7" },
];

let synthesised: Synthesised;
let template: Template;
let rotated: Template;
let overlapping: Template;

beforeAll(() => {
  const options = { cfnValidation: false };
  synthesised = synth({ targets: TARGETS, alarmEmail: "ops@example.com" }, options);
  template = synthesised.template;
  rotated = synth({ webhookTokenVersion: 2 }, options).template;
  overlapping = synth(
    { webhookTokenVersion: 2, webhookAcceptPreviousToken: true },
    options,
  ).template;
}, SYNTH_TIMEOUT_MS * 3);

const only = (t: Template, type: string): [string, Resource] => {
  const entries = Object.entries(resourcesOf(t, type));
  expect(entries).toHaveLength(1);
  return entries[0] as [string, Resource];
};
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  synthesised.stack.getLogicalId(construct.node.defaultChild as never);

const functionOf = (t: Template, service: string): [string, Resource] => {
  const match = Object.entries(resourcesOf(t, "AWS::Lambda::Function")).find(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables: Json }).Variables.POWERTOOLS_SERVICE_NAME ===
      service,
  );
  if (!match) throw new Error(`no function for ${service}`);
  return match;
};
const roleOf = (fn: Resource) =>
  (fn.Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
const grants = (t: Template, roleId: string) =>
  statementsOfRole(t, roleId).flatMap((statement: Statement) =>
    listOf(statement.Action).flatMap((action) =>
      listOf(statement.Resource as unknown).map((resource) => ({
        action,
        resource: JSON.stringify(resource),
      })),
    ),
  );

/** "METHOD /path" → the method, the path built from the resources' PathParts. */
function methodsByRoute(t: Template): Map<string, Resource> {
  const parts = resourcesOf(t, "AWS::ApiGateway::Resource");
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const resource = id ? parts[id] : undefined;
    if (!resource) return "";
    const part = resource.Properties.PathPart;
    const text = typeof part === "string" ? part : "<token>";
    return `${pathOf(resource.Properties.ParentId)}/${text}`;
  };
  return new Map(
    Object.values(resourcesOf(t, "AWS::ApiGateway::Method")).map((method) => [
      `${method.Properties.HttpMethod} ${pathOf(method.Properties.ResourceId) || "/"}`,
      method,
    ]),
  );
}

describe("the windows table", () => {
  it("is keyed and indexed as the contract's WINDOWS_TABLE says, with TTL on expiresAt", () => {
    const [, table] = only(template, "AWS::DynamoDB::GlobalTable");
    expect(table.Properties).toMatchObject({
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: WINDOWS_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: WINDOWS_TABLE.sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: WINDOWS_TABLE.closingIndex,
          KeySchema: [
            { AttributeName: WINDOWS_TABLE.sortKey, KeyType: "HASH" },
            { AttributeName: WINDOWS_TABLE.closingIndexSortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      TimeToLiveSpecification: { AttributeName: WINDOWS_TABLE.ttlAttribute, Enabled: true },
    });
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: "destination", AttributeType: "S" },
        { AttributeName: "origin", AttributeType: "S" },
        { AttributeName: "closesAt", AttributeType: "S" },
      ]),
    );
  });

  it("keeps the users' data: point-in-time recovery, encrypted, retained on delete", () => {
    const [, table] = only(template, "AWS::DynamoDB::GlobalTable");
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.Properties.Replicas).toEqual([
      expect.objectContaining({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
    // SSEEnabled false is DynamoDB's AWS owned key; encryption at rest cannot be turned off.
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: false });
  });
});

describe("the webhook queue", () => {
  const queues = () => {
    const { webhooks } = synthesised.stack;
    const all = resourcesOf(template, "AWS::SQS::Queue");
    return {
      queue: all[logicalId(webhooks.queue)] as Resource,
      dlqId: logicalId(webhooks.deadLetterQueue),
      dlq: all[logicalId(webhooks.deadLetterQueue)] as Resource,
    };
  };

  it("is SQS-encrypted, holds 1 MiB messages and dead-letters after 5 receives", () => {
    const { queue, dlq, dlqId } = queues();
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: SQS_MAX_MESSAGE_BYTES,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] }, maxReceiveCount: 5 },
    });
    expect(dlq.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: SQS_MAX_MESSAGE_BYTES,
    });
    // The contract's largest body, plus the `kind` attribute, fits one message.
    expect(
      WEBHOOK_MAX_BODY_BYTES + "kind".length + "String".length + "status".length,
    ).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });

  it("stays invisible six times the processor's timeout, as AWS advises", () => {
    const [, processor] = functionOf(template, WINDOW_SERVICE_NAME.windowEvents);
    expect(queues().queue.Properties.VisibilityTimeout).toBe(
      6 * Number(processor.Properties.Timeout),
    );
  });
});

describe("the webhook routes", () => {
  const webhookMethods = (t: Template) =>
    [...methodsByRoute(t)].filter(([route]) => route.includes("/hooks/wavy/"));

  it("are POST /hooks/wavy/<token>/{mo,status}, unauthorised, on an API of their own", () => {
    const routes = webhookMethods(template).map(([route]) => route);
    expect(routes.sort()).toEqual([
      "POST /hooks/wavy/<token>/mo",
      "POST /hooks/wavy/<token>/status",
    ]);
    const webhookApi = logicalId(synthesised.stack.webhooks.api);
    for (const [, method] of webhookMethods(template)) {
      expect(method.Properties.AuthorizationType).toBe("NONE");
      expect(method.Properties.RestApiId).toEqual({ Ref: webhookApi });
    }
    // Every other method of the stack requires SigV4.
    const others = [...methodsByRoute(template)].filter(([route]) => !route.includes("/hooks/"));
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter(([, m]) => m.Properties.AuthorizationType !== "AWS_IAM")).toEqual([]);
  });

  it("take the token from Secrets Manager at deploy, never from the template", () => {
    const parts = Object.values(resourcesOf(template, "AWS::ApiGateway::Resource")).map(
      (resource) => resource.Properties.PathPart,
    );
    const tokens = parts.filter((part) => typeof part !== "string");
    expect(tokens).toHaveLength(1);
    const secretId = logicalId(synthesised.stack.webhooks.tokenSecret);
    expect(tokens[0]).toEqual({
      "Fn::Join": [
        "",
        ["{{resolve:secretsmanager:", { Ref: secretId }, ":SecretString:token:AWSCURRENT:}}"],
      ],
    });
    const secret = resourcesOf(template, "AWS::SecretsManager::Secret")[secretId] as Resource;
    expect(secret.Properties.GenerateSecretString).toEqual({
      SecretStringTemplate: "{}",
      GenerateStringKey: "token",
      ExcludePunctuation: true,
      IncludeSpace: false,
      PasswordLength: 48,
    });
  });

  it("send the body as received, with its kind, straight to SQS with the API's own role", () => {
    const queueId = logicalId(synthesised.stack.webhooks.queue);
    const roleId = logicalId(synthesised.stack.webhooks.sendRole);
    for (const [route, method] of webhookMethods(template)) {
      const kind = route.endsWith("/mo") ? "mo" : "status";
      const integration = method.Properties.Integration as Json;
      expect(integration).toMatchObject({
        Type: "AWS",
        IntegrationHttpMethod: "POST",
        Credentials: { "Fn::GetAtt": [roleId, "Arn"] },
        PassthroughBehavior: "NEVER",
        RequestParameters: {
          "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        },
        RequestTemplates: {
          "application/json": `Action=SendMessage&MessageBody=$util.urlEncode($input.body)&MessageAttribute.1.Name=kind&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=${kind}`,
        },
      });
      expect(JSON.stringify(integration.Uri)).toContain(":sqs:path/");
      expect(JSON.stringify(integration.Uri)).toContain(`"Fn::GetAtt":["${queueId}","QueueName"]`);
    }
  });

  it("answer 200 accepted, 413 for a body SQS finds too large, 500 for any other refusal", () => {
    for (const [, method] of webhookMethods(template)) {
      const responses = (method.Properties.Integration as { IntegrationResponses: Json[] })
        .IntegrationResponses;
      const byStatus = new Map(responses.map((r) => [r.StatusCode, r]));
      expect(byStatus.get("200")).toEqual({
        StatusCode: "200",
        ResponseTemplates: { "application/json": '{"accepted":true}' },
      });
      const badRequest = byStatus.get("400") as {
        SelectionPattern: string;
        ResponseTemplates: Json;
      };
      expect(badRequest.SelectionPattern).toBe("400");
      const template400 = String(badRequest.ResponseTemplates["application/json"]);
      expect(template400).toContain('#if($input.body.contains("shorter than"))');
      expect(template400).toContain("#set($context.responseOverride.status = 413)");
      expect(template400).toContain('"code":"PAYLOAD_TOO_LARGE"');
      const internal = byStatus.get("500") as { SelectionPattern: string };
      const pattern = new RegExp(`^(?:${internal.SelectionPattern})$`);
      // Java regex semantics: the whole status must match.
      for (const status of ["401", "403", "404", "413", "429", "500", "502", "503"])
        expect(pattern.test(status), status).toBe(true);
      for (const status of ["200", "400"]) expect(pattern.test(status), status).toBe(false);
      expect((method.Properties.MethodResponses as Json[]).map((r) => r.StatusCode).sort()).toEqual(
        ["200", "400", "413", "500"],
      );
    }
  });

  it("answer a wrong token (no such resource) with the contract's 403 ACCESS_DENIED", () => {
    const webhookApi = logicalId(synthesised.stack.webhooks.api);
    template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      RestApiId: { Ref: webhookApi },
      ResponseType: "MISSING_AUTHENTICATION_TOKEN",
      StatusCode: "403",
      ResponseTemplates: {
        "application/json": Match.stringLikeRegexp('"code":"ACCESS_DENIED"'),
      },
    });
  });

  it("never log, trace or output the token, and throttle the stage", () => {
    const stageId = logicalId(synthesised.stack.webhooks.api.deploymentStage);
    const stage = resourcesOf(template, "AWS::ApiGateway::Stage")[stageId] as Resource;
    expect(stage.Properties.TracingEnabled).toBe(false);
    // Access logging needs the account's CloudWatch role, which the export API's stack sets.
    const account = Object.keys(resourcesOf(template, "AWS::ApiGateway::Account"));
    expect(account).toHaveLength(1);
    expect(listOf(stage.DependsOn)).toContain(account[0]);
    const format = String((stage.Properties.AccessLogSetting as Json).Format);
    expect(format).not.toMatch(/\$context\.(path|resourcePath)/);
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        LoggingLevel: "OFF",
        DataTraceEnabled: false,
        ThrottlingRateLimit: 200,
        ThrottlingBurstLimit: 400,
      }),
    ]);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs)).not.toContain("resolve:secretsmanager");
    const url = JSON.stringify(outputs[STACK_OUTPUT.moWebhookUrl]?.Value);
    expect(url).toContain("/hooks/wavy/{token}/mo");
    expect(JSON.stringify(outputs[STACK_OUTPUT.statusWebhookUrl]?.Value)).toContain(
      "/hooks/wavy/{token}/status",
    );
    for (const key of [
      STACK_OUTPUT.webhookTokenSecretId,
      STACK_OUTPUT.windowsTableName,
      STACK_OUTPUT.webhookQueueUrl,
      STACK_OUTPUT.webhookDeadLetterQueueUrl,
    ])
      expect(outputs).toHaveProperty(key);
  });

  it("give API Gateway's role SendMessage on the webhook queue and nothing else of ours", () => {
    const roleId = logicalId(synthesised.stack.webhooks.sendRole);
    const role = resourcesOf(template, "AWS::IAM::Role")[roleId] as Resource;
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(
      '"Service":"apigateway.amazonaws.com"',
    );
    const queueArn = JSON.stringify({
      "Fn::GetAtt": [logicalId(synthesised.stack.webhooks.queue), "Arn"],
    });
    expect(grants(template, roleId)).toEqual(
      expect.arrayContaining([{ action: "sqs:SendMessage", resource: queueArn }]),
    );
    expect(grants(template, roleId).filter((g) => g.resource !== queueArn)).toEqual([]);
  });

  it("re-read the token under new logical ids, and a new deployment, when its version rises", () => {
    const tokenIds = (t: Template) =>
      Object.entries(resourcesOf(t, "AWS::ApiGateway::Resource"))
        .filter(([, r]) => typeof r.Properties.PathPart !== "string")
        .map(([id]) => id);
    const deploymentIds = (t: Template) =>
      Object.keys(resourcesOf(t, "AWS::ApiGateway::Deployment")).filter((id) =>
        id.startsWith("WebhooksApi"),
      );
    const [first] = tokenIds(template);
    const [second] = tokenIds(rotated);
    expect(first).toMatch(/^WebhooksTokenV1/);
    expect(second).toMatch(/^WebhooksTokenV2/);
    expect(deploymentIds(rotated)).not.toEqual(deploymentIds(template));
  });

  it("leave the previous token's resources exactly as they were, so nothing re-reads the secret", () => {
    // CloudFormation resolves a dynamic reference only when it creates or updates the resource;
    // PathPart is create-only, and a replacement is created before the original is deleted, so a
    // changed subtree would put two resources on one path.
    const byId = (t: Template) =>
      Object.fromEntries(
        Object.entries(resourcesOf(t, "AWS::ApiGateway::Resource"))
          .filter(([, r]) => typeof r.Properties.PathPart !== "string")
          .map(([id, r]) => [id, JSON.stringify(r.Properties.PathPart)]),
      );
    const [v1Id] = Object.keys(byId(template));
    const overlap = byId(overlapping);
    // The very same logical id and properties as before the rotation, beside a new one for v2.
    expect(Object.keys(overlap)).toHaveLength(2);
    const v1 = (t: Template) => resourcesOf(t, "AWS::ApiGateway::Resource")[String(v1Id)];
    expect(v1(overlapping)).toEqual(v1(template));
    const [v2Id] = Object.keys(overlap).filter((id) => id !== v1Id);
    expect(v2Id).toMatch(/^WebhooksTokenV2/);
    // The methods and resources below the old token are the same ones too.
    const below = (t: Template) =>
      Object.keys(resourcesOf(t, "AWS::ApiGateway::Method")).filter((id) =>
        id.startsWith("WebhooksTokenV1"),
      );
    expect(below(overlapping).sort()).toEqual(below(template).sort());
    expect(below(template)).toHaveLength(2);
  });

  it("serve the previous token too while Wavy switches over", () => {
    const parts = Object.values(resourcesOf(overlapping, "AWS::ApiGateway::Resource"))
      .map((r) => JSON.stringify(r.Properties.PathPart))
      .filter((part) => part.includes("resolve:secretsmanager"));
    expect(parts).toHaveLength(2);
    const webhookApiMethods = Object.values(
      resourcesOf(overlapping, "AWS::ApiGateway::Method"),
    ).filter((m) => JSON.stringify(m.Properties.RestApiId).includes("WebhooksApi"));
    expect(webhookApiMethods).toHaveLength(4);
  });
});

describe("the window processor", () => {
  it("takes the webhook queue in batches of 10 and reports partial batch failures", () => {
    const [fnId, fn] = functionOf(template, WINDOW_SERVICE_NAME.windowEvents);
    const [, mapping] = only(template, "AWS::Lambda::EventSourceMapping");
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: fnId },
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      EventSourceArn: {
        "Fn::GetAtt": [logicalId(synthesised.stack.webhooks.queue), "Arn"],
      },
    });
    const variables = (fn.Properties.Environment as { Variables: Json }).Variables;
    expect(variables).toMatchObject({
      WINDOWS_TABLE_NAME: { Ref: logicalId(synthesised.stack.windowsTable.table) },
      WINDOW_RETENTION_DAYS: "7",
      REJECTED_BUCKET: { Ref: logicalId(synthesised.stack.storage.bucket) },
      POWERTOOLS_METRICS_NAMESPACE: "WavySessions",
      EVENT_BUS_NAME: "default",
    });
  });

  it("is told the targets' origins (WINDOW_TARGETS), only of the targets that list some", () => {
    const [, fn] = functionOf(template, WINDOW_SERVICE_NAME.windowEvents);
    const variables = (fn.Properties.Environment as { Variables: Json }).Variables;
    expect(JSON.parse(String(variables.WINDOW_TARGETS))).toEqual([
      { customerId: "42", subAccountId: null, origins: ["5511999990000", "551133334444"] },
    ]);
  });

  it("may write windows, put rejected items under their prefix only, and consume the queue", () => {
    const [, fn] = functionOf(template, WINDOW_SERVICE_NAME.windowEvents);
    const tableArn = JSON.stringify({
      "Fn::GetAtt": [logicalId(synthesised.stack.windowsTable.table), "Arn"],
    });
    const actions = grants(template, roleOf(fn));
    for (const action of ["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"])
      expect(actions).toContainEqual({ action, resource: tableArn });
    const puts = actions.filter((g) => g.action === "s3:PutObject");
    expect(puts).toHaveLength(1);
    expect(puts[0]?.resource).toContain(`/${WEBHOOK_REJECTED_PREFIX}*`);
    const queueArn = JSON.stringify({
      "Fn::GetAtt": [logicalId(synthesised.stack.webhooks.queue), "Arn"],
    });
    for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"])
      expect(actions).toContainEqual({ action, resource: queueArn });
  });
});

describe("the lookups", () => {
  it("are GET /windows and GET /windows/{destination}, IAM-authorised, on the export API", () => {
    const routes = methodsByRoute(template);
    const [fnId] = functionOf(template, WINDOW_SERVICE_NAME.windowsApi);
    const exportApi = logicalId(synthesised.stack.exportApi.api);
    for (const route of ["GET /windows", "GET /windows/{destination}"]) {
      const method = routes.get(route);
      expect(method?.Properties.AuthorizationType, route).toBe("AWS_IAM");
      expect(method?.Properties.RestApiId).toEqual({ Ref: exportApi });
      expect(JSON.stringify(method?.Properties.Integration)).toContain(`"${fnId}","Arn"`);
    }
    template.hasResourceProperties("AWS::Lambda::Permission", {
      FunctionName: { "Fn::GetAtt": [fnId, "Arn"] },
      Principal: "apigateway.amazonaws.com",
      // The deployed stage only (any other stage, test-invoke-stage included, is refused).
      SourceArn: Match.objectLike({
        "Fn::Join": [
          "",
          Match.arrayWith([
            { Ref: exportApi },
            "/",
            { Ref: logicalId(synthesised.stack.exportApi.api.deploymentStage) },
            "/GET/windows*",
          ]),
        ],
      }),
    });
  });

  it("may read the table and query its closing index, nothing more", () => {
    const [, fn] = functionOf(template, WINDOW_SERVICE_NAME.windowsApi);
    const tableId = logicalId(synthesised.stack.windowsTable.table);
    const ofTable = grants(template, roleOf(fn)).filter((g) => g.action.startsWith("dynamodb:"));
    expect(ofTable.map((g) => g.action).sort()).toEqual([
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Query",
    ]);
    expect(ofTable.map((g) => g.resource)).toContainEqual(
      JSON.stringify({ "Fn::GetAtt": [tableId, "Arn"] }),
    );
    expect(ofTable.some((g) => g.resource.includes(`/index/${WINDOWS_TABLE.closingIndex}`))).toBe(
      true,
    );
  });
});

describe("the counter and the dashboard", () => {
  it("give the counter the table, Query on the index, and each target's origins", () => {
    const [, counter] = functionOf(template, "wavy-sessions-counter");
    const variables = (counter.Properties.Environment as { Variables: Json }).Variables;
    expect(variables.WINDOWS_TABLE_NAME).toEqual({
      Ref: logicalId(synthesised.stack.windowsTable.table),
    });
    const dynamodb = grants(template, roleOf(counter)).filter((g) =>
      g.action.startsWith("dynamodb:"),
    );
    const queries = dynamodb.filter((g) => g.action === "dynamodb:Query");
    expect(queries).toHaveLength(1);
    expect(queries[0]?.resource).toContain(`/index/${WINDOWS_TABLE.closingIndex}`);
    // Issue 21: the snapshot reconciliation's conditional UpdateItem, on the table only.
    expect(dynamodb.filter((g) => g.action !== "dynamodb:Query")).toEqual([
      {
        action: "dynamodb:UpdateItem",
        resource: JSON.stringify({
          "Fn::GetAtt": [logicalId(synthesised.stack.windowsTable.table), "Arn"],
        }),
      },
    ]);
    expect(variables.WINDOW_RETENTION_DAYS).toBe("7");
    const inputs = Object.values(resourcesOf(template, "AWS::Scheduler::Schedule")).map((s) =>
      JSON.parse(String((s.Properties.Target as Json).Input)),
    );
    expect(inputs).toContainEqual(TARGETS[0]);
    expect(inputs).toContainEqual(TARGETS[1]);
  });

  it("shows OpenWindows and the rejected items, and alarms on the webhook dead letters", () => {
    const [, dashboard] = only(template, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [WINDOW_METRIC.openWindows, WINDOW_METRIC.itemsRejected])
      expect(body).toContain(`MetricName=\\\\\\"${metric}\\\\\\"`);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "WavySessions/WebhookDeadLetters",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [
        {
          Name: "QueueName",
          Value: {
            "Fn::GetAtt": [logicalId(synthesised.stack.webhooks.deadLetterQueue), "QueueName"],
          },
        },
      ],
      AlarmActions: Match.anyValue(),
    });
  });
});
