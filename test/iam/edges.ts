import { WEBHOOK_REJECTED_PREFIX } from "../../lambdas/lib/contract.js";
import { TEST_ACCOUNT, TEST_REGION } from "../support/aws-names.js";
import { type IamRequest, sessionArn } from "./evaluate.js";
import type { RoleModel, StackModel } from "./stack-model.js";

/**
 * The service-to-service requests AWS makes on the stack's behalf, each with the principal and
 * request context its service documents. AWS's own calls are made over TLS, hence
 * `aws:SecureTransport` true where a resource policy denies plain HTTP.
 */

const tls = { "aws:SecureTransport": "true" };

/** Lambda assumes each execution role, then writes its logs and traces with it. */
function functionEdges(model: StackModel): IamRequest[] {
  return (["export", "counter", "worker", "companion"] as const).flatMap((fn) =>
    lambdaBasicEdges(fn, model.functionRole[fn], model.logGroupArn[fn], `wavy-sessions-${fn}`),
  );
}

/**
 * What Lambda does with any function's execution role: assume it, write the function's logs and
 * send its traces. The role's session is named `sessionName`.
 */
function lambdaBasicEdges(
  fn: string,
  role: RoleModel,
  logGroupArn: string,
  sessionName: string = fn,
): IamRequest[] {
  const session = sessionArn(role, sessionName);
  const stream = `${logGroupArn.replace(/:\*$/, "")}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
  return [
    {
      // "Defining Lambda function permissions with an execution role": the trust policy names
      // lambda.amazonaws.com (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
      label: `Lambda assumes the ${fn} function's execution role`,
      principal: "lambda.amazonaws.com",
      action: "sts:AssumeRole",
      resource: role.arn,
      resourcePolicy: role.trustPolicy,
    },
    // "Sending Lambda function logs to CloudWatch Logs": the execution role needs
    // logs:CreateLogStream and logs:PutLogEvents on the function's log group
    // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html); both are
    // authorised on the log stream's ARN (Service Authorization Reference, CloudWatch Logs).
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => ({
      label: `Lambda writes the ${fn} function's logs (${action})`,
      principal: session,
      action,
      resource: stream,
      role,
    })),
    // Active tracing: "the execution role needs xray:PutTraceSegments and
    // xray:PutTelemetryRecords" (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html);
    // neither supports resource-level permissions.
    ...["xray:PutTraceSegments", "xray:PutTelemetryRecords"].map((action) => ({
      label: `Lambda sends the ${fn} function's traces (${action})`,
      principal: session,
      action,
      resource: "*",
      role,
    })),
  ];
}

/**
 * EventBridge Scheduler assumes a schedule's execution role with `aws:SourceArn` = the schedule
 * group's ARN and `aws:SourceAccount` ("Confused deputy prevention",
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html),
 * then invokes the target with it (`lambda:InvokeFunction`, "Set up the execution role",
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role)
 * and, when delivery keeps failing, sends the event to the schedule's DLQ with it
 * (`sqs:SendMessage`, https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
 */
function schedulerEdges(model: StackModel): IamRequest[] {
  return model.schedules.flatMap((schedule) => {
    const role = roleByArn(model, schedule.roleArn);
    const session = sessionArn(role, "scheduler");
    return [
      {
        label: `Scheduler assumes the role of ${schedule.logicalId}`,
        principal: "scheduler.amazonaws.com",
        action: "sts:AssumeRole",
        resource: role.arn,
        resourcePolicy: role.trustPolicy,
        context: { "aws:SourceArn": schedule.groupArn, "aws:SourceAccount": TEST_ACCOUNT },
      },
      {
        label: `Scheduler invokes its target (the counter, or the worker's sweep) for ${schedule.logicalId}`,
        principal: session,
        action: "lambda:InvokeFunction",
        resource: schedule.targetArn,
        role,
      },
      ...(schedule.deadLetterArn
        ? [
            {
              label: `Scheduler dead-letters an event of ${schedule.logicalId}`,
              principal: session,
              action: "sqs:SendMessage",
              resource: schedule.deadLetterArn,
              role,
              resourcePolicy: queuePolicy(model, schedule.deadLetterArn),
              context: tls,
            },
          ]
        : []),
    ];
  });
}

