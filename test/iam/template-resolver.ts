import { TEST_ACCOUNT, TEST_REGION } from "../support/aws-names.js";

/**
 * Resolves the CloudFormation intrinsics CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
 * Fn::Select, Fn::Split and the pseudo parameters) into the ARNs and names the resources would
 * have in one test account, so that policies can be evaluated against concrete requests.
 *
 * Hand-written: cfn-resolver-lib, the one library for this, resolves a resource's name only
 * when the template spells it out (CDK leaves names to CloudFormation, so each would have to be
 * supplied anyway) and Fn::Sub only with an explicit map; what is left is this short table of
 * what Ref and GetAtt return per resource type, from each type's "Return values" section in the
 * CloudFormation resource reference.
 */

type Template = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

export interface PhysicalNames {
  /** Logical id -> the physical name to give it (a bucket's name, a secret's ARN...). */
  readonly [logicalId: string]: string;
}

/** Properties in which a template may fix a resource's physical name. */
const NAME_PROPERTIES = [
  "Name",
  "BucketName",
  "FunctionName",
  "RoleName",
  "QueueName",
  "TopicName",
  "AlarmName",
  "LogGroupName",
];

const partition = "aws";
const region = TEST_REGION;
const account = TEST_ACCOUNT;

export class TemplateResolver {
  constructor(
    private readonly template: Template,
    private readonly names: PhysicalNames = {},
  ) {}

  /** Deep-resolves every intrinsic in `value`. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first) {
      const [key, argument] = first;
      switch (key) {
        case "Ref":
          return this.ref(String(argument));
        case "Fn::GetAtt": {
          const [id, attribute] = Array.isArray(argument)
            ? argument.map(String)
            : String(argument).split(".");
          return this.getAtt(String(id), String(attribute));
        }
        case "Fn::Join": {
          const [separator, parts] = argument as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(separator);
        }
        case "Fn::Select": {
          const [index, list] = argument as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case "Fn::Split": {
          const [separator, text] = argument as [string, unknown];
          return String(this.resolve(text)).split(separator);
        }
        case "Fn::Sub": {
          const [text, variables] = Array.isArray(argument)
            ? (argument as [string, Record<string, unknown>])
            : [String(argument), {}];
          return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
            if (name in variables) return String(this.resolve(variables[name]));
            return name.includes(".")
              ? String(this.getAtt(...(name.split(".", 2) as [string, string])))
              : String(this.ref(name));
          });
        }
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }

  /** The name CloudFormation would give a resource: the one asked for, or one from its id. */
  name(logicalId: string): string {
    const given = this.names[logicalId];
    if (given) return given;
    const properties = this.template.Resources[logicalId]?.Properties ?? {};
    const named = NAME_PROPERTIES.map((key) => properties[key]).find((v) => typeof v === "string");
    return (named as string | undefined) ?? `wavysessions-${logicalId.toLowerCase()}`;
  }

  ref(id: string): string {
    switch (id) {
      case "AWS::Partition":
        return partition;
      case "AWS::Region":
        return region;
      case "AWS::AccountId":
        return account;
      case "AWS::URLSuffix":
        return "amazonaws.com";
      case "AWS::StackName":
        return "WavySessions";
    }
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Ref to ${id}, which the template does not define`);
    const name = this.name(id);
    switch (resource.Type) {
      // Types whose Ref is their ARN.
      case "AWS::SecretsManager::Secret":
      case "AWS::SNS::Topic":
        return this.arn(id);
      case "AWS::SQS::Queue":
        return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
      default:
        // Bucket, function, role, log group, API id, stage name, alarm, schedule group: the name.
        return name;
    }
  }

  getAtt(id: string, attribute: string): unknown {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`GetAtt of ${id}, which the template does not define`);
    if (attribute === "Arn" || attribute === "TopicArn") return this.arn(id);
    if (attribute === "QueueName" || attribute === "TopicName") return this.name(id);
    if (attribute === "RootResourceId") return `${this.name(id)}-root`;
    throw new Error(`GetAtt ${id}.${attribute} is not in the resolver's table`);
  }

  arn(id: string): string {
    const type = this.template.Resources[id]?.Type;
    const name = this.name(id);
    switch (type) {
      case "AWS::S3::Bucket":
        return `arn:${partition}:s3:::${name}`;
      case "AWS::SecretsManager::Secret":
        return name.startsWith("arn:")
          ? name
          : `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
      case "AWS::Lambda::Function":
        return `arn:${partition}:lambda:${region}:${account}:function:${name}`;
      case "AWS::IAM::Role":
        return `arn:${partition}:iam::${account}:role/${name}`;
      case "AWS::SQS::Queue":
        return `arn:${partition}:sqs:${region}:${account}:${name}`;
      case "AWS::SNS::Topic":
        return `arn:${partition}:sns:${region}:${account}:${name}`;
      // A log group's Arn attribute ends in `:*` (AWS::Logs::LogGroup, "Return values").
      case "AWS::Logs::LogGroup":
        return `arn:${partition}:logs:${region}:${account}:log-group:${name}:*`;
      case "AWS::CloudWatch::Alarm":
        return `arn:${partition}:cloudwatch:${region}:${account}:alarm:${name}`;
      case "AWS::Scheduler::ScheduleGroup":
        return `arn:${partition}:scheduler:${region}:${account}:schedule-group/${name}`;
      // DynamoDB authorises on the table's ARN, and an index's as `<table>/index/<name>`.
      case "AWS::DynamoDB::Table":
      case "AWS::DynamoDB::GlobalTable":
        return `arn:${partition}:dynamodb:${region}:${account}:table/${name}`;
      // A rule on the default bus; one on a custom bus has the bus's name in between
      // (Service Authorization Reference, Amazon EventBridge, resource type "rule-on-default-event-bus").
      case "AWS::Events::Rule":
        return `arn:${partition}:events:${region}:${account}:rule/${name}`;
      case "AWS::Scheduler::Schedule":
        return `arn:${partition}:scheduler:${region}:${account}:schedule/default/${name}`;
    }
    throw new Error(`No ARN format for ${id} (${type}) in the resolver's table`);
  }
}
