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
  return (["export", "counter", "worker", "companion"] as const).flatMap((fn) => {
    const role = model.functionRole[fn];
    const session = sessionArn(role, `wavy-sessions-${fn}`);
    const stream = `${model.logGroupArn[fn].replace(/:\*$/, "")}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
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
  });
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
        context: { "aws:SourceArn": model.scheduleGroupArn, "aws:SourceAccount": TEST_ACCOUNT },
      },
      {
        label: `Scheduler invokes the counter for ${schedule.logicalId}`,
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
  return methods.flatMap(({ verb, path }) =>
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