/**
 * A failed asynchronous invocation's record goes to the on-failure destination with the
 * function's execution role, which needs `sqs:SendMessage` on the queue ("Capturing records of
 * Lambda asynchronous invocations",
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
 */
function destinationEdges(model: StackModel): IamRequest[] {
  return (["counter", "worker"] as const).flatMap((fn) => {
    const role = model.functionRole[fn];
    return model.onFailureDestinations[fn].map((destination) => ({
      label: `Lambda sends a failed ${fn} invocation to its on-failure destination`,
      principal: sessionArn(role, `wavy-sessions-${fn}`),
      action: "sqs:SendMessage",
      resource: destination,
      role,
      resourcePolicy: queuePolicy(model, destination),
      context: tls,
    }));
  });
}

/**
 * A CloudWatch alarm publishes to its SNS action as `cloudwatch.amazonaws.com`, with
 * `aws:SourceArn` = the alarm's ARN and `aws:SourceAccount` = its account; the topic's access
 * policy must allow it ("Amazon SNS access control — cross-service confused deputy",
 * https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html, and
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
 * An AWS::SNS::TopicPolicy replaces the topic's default policy rather than adding to it.
 */
function alarmEdges(model: StackModel): IamRequest[] {
  const topic = model.topic;
  if (!topic) return [];
  return model.alarms
    .filter((alarm) => alarm.actions.includes(topic.arn))
    .map((alarm) => ({
      label: `CloudWatch alarm ${alarm.logicalId} publishes to the alarm topic`,
      principal: "cloudwatch.amazonaws.com",
      action: "sns:Publish",
      resource: topic.arn,
      resourcePolicy: topic.policy ?? snsDefaultPolicy(topic.arn),
      context: { "aws:SourceArn": alarm.arn, "aws:SourceAccount": TEST_ACCOUNT, ...tls },
    }));
}

/**
 * API Gateway invokes a Lambda integration as `apigateway.amazonaws.com` with `aws:SourceArn` =
 * the method's ARN, `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/VERB/RESOURCE_PATH`
 * ("Control access to a REST API with IAM permissions", resource format,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html);
 * the function's resource-based policy must allow it
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html#services-apigateway-permissions).
 * An ANY method is invoked with the request's own verb, so each verb is checked.
 */
const VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

function apiEdges(model: StackModel): IamRequest[] {
  const { restApiId, stage, methods } = model.api;
  // The lookups' methods reach their own function (windowsEdges).
  const exportMethods = methods.filter(({ uri }) => uri.includes(model.functionArn.export));
  return exportMethods.flatMap(({ verb, path }) =>
    (verb === "ANY" ? VERBS : [verb]).map((requestVerb) => ({
      label: `API Gateway invokes the export function for ${verb === "ANY" ? `ANY (${requestVerb})` : verb} ${path}`,
      principal: "apigateway.amazonaws.com",
      action: "lambda:InvokeFunction",
      resource: model.functionArn.export,
      resourcePolicy: model.exportFunctionPolicy,
      context: {
        "aws:SourceArn": `arn:aws:execute-api:${TEST_REGION}:${TEST_ACCOUNT}:${restApiId}/${stage}/${requestVerb}${path}`,
        "aws:SourceAccount": TEST_ACCOUNT,
      },
    })),
  );
}

/**
 * The live windows (issue 20): API Gateway → SQS for the webhooks, SQS → the processor through
 * its event source mapping, API Gateway → the lookup function, and the DynamoDB and S3 calls the
 * interface names for the processor, the lookups and the counter (docs/contract.md, "Live
 * windows"), as the raw SDK requests they are.
 */
