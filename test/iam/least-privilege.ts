import type { IamOutcome } from "./evaluate.js";
import { grantsOf } from "./evaluate.js";
import type { RoleModel } from "./stack-model.js";

/** Per role: what its policies grant against what the recorded calls and the edges used. */
export interface RoleUsage {
  role: RoleModel;
  grants: { grant: string; uses: number; example?: string }[];
  /** Actions granted by some statement that no allowed request used. */
  unusedActions: string[];
}

export function leastPrivilege(roles: RoleModel[], outcomes: IamOutcome[]): RoleUsage[] {
  return roles
    .filter((role) => role.identityPolicies.length > 0)
    .map((role) => {
      const own = outcomes.filter((outcome) => outcome.request.role === role);
      const grants = grantsOf(role).map((grant) => {
        const users = own.filter((outcome) => outcome.grantsUsed.includes(grant));
        return { grant, uses: users.length, example: users[0]?.request.label };
      });
      const actionOf = (grant: string) => grant.split(" ")[1] ?? "";
      const used = new Set(grants.filter((g) => g.uses > 0).map((g) => actionOf(g.grant)));
      const unusedActions = [...new Set(grants.map((g) => actionOf(g.grant)))]
        .filter((action) => !used.has(action))
        .sort();
      return { role, grants, unusedActions };
    });
}

export function formatReport(usage: RoleUsage[], outcomes: IamOutcome[]): string {
  const lines = ["", "Least-privilege report (granted vs used, per role)", ""];
  for (const { role, grants, unusedActions } of usage) {
    lines.push(`${role.logicalId}`);
    for (const { grant, uses, example } of grants) {
      const [, action, resource] = grant.split(" ");
      lines.push(
        `  ${uses > 0 ? "used  " : "UNUSED"} ${action} on ${resource}${uses > 0 ? `  (${uses}×, e.g. ${example})` : ""}`,
      );
    }
    if (role.managedPolicyArns.length > 0) {
      lines.push(`  managed policies, not evaluated: ${role.managedPolicyArns.join(", ")}`);
    }
    lines.push(`  actions granted and never used: ${unusedActions.join(", ") || "none"}`, "");
  }
  const refused = outcomes.filter((outcome) => outcome.decision !== "Allowed");
  lines.push(`Requests evaluated: ${outcomes.length}; not allowed: ${refused.length}`);
  for (const { request, detail } of refused) {
    lines.push(`  ${detail}: ${request.label} (${request.action} on ${request.resource})`);
  }
  return `${lines.join("\n")}\n`;
}
