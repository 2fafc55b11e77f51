import { type CfnElement, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

/**
 * One cdk-nag finding acknowledged, with the reason it is not fixed: one rule, and for the rules
 * that report findings (IAM4, IAM5) the exact findings, never the whole rule.
 */
export interface Acknowledgment {
  readonly id: string;
  readonly reason: string;
  /** The rule's findings acknowledged (`Resource::*`, `Policy::arn:…`); without them, the rule. */
  readonly findings?: readonly string[];
}

/**
 * cdk-nag 3 reads acknowledgments from CDK's own `Validations.of(scope).acknowledge()`
 * (https://github.com/cdklabs/cdk-nag/blob/main/MIGRATION.md): one id per call, a finding as
 * `RuleId[finding]` matched exactly (v2's regex `appliesTo` is gone), and it covers `scope` and
 * every construct under it (v2 covered only the resource unless told `applyToChildren`).
 */
export function acknowledge(scope: IConstruct, acknowledgments: readonly Acknowledgment[]): void {
  for (const { id, reason, findings } of acknowledgments) {
    for (const rule of findings ? findings.map((finding) => `${id}[${finding}]`) : [id]) {
      Validations.of(scope).acknowledge({ id: rule, reason });
    }
  }
}

/**
 * The IAM5 finding for a policy resource `<resource's ARN><suffix>`, as cdk-nag names it:
 * `Resource::<CounterFunction1A2B3C4D.Arn>:*` for a function's qualified ARNs.
 */
export function arnFinding(resource: IConstruct, suffix: string): string {
  const element = (resource.node.defaultChild ?? resource) as CfnElement;
  return `Resource::<${Stack.of(resource).getLogicalId(element)}.Arn>${suffix}`;
}

/**
 * aws-scheduler-targets' LambdaInvoke creates the role Scheduler assumes at the stack's top level
 * (`SchedulerRoleForTarget-<hash of the target's ARN>`), granting lambda:InvokeFunction on the
 * function and its qualified ARNs (`ARN:*`). Acknowledges that one IAM5 finding, for `fn` only,
 * on every such role: a role for another function does not carry the finding, so it stays unmatched.
 */
export function acknowledgeSchedulerInvoke(fn: IConstruct, what: string): void {
  for (const role of Stack.of(fn).node.children) {
    if (!(role instanceof iam.Role) || !role.node.id.startsWith("SchedulerRoleForTarget-"))
      continue;
    acknowledge(role, [
      {
        id: "AwsSolutions-IAM5",
        reason: `CDK's grantInvoke names the ${what}'s ARN and its qualified form (ARN:*, its versions and aliases); nothing but that one function.`,
        findings: [arnFinding(fn, ":*")],
      },
    ]);
  }
}