function windowsEdges(model: StackModel): IamRequest[] {
  const w = model.windows;
  const session = (role: RoleModel, name: string) => sessionArn(role, name);
  const functions = [
    { fn: "window-events", role: w.processorRole, logGroupArn: w.processorLogGroupArn },
    { fn: "windows-api", role: w.lookupRole, logGroupArn: w.lookupLogGroupArn },
  ];
  const lambdaBasics = functions.flatMap(({ fn, role, logGroupArn }) =>
    lambdaBasicEdges(fn, role, logGroupArn),
  );

  // API Gateway calls an AWS service with the integration's credentials role: it assumes the role
  // as apigateway.amazonaws.com, then signs the service request with it
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services-sqs.html;
  // SendMessage is sqs:SendMessage on the queue's ARN,
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html).
  const webhookMethods = w.webhookApi.methods.filter(({ uri }) => uri.includes(":sqs:path/"));
  const webhook = [
    {
      label: "API Gateway assumes the webhook integration's role",
      principal: "apigateway.amazonaws.com",
      action: "sts:AssumeRole",
      resource: w.sendRole.arn,
      resourcePolicy: w.sendRole.trustPolicy,
    },
    ...webhookMethods.map(({ verb, path }) => ({
      label: `API Gateway sends ${verb} ${path}'s body to the webhook queue`,
      principal: session(w.sendRole, "apigateway"),
      action: "sqs:SendMessage",
      resource: w.queue.arn,
      role: w.sendRole,
      resourcePolicy: w.queue.policy,
      context: tls,
    })),
  ];

  // Lambda polls an SQS event source with the function's execution role: ReceiveMessage,
  // DeleteMessage and GetQueueAttributes on the queue
  // (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
  const polling = w.eventSources.flatMap(({ functionArn, queueArn }) => {
    if (functionArn !== w.processorFunctionArn)
      throw new Error(`An event source mapping of an unexpected function: ${functionArn}`);
    const role = w.processorRole;
    return ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"].map((action) => ({
      label: `Lambda polls the webhook queue for the window-events function (${action})`,
      principal: session(role, "window-events"),
      action,
      resource: queueArn,
      role,
      resourcePolicy: queueArn === w.queue.arn ? w.queue.policy : undefined,
      context: tls,
    }));
  });

  // The lookup routes reach their own function: its resource-based policy must let API Gateway
  // invoke it for both routes of the deployed stage (as apiEdges for the export function).
  const lookupMethods = model.api.methods.filter(({ uri }) => uri.includes(w.lookupFunctionArn));
  const lookups = lookupMethods.map(({ verb, path }) => ({
    label: `API Gateway invokes the windows-api function for ${verb} ${path}`,
    principal: "apigateway.amazonaws.com",
    action: "lambda:InvokeFunction",
    resource: w.lookupFunctionArn,
    resourcePolicy: w.lookupFunctionPolicy,
    context: {
      "aws:SourceArn": `arn:aws:execute-api:${TEST_REGION}:${TEST_ACCOUNT}:${model.api.restApiId}/${model.api.stage}/${verb}${path.replace("{destination}", "5511999990000")}`,
      "aws:SourceAccount": TEST_ACCOUNT,
    },
  }));

  // The calls the interface names (docs/contract.md, "Applying an MO", "Lookups", "Open windows"):
  // item actions on the table's ARN, a Query of the index on the index's ARN
  // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
  const processor = session(w.processorRole, "window-events");
  const lookup = session(w.lookupRole, "windows-api");
  const counterRole = model.functionRole.counter;
  const data = [
    ...["dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"].map((action) => ({
      label: `the window-events function's ${action} on the windows table`,
      principal: processor,
      action,
      resource: w.tableArn,
      role: w.processorRole,
      context: tls,
    })),
    {
      label: "the window-events function keeps a rejected item under webhooks/rejected/",
      principal: processor,
      action: "s3:PutObject",
      resource: `arn:aws:s3:::${model.bucketName}/${WEBHOOK_REJECTED_PREFIX}mo/2026-12-06/0123-0.json`,
      role: w.processorRole,
      resourcePolicy: model.bucketPolicy,
      context: tls,
    },
    ...["dynamodb:GetItem", "dynamodb:Query"].map((action) => ({
      label: `the windows-api function's ${action} on the windows table`,
      principal: lookup,
      action,
      resource: w.tableArn,
      role: w.lookupRole,
      context: tls,
    })),
    // Issue 21: Send Rejected Outside Window on the stack's bus (the account's default bus in
    // this synth); PutEvents is authorised on the bus's ARN
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    {
      label: "the window-events function puts window events on the bus",
      principal: processor,
      action: "events:PutEvents",
      resource: DEFAULT_BUS_ARN,
      role: w.processorRole,
      context: tls,
    },
    {
      label: "the windows-api function queries the closing index",
      principal: lookup,
      action: "dynamodb:Query",
      resource: w.closingIndexArn,
      role: w.lookupRole,
      context: tls,
    },
    {
      label: "the counter queries the closing index for OpenWindows",
      principal: sessionArn(counterRole, "wavy-sessions-counter"),
      action: "dynamodb:Query",
      resource: w.closingIndexArn,
      role: counterRole,
      context: tls,
    },
    // Issue 21 (docs/contract.md, "Snapshots reconciled"): a window the webhook missed, added
    // by the conditional UpdateItem, authorised on the table's ARN.
    {
      label: "the counter adds a snapshot window (UpdateItem on the windows table)",
      principal: sessionArn(counterRole, "wavy-sessions-counter"),
      action: "dynamodb:UpdateItem",
      resource: w.tableArn,
      role: counterRole,
      context: tls,
    },
  ];
  return [...lambdaBasics, ...webhook, ...polling, ...lookups, ...data, ...sweeperEdges(model)];
}

