import type { Template } from "aws-cdk-lib/assertions";

/**
 * Reading a synthesised template the way CloudFormation and IAM will: resources by type, the
 * policies attached to a role, and intrinsic functions resolved for one made-up account, so a
 * test can compare the ARN a service presents with the pattern a policy allows.
 */

export type Json = Record<string, unknown>;

export interface Resource {
  Type: string;
  Properties: Json;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The account, region and partition the intrinsic functions resolve to. */
export const ENV = { account: "123456789012", region: "sa-east-1", partition: "aws" } as const;

export function resourcesOf(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

export const listOf = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of every AWS::IAM::Policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return Object.values(resourcesOf(template, "AWS::IAM::Policy"))
    .filter((policy) =>
      (policy.Properties.Roles as { Ref?: string }[]).some((role) => role.Ref === roleId),
    )
    .flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
}

/** The logical id behind `{"Fn::GetAtt": [id, "Arn"]}` or `{"Ref": id}`. */
export function logicalIdOf(value: unknown): string | undefined {
  const json = value as { "Fn::GetAtt"?: [string, string]; Ref?: string } | undefined;
  return json?.["Fn::GetAtt"]?.[0] ?? json?.Ref;
}

/**
 * A template value as the deployed stack would see it in ENV: pseudo parameters, Fn::Join and
 * the ARNs of the resources whose ARN format is fixed. Anything else stays unresolved, which
 * fails the comparison that needed it.
 */
export function resolve(template: Template, value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => resolve(template, item));
  const json = value as Json;
  const pseudo: Record<string, string> = {
    "AWS::AccountId": ENV.account,
    "AWS::Region": ENV.region,
    "AWS::Partition": ENV.partition,
    "AWS::URLSuffix": "amazonaws.com",
  };
  if (typeof json.Ref === "string" && pseudo[json.Ref]) return pseudo[json.Ref];
  const join = json["Fn::Join"] as [string, unknown[]] | undefined;
  if (join) {
    const parts = join[1].map((part) => resolve(template, part));
    return parts.every((part) => typeof part === "string") ? parts.join(join[0]) : json;
  }
  const getAtt = json["Fn::GetAtt"] as [string, string] | undefined;
  if (getAtt?.[1] === "Arn") {
    const resource = (template.toJSON().Resources as Record<string, Resource>)[getAtt[0]];
    const name = resource?.Properties.Name;
    if (resource?.Type === "AWS::Scheduler::ScheduleGroup" && typeof name === "string")
      return `arn:${ENV.partition}:scheduler:${ENV.region}:${ENV.account}:schedule-group/${name}`;
  }
  return json;
}

/** IAM's ArnLike/StringLike: `*` any run of characters, `?` exactly one. */
export function globMatches(pattern: string, value: string): boolean {
  const regex = pattern
    .split("")
    .map((char) =>
      char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\/]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${regex}$`).test(value);
}
