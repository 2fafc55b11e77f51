import { readFile } from "node:fs/promises";
import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { STACK_OUTPUT } from "../../lambdas/lib/contract.js";

/** The stack outputs the smoke test reads (docs/contract.md, "Stack outputs"). */
export const OUTPUT = STACK_OUTPUT;

const REQUIRED = [
  OUTPUT.apiUrl,
  OUTPUT.deadLetterQueueUrl,
  OUTPUT.counterFunctionName,
  OUTPUT.metricsNamespace,
] as const;

export interface StackOutputs {
  stackName: string;
  values: Record<string, string>;
}

/** Something the operator must fix before the smoke test can run at all (exit status 2). */
export class SmokeSetupError extends Error {
  override name = "SmokeSetupError";
}

/**
 * `cdk deploy --outputs-file` writes `{"<stack name>": {"<output key>": "<value>"}}`. With one
 * stack in the file it is the one; with several, `stackName` picks.
 */
export async function outputsFromFile(path: string, stackName?: string): Promise<StackOutputs> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new SmokeSetupError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SmokeSetupError(`${path} is not a cdk outputs file ({"<stack>": {...}})`);
  }
  const stacks = parsed as Record<string, unknown>;
  const names = Object.keys(stacks);
  const chosen = stackName ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) {
    throw new SmokeSetupError(
      `${path} holds ${names.length === 0 ? "no stack" : `the stacks ${names.join(", ")}`}: pass --stack NAME`,
    );
  }
  const values = stacks[chosen];
  if (typeof values !== "object" || values === null) {
    throw new SmokeSetupError(`${path} has no outputs for the stack ${chosen}`);
  }
  return { stackName: chosen, values: stringValues(values as Record<string, unknown>) };
}

/**
 * The outputs of a deployed stack. DescribeStacks needs `cloudformation:DescribeStacks`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html);
 * an unknown stack is a ValidationError.
 */
export async function outputsFromStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackOutputs> {
  let stack: { Outputs?: { OutputKey?: string; OutputValue?: string }[] } | undefined;
  try {
    const answer = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = answer.Stacks?.[0];
  } catch (error) {
    throw new SmokeSetupError(
      `Cannot describe the stack ${stackName}: ${(error as Error).message}`,
    );
  }
  if (!stack) throw new SmokeSetupError(`No stack named ${stackName}`);
  const values: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey && output.OutputValue !== undefined) {
      values[output.OutputKey] = output.OutputValue;
    }
  }
  return { stackName, values };
}

function stringValues(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}

export interface CounterTarget {
  customerId: string;
  subAccountId: string | null;
}

export interface SmokeSubject {
  stackName: string;
  apiUrl: string;
  deadLetterQueueUrl: string;
  counterFunctionName: string;
  metricsNamespace: string;
  alarmNamePrefix: string;
  target: CounterTarget;
}

/** The outputs checked for completeness, the operator's flags taking precedence. */
export function smokeSubject(
  outputs: StackOutputs,
  overrides: { target?: CounterTarget; alarmNamePrefix?: string },
): SmokeSubject {
  const { values, stackName } = outputs;
  const missing = REQUIRED.filter((key) => !values[key]);
  if (missing.length > 0) {
    throw new SmokeSetupError(
      `The stack ${stackName} has no output ${missing.join(", ")} (deploy the current version of the stack)`,
    );
  }
  const target = overrides.target ?? parseTarget(values[OUTPUT.firstTarget]);
  if (!target) {
    throw new SmokeSetupError(
      `The stack ${stackName} counts no target: pass --customer-id (and --sub-account-id) to say whom to export and count`,
    );
  }
  return {
    stackName,
    apiUrl: values[OUTPUT.apiUrl] as string,
    deadLetterQueueUrl: values[OUTPUT.deadLetterQueueUrl] as string,
    counterFunctionName: values[OUTPUT.counterFunctionName] as string,
    metricsNamespace: values[OUTPUT.metricsNamespace] as string,
    // The stack names its alarms `<stack name>/...` ("/" cannot be part of a stack name).
    alarmNamePrefix: overrides.alarmNamePrefix ?? values[OUTPUT.alarmNamePrefix] ?? `${stackName}/`,
    target,
  };
}

function parseTarget(json: string | undefined): CounterTarget | undefined {
  if (!json) return undefined;
  try {
    const parsed = JSON.parse(json) as { customerId?: unknown; subAccountId?: unknown };
    if (typeof parsed.customerId !== "string") return undefined;
    return {
      customerId: parsed.customerId,
      subAccountId: typeof parsed.subAccountId === "string" ? parsed.subAccountId : null,
    };
  } catch {
    return undefined;
  }
}
