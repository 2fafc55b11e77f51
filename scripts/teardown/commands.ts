/**
 * What `cdk destroy` leaves behind on purpose, and the AWS CLI commands that remove it
 * (docs/deploying.md, "Tear down"). Pure: the template and the stack's resources in, lines out,
 * so the test can prove every retained resource of the synthesised stack has its command.
 */

export interface TemplateResource {
  Type: string;
  DeletionPolicy?: string;
}

export interface StackResource {
  LogicalResourceId?: string;
  PhysicalResourceId?: string;
  ResourceType?: string;
}

/** Order matters: the export bucket logs to the access-log bucket, so it goes first. */
const ORDER = [
  "AWS::S3::Bucket",
  "AWS::DynamoDB::Table",
  "AWS::DynamoDB::GlobalTable",
  "AWS::SQS::Queue",
  "AWS::SecretsManager::Secret",
  "AWS::Logs::LogGroup",
  "AWS::IAM::Role",
  "AWS::ApiGateway::Account",
];

/** The commands (or, where nothing should be deleted, a comment) for one retained resource. */
function commandsFor(type: string, id: string): string[] {
  switch (type) {
    case "AWS::S3::Bucket":
      // Deletes every object, then the bucket (the buckets are not versioned).
      return [`aws s3 rb "s3://${id}" --force`];
    case "AWS::DynamoDB::Table":
    case "AWS::DynamoDB::GlobalTable":
      return [
        `aws dynamodb update-table --table-name "${id}" --no-deletion-protection-enabled`,
        `aws dynamodb delete-table --table-name "${id}"`,
      ];
    case "AWS::SQS::Queue":
      // A queue's physical id is its URL.
      return [`aws sqs delete-queue --queue-url "${id}"`];
    case "AWS::SecretsManager::Secret":
      // A 7-day recovery window (the shortest); --force-delete-without-recovery skips it.
      return [`aws secretsmanager delete-secret --secret-id "${id}" --recovery-window-in-days 7`];
    case "AWS::Logs::LogGroup":
      return [`aws logs delete-log-group --log-group-name "${id}"`];
    case "AWS::IAM::Role":
      return [
        `# ${id}: API Gateway's account-wide CloudWatch role; delete it only if no other REST API in this region logs to CloudWatch:`,
        `# aws iam detach-role-policy --role-name "${id}" --policy-arn arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
        `# aws iam delete-role --role-name "${id}"`,
      ];
    case "AWS::ApiGateway::Account":
      return [
        `# API Gateway's account settings (${id}) are not a resource to delete; nothing to do.`,
      ];
    default:
      throw new Error(
        `no tear-down command known for ${type}: add one to scripts/teardown/commands.ts`,
      );
  }
}

/** The shell lines that finish a tear-down after `cdk destroy`. */
export function teardownCommands(
  template: { Resources: Record<string, TemplateResource> },
  resources: readonly StackResource[],
): string[] {
  const physical = new Map(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]));
  const retained = Object.entries(template.Resources)
    .filter(([, resource]) => resource.DeletionPolicy === "Retain")
    .map(([logicalId, resource]) => ({ logicalId, type: resource.Type }))
    .sort((a, b) => rank(a.type) - rank(b.type));
  const lines: string[] = [];
  for (const { logicalId, type } of retained) {
    const id = physical.get(logicalId);
    if (id === undefined) {
      lines.push(`# ${logicalId} (${type}) was never created: nothing to remove`);
      continue;
    }
    lines.push(...commandsFor(type, id));
  }
  return lines;
}

function rank(type: string): number {
  const index = ORDER.indexOf(type);
  return index === -1 ? ORDER.length : index;
}