/** The default bus of the test account: where the synth's events go. */
const DEFAULT_BUS_ARN = `arn:aws:events:${TEST_REGION}:${TEST_ACCOUNT}:event-bus/default`;

/**
 * Issue 21's closing-notice sweeper (docs/contract.md, "Closing notices"): Lambda's basics, then
 * the calls its domain makes: a Query of the index (never the table), the claim's conditional
 * UpdateItem on the table, PutEvents on the bus. Its schedule's edges are schedulerEdges'.
 */
function sweeperEdges(model: StackModel): IamRequest[] {
  const sweeper = model.windows.sweeper;
  if (!sweeper) return [];
  const { role } = sweeper;
  const principal = sessionArn(role, "closing-notices");
  return [
    ...lambdaBasicEdges("closing-notices", role, sweeper.logGroupArn),
    {
      label: "the closing-notices function queries the closing index",
      principal,
      action: "dynamodb:Query",
      resource: model.windows.closingIndexArn,
      role,
      context: tls,
    },
    {
      label: "the closing-notices function claims a notice (UpdateItem on the windows table)",
      principal,
      action: "dynamodb:UpdateItem",
      resource: model.windows.tableArn,
      role,
      context: tls,
    },
    {
      label: "the closing-notices function puts Window Closing on the bus",
      principal,
      action: "events:PutEvents",
      resource: DEFAULT_BUS_ARN,
      role,
      context: tls,
    },
  ];
}

/**
 * Requests that must be refused: what the live windows' roles were not given. The evaluator
 * must answer "ImplicitlyDenied" (or explicitly) for each.
 */
export function refusedWindowsEdges(model: StackModel): IamRequest[] {
  const w = model.windows;
  return [
    {
      label: "the webhook role cannot send to the webhook dead-letter queue",
      principal: sessionArn(w.sendRole, "apigateway"),
      action: "sqs:SendMessage",
      resource: w.deadLetterQueue.arn,
      role: w.sendRole,
      resourcePolicy: w.deadLetterQueue.policy,
      context: tls,
    },
    {
      label: "the windows-api function cannot write a window",
      principal: sessionArn(w.lookupRole, "windows-api"),
      action: "dynamodb:UpdateItem",
      resource: w.tableArn,
      role: w.lookupRole,
      context: tls,
    },
    {
      label: "the window-events function cannot write outside webhooks/rejected/",
      principal: sessionArn(w.processorRole, "window-events"),
      action: "s3:PutObject",
      resource: `arn:aws:s3:::${model.bucketName}/exports/x.csv`,
      role: w.processorRole,
      resourcePolicy: model.bucketPolicy,
      context: tls,
    },
    {
      // Issue 21: it may UpdateItem a window (the reconciliation), nothing else.
      label: "the counter cannot put or delete a window",
      principal: sessionArn(model.functionRole.counter, "wavy-sessions-counter"),
      action: "dynamodb:DeleteItem",
      resource: w.tableArn,
      role: model.functionRole.counter,
      context: tls,
    },
    // Issue 21: the sweeper reads by the index only (docs/contract.md, "Closing notices").
    ...(w.sweeper
      ? ["dynamodb:Scan", "dynamodb:Query", "dynamodb:PutItem"].map((action) => ({
          label: `the closing-notices function cannot ${action} the windows table itself`,
          principal: sessionArn(w.sweeper?.role as RoleModel, "closing-notices"),
          action,
          resource: w.tableArn,
          role: w.sweeper?.role as RoleModel,
          context: tls,
        }))
      : []),
    {
      label: "a webhook send over plain HTTP is refused by the queue's policy",
      principal: sessionArn(w.sendRole, "apigateway"),
      action: "sqs:SendMessage",
      resource: w.queue.arn,
      role: w.sendRole,
      resourcePolicy: w.queue.policy,
      context: { "aws:SecureTransport": "false" },
    },
  ];
}

