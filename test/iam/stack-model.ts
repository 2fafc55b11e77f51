import type { CfnElement, Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import type { WavySessionsStack } from "../../infra/wavy-sessions-stack.js";
import { WINDOWS_TABLE } from "../../lambdas/lib/contract.js";
import type { FunctionRole } from "../support/aws-call-recorder.js";
import { TEST_SECRET_ARN, TEST_WORKER_FUNCTION } from "../support/aws-names.js";
import { BUCKET } from "../support/export-harness.js";
import { TemplateResolver } from "./template-resolver.js";

/**
 * The synthesised stack as the IAM evaluation needs it: each role with its trust policy and
 * identity policies, and the resource policies and ARNs of what the edges touch, all resolved
 * to one test account. The export bucket and the created secret get the names the tests' own
 * calls use, so a recorded call's ARN is the deployed resource's ARN.
 */

export type PolicyDocument = { Version?: string; Statement: Statement[] };
export type Statement = Record<string, unknown>;

export interface RoleModel {
  logicalId: string;
  arn: string;
  name: string;
  trustPolicy: PolicyDocument;
  identityPolicies: { name: string; policy: PolicyDocument }[];
  managedPolicyArns: string[];
}

export interface ApiMethod {
  verb: string;
  /** The resource path as API Gateway names it, e.g. `/exports/{exportId}`. */
  path: string;
  /** The integration's URI, resolved: which function (or service) the method reaches. */
  uri: string;
}

/** What the live windows' edges touch (issue 20), resolved like the rest. */
export interface WindowsModel {
  tableArn: string;
  closingIndexArn: string;
  queue: { arn: string; policy: PolicyDocument | undefined };
  deadLetterQueue: { arn: string; policy: PolicyDocument | undefined };
  /** The role API Gateway assumes to send to the queue. */
  sendRole: RoleModel;
  processorRole: RoleModel;
  processorFunctionArn: string;
  processorLogGroupArn: string;
  lookupRole: RoleModel;
  lookupLogGroupArn: string;
  lookupFunctionArn: string;
  /** Lambda's resource-based policy of the lookup function. */
  lookupFunctionPolicy: PolicyDocument;
  /** The event source mappings: which function polls which queue. */
  eventSources: { functionArn: string; queueArn: string }[];
  webhookApi: { restApiId: string; stage: string; methods: ApiMethod[] };
  /** Issue 21's closing-notice sweeper, when the synth's `closingNotices` names an origin. */
  sweeper?: { role: RoleModel; logGroupArn: string };
}

export interface StackModel {
  roles: RoleModel[];
  functionRole: Record<FunctionRole, RoleModel>;
  functionArn: Record<FunctionRole, string>;
  logGroupArn: Record<FunctionRole, string>;
  /** Lambda's resource-based policy of the export function, from its AWS::Lambda::Permission. */
  exportFunctionPolicy: PolicyDocument;
  bucketPolicy: PolicyDocument | undefined;
  /** The export bucket's name (the tests' own). */
  bucketName: string;
  deadLetterQueue: { arn: string; policy: PolicyDocument | undefined };
  /**
   * The companion function's (docs/contract.md, "Companions"): its rule, the function's
   * resource-based policy from its AWS::Lambda::Permission, and its own dead-letter queue.
   */
  companion: {
    ruleArn: string;
    functionPolicy: PolicyDocument;
    deadLetterQueue: { arn: string; policy: PolicyDocument | undefined };
    /** The function's DeadLetterConfig target. */
    functionDeadLetterArn: string | undefined;
  };
  /** Where each asynchronously invoked function's failed invocations go. */
  onFailureDestinations: { counter: string[]; worker: string[] };
  scheduleGroupArn: string;
  schedules: {
    logicalId: string;
    roleArn: string;
    targetArn: string;
    deadLetterArn?: string;
    /** The ARN of the schedule's group: what Scheduler presents as aws:SourceArn. */
    groupArn: string;
  }[];
  /** Absent when alarms go nowhere or to an imported topic (whose policy is not ours). */
  topic: { arn: string; policy: PolicyDocument | undefined } | undefined;
  alarms: { logicalId: string; arn: string; actions: string[] }[];
  api: { restApiId: string; stage: string; methods: ApiMethod[] };
  windows: WindowsModel;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The physical names the tests' own resources have: s3rver's or moto's bucket and secret. */
export interface TestResources {
  bucket: string;
  secretArn: string;
}

export function buildStackModel(
  stack: WavySessionsStack,
  template: Template,
  own: TestResources = { bucket: BUCKET, secretArn: TEST_SECRET_ARN },
): StackModel {
  const raw = template.toJSON() as { Resources: Resources };
  // Resolved, so that an overridden logical id (the dead-letter queue's) is the one read.
  const id = (construct: IConstruct): string =>
    (stack as Stack).resolve((construct.node.defaultChild as CfnElement).logicalId);
  const names: Record<string, string> = {
    [id(stack.storage.bucket)]: own.bucket,
    // The harness's Lambda stand-in serves the worker under this name.
    [id(stack.worker.function)]: TEST_WORKER_FUNCTION,
  };
  const secret = stack.secret.secret;
  if (raw.Resources[id(secret)]?.Type === "AWS::SecretsManager::Secret") {
    names[id(secret)] = own.secretArn;
  }
  const resolver = new TemplateResolver(raw, names);
  const resources = resolver.resolve(raw.Resources) as Resources;
  const ofType = (type: string) =>
    Object.entries(resources).filter(([, resource]) => resource.Type === type);

  const roles: RoleModel[] = ofType("AWS::IAM::Role").map(([logicalId, resource]) => {
    const properties = resource.Properties ?? {};
    const name = resolver.name(logicalId);
    const inline =
      (properties.Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[]) ?? [];
    const attached = ofType("AWS::IAM::Policy")
      .filter(([, policy]) =>
        ((policy.Properties?.Roles as string[] | undefined) ?? []).includes(name),
      )
      .map(([policyId, policy]) => ({
        name: policyId,
        policy: policy.Properties?.PolicyDocument as PolicyDocument,
      }));
    return {
      logicalId,
      arn: resolver.arn(logicalId),
      name,
      trustPolicy: properties.AssumeRolePolicyDocument as PolicyDocument,
      identityPolicies: [
        ...inline.map((policy) => ({ name: policy.PolicyName, policy: policy.PolicyDocument })),
        ...attached,
      ],
      managedPolicyArns: (properties.ManagedPolicyArns as string[]) ?? [],
    };
  });
  const roleByArn = (arn: string) => {
    const role = roles.find((candidate) => candidate.arn === arn);
    if (!role) throw new Error(`No role in the template has the ARN ${arn}`);
    return role;
  };

  const functionIds = {
    export: id(stack.exportApi.function),
    counter: id(stack.counter.function),
    worker: id(stack.worker.function),
    companion: id(stack.companions.function),
  } satisfies Record<FunctionRole, string>;
  const functionRole = (role: FunctionRole) =>
    roleByArn(String(resources[functionIds[role]]?.Properties?.Role));
  const logGroupOf = (functionId: string) => {
    const config = resources[functionId]?.Properties?.LoggingConfig as
      | { LogGroup?: string }
      | undefined;
    const logGroupId = ofType("AWS::Logs::LogGroup").find(
      ([logicalId]) => resolver.name(logicalId) === config?.LogGroup,
    )?.[0];
    if (!logGroupId) throw new Error(`${functionId} names no log group of the template`);
    return resolver.arn(logGroupId);
  };
  const logGroupArn = (role: FunctionRole) => logGroupOf(functionIds[role]);

  const exportArn = resolver.arn(functionIds.export);
  const functionPolicy = (functionArn: string): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: ofType("AWS::Lambda::Permission")
      .filter(([, permission]) => permission.Properties?.FunctionName === functionArn)
      .map(([logicalId, permission]) =>
        lambdaPermissionStatement(logicalId, permission.Properties ?? {}),
      ),
  });
  const exportFunctionPolicy = functionPolicy(exportArn);

  const policyOf = (type: string, listKey: string, target: string) =>
    ofType(type).find(([, policy]) =>
      ((policy.Properties?.[listKey] as string[] | undefined) ?? []).includes(target),
    )?.[1].Properties?.PolicyDocument as PolicyDocument | undefined;

  const bucketName = own.bucket;
  const queueId = id(stack.counter.deadLetterQueue);
  const topicConstruct = stack.observability.topic;
  const topicId = topicConstruct?.node.defaultChild ? id(topicConstruct) : undefined;

  const onFailureDestinations = (functionId: string) =>
    ofType("AWS::Lambda::EventInvokeConfig")
      .filter(([, config]) => config.Properties?.FunctionName === resolver.name(functionId))
      .flatMap(([, config]) => {
        const destinations = config.Properties?.DestinationConfig as
          | { OnFailure?: { Destination: string } }
          | undefined;
        return destinations?.OnFailure ? [destinations.OnFailure.Destination] : [];
      });

  const restApiId = id(stack.exportApi.api);
  const stageId = id(stack.exportApi.api.deploymentStage);

  const queueModel = (queueId: string) => ({
    arn: resolver.arn(queueId),
    policy: policyOf("AWS::SQS::QueuePolicy", "Queues", resolver.ref(queueId)),
  });
  const tableArn = resolver.arn(id(stack.windowsTable.table));
  const processorId = id(stack.windowProcessor.function);
  const lookupId = id(stack.windowsLookup.function);
  const roleOfFunction = (functionId: string) =>
    roleByArn(String(resources[functionId]?.Properties?.Role));
  const lookupFunctionArn = resolver.arn(lookupId);
  const webhookApiId = id(stack.webhooks.api);
  const windows: WindowsModel = {
    tableArn,
    closingIndexArn: `${tableArn}/index/${WINDOWS_TABLE.closingIndex}`,
    queue: queueModel(id(stack.webhooks.queue)),
    deadLetterQueue: queueModel(id(stack.webhooks.deadLetterQueue)),
    sendRole: roleByArn(resolver.arn(id(stack.webhooks.sendRole))),
    processorRole: roleOfFunction(processorId),
    processorFunctionArn: resolver.arn(processorId),
    processorLogGroupArn: logGroupOf(processorId),
    lookupRole: roleOfFunction(lookupId),
    lookupLogGroupArn: logGroupOf(lookupId),
    lookupFunctionArn,
    lookupFunctionPolicy: functionPolicy(lookupFunctionArn),
    eventSources: ofType("AWS::Lambda::EventSourceMapping").map(([, mapping]) => ({
      functionArn: resolver.arn(
        ofType("AWS::Lambda::Function").find(
          ([logicalId]) => resolver.name(logicalId) === mapping.Properties?.FunctionName,
        )?.[0] ?? "",
      ),
      queueArn: String(mapping.Properties?.EventSourceArn),
    })),
    ...(stack.closingNotices && {
      sweeper: {
        role: roleOfFunction(id(stack.closingNotices.function)),
        logGroupArn: logGroupOf(id(stack.closingNotices.function)),
      },
    }),
    webhookApi: {
      restApiId: resolver.ref(webhookApiId),
      stage: resolver.ref(id(stack.webhooks.api.deploymentStage)),
      methods: apiMethods(resources, raw.Resources, webhookApiId),
    },
  };
  return {
    roles,
    functionRole: {
      export: functionRole("export"),
      counter: functionRole("counter"),
      worker: functionRole("worker"),
      companion: functionRole("companion"),
    },
    functionArn: {
      export: exportArn,
      counter: resolver.arn(functionIds.counter),
      worker: resolver.arn(functionIds.worker),
      companion: resolver.arn(functionIds.companion),
    },
    logGroupArn: {
      export: logGroupArn("export"),
      counter: logGroupArn("counter"),
      worker: logGroupArn("worker"),
      companion: logGroupArn("companion"),
    },
    companion: {
      ruleArn: resolver.arn(id(stack.companions.rule)),
      functionPolicy: functionPolicy(resolver.arn(functionIds.companion)),
      deadLetterQueue: {
        arn: resolver.arn(id(stack.companions.deadLetterQueue)),
        policy: policyOf(
          "AWS::SQS::QueuePolicy",
          "Queues",
          resolver.ref(id(stack.companions.deadLetterQueue)),
        ),
      },
      functionDeadLetterArn: (() => {
        const config = resources[functionIds.companion]?.Properties?.DeadLetterConfig as
          | { TargetArn?: string }
          | undefined;
        return config?.TargetArn;
      })(),
    },
    exportFunctionPolicy,
    bucketName,
    bucketPolicy: ofType("AWS::S3::BucketPolicy").find(
      ([, policy]) => policy.Properties?.Bucket === bucketName,
    )?.[1].Properties?.PolicyDocument as PolicyDocument | undefined,
    deadLetterQueue: {
      arn: resolver.arn(queueId),
      policy: policyOf("AWS::SQS::QueuePolicy", "Queues", resolver.ref(queueId)),
    },
    onFailureDestinations: {
      counter: onFailureDestinations(functionIds.counter),
      worker: onFailureDestinations(functionIds.worker),
    },
    scheduleGroupArn: resolver.arn(id(stack.counter.scheduleGroup)),
    schedules: ofType("AWS::Scheduler::Schedule").map(([logicalId, schedule]) => {
      const target = schedule.Properties?.Target as {
        Arn: string;
        RoleArn: string;
        DeadLetterConfig?: { Arn: string };
      };
      // The counter's group, or the export sweeper's (issue 19): each schedule's own.
      const groupId = ofType("AWS::Scheduler::ScheduleGroup").find(
        ([, group]) => group.Properties?.Name === schedule.Properties?.GroupName,
      )?.[0];
      return {
        logicalId,
        roleArn: target.RoleArn,
        targetArn: target.Arn,
        deadLetterArn: target.DeadLetterConfig?.Arn,
        groupArn: groupId ? resolver.arn(groupId) : resolver.arn(id(stack.counter.scheduleGroup)),
      };
    }),
    topic: topicId
      ? {
          arn: resolver.arn(topicId),
          policy: policyOf("AWS::SNS::TopicPolicy", "Topics", resolver.ref(topicId)),
        }
      : undefined,
    alarms: ofType("AWS::CloudWatch::Alarm").map(([logicalId, alarm]) => ({
      logicalId,
      arn: resolver.arn(logicalId),
      actions: [
        ...((alarm.Properties?.AlarmActions as string[]) ?? []),
        ...((alarm.Properties?.OKActions as string[]) ?? []),
      ],
    })),
    api: {
      restApiId: resolver.ref(restApiId),
      stage: resolver.ref(stageId),
      methods: apiMethods(resources, raw.Resources, restApiId),
    },
    windows,
  };
}

