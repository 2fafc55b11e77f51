/**
 * npm run teardown -- [--stack NAME] [--region REGION]
 *
 * Prints the AWS CLI commands that remove what `npx cdk destroy` keeps on purpose (buckets and
 * their objects, the secret, log groups, queues, tables): run it BEFORE `cdk destroy`, while
 * CloudFormation still knows the stack's resources, review the lines, then run them after the
 * destroy. It changes nothing itself. A throwaway deployment (`retain: false`) needs none of it.
 */
import { parseArgs } from "node:util";
import {
  CloudFormationClient,
  GetTemplateCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from "@aws-sdk/client-cloudformation";
import { teardownCommands } from "./teardown/commands.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stack: { type: "string", default: "WavySessions" }, region: { type: "string" } },
  });
  const stackName = values.stack ?? "WavySessions";
  const client = new CloudFormationClient(values.region ? { region: values.region } : {});
  const { TemplateBody } = await client.send(
    new GetTemplateCommand({ StackName: stackName, TemplateStage: "Original" }),
  );
  const resources: StackResourceSummary[] = [];
  for await (const page of paginateListStackResources({ client }, { StackName: stackName }))
    resources.push(...(page.StackResourceSummaries ?? []));
  const lines = teardownCommands(JSON.parse(TemplateBody ?? "{}"), resources);
  console.log(
    `# 1. npx cdk destroy ${stackName === "WavySessions" ? "" : `-c stackName=${stackName}`}`.trimEnd(),
  );
  console.log("# 2. then what it keeps on purpose:");
  for (const line of lines) console.log(line);
}

main().catch((error: Error) => {
  console.error(`teardown: ${error.message}`);
  process.exit(1);
});