/**
 * The companion's rule (docs/contract.md, "Companions"). EventBridge invokes a Lambda target as
 * `events.amazonaws.com` with `aws:SourceArn` = the rule's ARN, allowed by the function's
 * resource-based policy ("Using resource-based policies for Amazon EventBridge", Lambda
 * permissions, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions);
 * an event it cannot deliver goes to the target's dead-letter queue as `events.amazonaws.com`
 * with the same `aws:SourceArn`, allowed by the queue's policy ("Granting permissions to the
 * dead-letter queue", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html#eb-rule-dlq).
 * An invocation that still fails after Lambda's retries goes to the function's dead-letter queue
 * with its execution role (sqs:SendMessage,
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq).
 */
function companionEdges(model: StackModel): IamRequest[] {
  const { ruleArn, functionPolicy, deadLetterQueue, functionDeadLetterArn } = model.companion;
  const role = model.functionRole.companion;
  const fromRule = { "aws:SourceArn": ruleArn, "aws:SourceAccount": TEST_ACCOUNT };
  return [
    {
      label: "EventBridge invokes the companion function for its rule",
      principal: "events.amazonaws.com",
      action: "lambda:InvokeFunction",
      resource: model.functionArn.companion,
      resourcePolicy: functionPolicy,
      context: fromRule,
    },
    {
      label: "EventBridge dead-letters an Export Succeeded it could not deliver",
      principal: "events.amazonaws.com",
      action: "sqs:SendMessage",
      resource: deadLetterQueue.arn,
      resourcePolicy: deadLetterQueue.policy,
      context: { ...fromRule, ...tls },
    },
    ...(functionDeadLetterArn
      ? [
          {
            label: "Lambda sends a failed companion invocation to its dead-letter queue",
            principal: sessionArn(role, "wavy-sessions-companion"),
            action: "sqs:SendMessage",
            resource: functionDeadLetterArn,
            role,
            resourcePolicy: queuePolicy(model, functionDeadLetterArn),
            context: tls,
          },
        ]
      : []),
  ];
}

export function serviceEdges(model: StackModel): IamRequest[] {
  return [
    ...functionEdges(model),
    ...companionEdges(model),
    ...schedulerEdges(model),
    ...destinationEdges(model),
    ...alarmEdges(model),
    ...apiEdges(model),
    ...windowsEdges(model),
  ];
}

function roleByArn(model: StackModel, arn: string): RoleModel {
  const role = model.roles.find((candidate) => candidate.arn === arn);
  if (!role) throw new Error(`No role in the template has the ARN ${arn}`);
  return role;
}

function queuePolicy(model: StackModel, queueArn: string) {
  if (queueArn === model.companion.deadLetterQueue.arn)
    return model.companion.deadLetterQueue.policy;
  return queueArn === model.deadLetterQueue.arn ? model.deadLetterQueue.policy : undefined;
}

/**
 * The access policy SNS gives a topic that has no TopicPolicy: the owner account's principals
 * may publish ("Example cases for Amazon SNS access control", default policy,
 * https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html).
 */
function snsDefaultPolicy(topicArn: string) {
  return {
    Version: "2008-10-17",
    Statement: [
      {
        Sid: "__default_statement_ID",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["SNS:Publish"],
        Resource: topicArn,
        Condition: { StringEquals: { "AWS:SourceOwner": TEST_ACCOUNT } },
      },
    ],
  };
}