/**
 * An AWS::Lambda::Permission as the statement Lambda adds to the function's policy: the
 * principal, and SourceArn as `ArnLike` on `AWS:SourceArn`, SourceAccount as `StringEquals` on
 * `AWS:SourceAccount` ("Viewing resource-based IAM policies in Lambda",
 * https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html).
 */
function lambdaPermissionStatement(sid: string, properties: Record<string, unknown>): Statement {
  const condition: Record<string, Record<string, string>> = {};
  if (properties.SourceArn) condition.ArnLike = { "AWS:SourceArn": String(properties.SourceArn) };
  if (properties.SourceAccount) {
    condition.StringEquals = { "AWS:SourceAccount": String(properties.SourceAccount) };
  }
  const principal = String(properties.Principal);
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: principal.endsWith(".amazonaws.com") ? { Service: principal } : { AWS: principal },
    Action: properties.Action,
    Resource: properties.FunctionName,
    ...(Object.keys(condition).length > 0 && { Condition: condition }),
  };
}

/**
 * Every method of one REST API with its resource path, walked up from each method's resource in
 * the raw template, and its integration's URI from the resolved one. A path part that is not a
 * plain string (the webhook token, a dynamic reference) reads `{token}`.
 */
function apiMethods(resolved: Resources, resources: Resources, restApiId: string): ApiMethod[] {
  const pathOf = (resourceRef: unknown): string => {
    const ref = resourceRef as { Ref?: string; "Fn::GetAtt"?: [string, string] };
    if (ref["Fn::GetAtt"]?.[0] === restApiId) return "";
    const resource = resources[String(ref.Ref)];
    if (!resource) throw new Error(`Unknown API resource ${JSON.stringify(resourceRef)}`);
    const properties = resource.Properties ?? {};
    const part = properties.PathPart;
    return `${pathOf(properties.ParentId)}/${typeof part === "string" ? part : "{token}"}`;
  };
  return Object.entries(resources)
    .filter(
      ([, resource]) =>
        resource.Type === "AWS::ApiGateway::Method" &&
        (resource.Properties?.RestApiId as { Ref?: string } | undefined)?.Ref === restApiId,
    )
    .map(([logicalId, method]) => ({
      verb: String(method.Properties?.HttpMethod),
      path: pathOf(method.Properties?.ResourceId) || "/",
      uri: String(
        (resolved[logicalId]?.Properties?.Integration as { Uri?: unknown } | undefined)?.Uri,
      ),
    }));
}
