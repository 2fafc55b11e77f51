import { runSimulation } from "@cloud-copilot/iam-simulate";
import { TEST_ACCOUNT } from "../support/aws-names.js";
import type { PolicyDocument, RoleModel } from "./stack-model.js";

/**
 * One request evaluated by @cloud-copilot/iam-simulate, an IAM policy evaluator we did not
 * write (identity and resource policies, every condition operator, and validation of actions,
 * resource types and condition keys against AWS's own service reference data).
 *
 * Licence: iam-simulate is AGPL-3.0. It is a devDependency used only by these tests, run on the
 * developer's or CI's machine; it is never bundled into a Lambda asset nor shipped with the MIT
 * code, so nothing of ours is a work based on it that we distribute.
 */

export interface IamRequest {
  /** What the request is, for the test's name and the report. */
  label: string;
  principal: string;
  action: string;
  resource: string;
  /** The role whose identity policies apply; none for a service principal. */
  role?: RoleModel;
  resourcePolicy?: PolicyDocument;
  context?: Record<string, string>;
}

export interface IamOutcome {
  request: IamRequest;
  decision: string;
  /** Why, when not allowed: the evaluator's errors or the decisive result. */
  detail: string;
  /** The identity-policy grants that allowed it: `policy#statement action resource`. */
  grantsUsed: string[];
}

interface AllowStatement {
  policyId: string;
  explain: {
    identifier: string;
    actions?: { action: string; matches: boolean } | { action: string; matches: boolean }[];
    resources?: { resource: string; matches: boolean } | { resource: string; matches: boolean }[];
  };
}

export async function evaluate(request: IamRequest): Promise<IamOutcome> {
  const response = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: TEST_ACCOUNT },
        contextVariables: request.context ?? {},
      },
      identityPolicies: (request.role?.identityPolicies ?? []).map(({ name, policy }) => ({
        name,
        policy,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy,
    },
    {},
  );
  if (response.resultType === "error") {
    return {
      request,
      decision: "Error",
      detail: JSON.stringify(response.errors),
      grantsUsed: [],
    };
  }
  const results = response.resultType === "single" ? [response.result] : response.results;
  const grantsUsed = results.flatMap((result) =>
    (
      (result.analysis?.identityAnalysis?.allowStatements ?? []) as unknown as AllowStatement[]
    ).flatMap(({ policyId, explain }) => {
      const actions = [explain.actions ?? []]
        .flat()
        .filter((a) => a.matches)
        .map((a) => a.action);
      const resources = [explain.resources ?? []]
        .flat()
        .filter((r) => r.matches)
        .map((r) => r.resource);
      return actions.flatMap((action) =>
        resources.map((resource) => grantKey(policyId, explain.identifier, action, resource)),
      );
    }),
  );
  return {
    request,
    decision: response.overallResult,
    detail: response.overallResult,
    grantsUsed,
  };
}

export function grantKey(policy: string, statement: string, action: string, resource: string) {
  return `${policy}#${statement} ${action} ${resource}`;
}

/** Every action × resource an identity policy of `role` allows, keyed as grantsUsed is. */
export function grantsOf(role: RoleModel): string[] {
  return role.identityPolicies.flatMap(({ name, policy }) =>
    policy.Statement.flatMap((statement, index) => {
      if (statement.Effect !== "Allow") return [];
      const identifier = String(statement.Sid ?? index + 1);
      const actions = [statement.Action ?? []].flat().map(String);
      const resources = [statement.Resource ?? []].flat().map(String);
      return actions.flatMap((action) =>
        resources.map((resource) => grantKey(name, identifier, action, resource)),
      );
    }),
  );
}

/** The session ARN a role's temporary credentials act as (what Lambda and Scheduler use). */
export function sessionArn(role: RoleModel, session: string): string {
  return `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${role.name}/${session}`;
}
