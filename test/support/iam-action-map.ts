import { TEST_ACCOUNT, TEST_REGION } from "./aws-names.js";
/**
 * Which IAM action, on which resource ARN, AWS authorises for an SDK operation. The facts come
 * from the Service Authorization Reference, not from the operation's name:
 * - S3 (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
 *   and "Required permissions for Amazon S3 API operations",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
 *   CreateMultipartUpload, UploadPart and CompleteMultipartUpload are all `s3:PutObject`;
 *   AbortMultipartUpload is `s3:AbortMultipartUpload`; HeadObject is `s3:GetObject`;
 *   ListObjectsV2 is `s3:ListBucket` on the bucket; ListMultipartUploads is
 *   `s3:ListBucketMultipartUploads`; ListParts is `s3:ListMultipartUploadParts`; DeleteObjects
 *   is `s3:DeleteObject` on each key. Conditional writes (If-None-Match, If-Match) need nothing
 *   beyond `s3:PutObject`.
 * - Secrets Manager: GetSecretValue is `secretsmanager:GetSecretValue` on the secret's ARN
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html).
 * - SQS: SendMessage is `sqs:SendMessage` on the queue's ARN
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html).
 *
 * An operation missing here is recorded as `unmapped:` so the IAM evaluation fails and names
 * it, rather than guessing.
 */

export interface DescribedCall {
  action: string;
  resource: string;
  operation: string;
}

type Input = Record<string, unknown>;

const objectActions: Record<string, string> = {
  PutObjectCommand: "s3:PutObject",
  CreateMultipartUploadCommand: "s3:PutObject",
  UploadPartCommand: "s3:PutObject",
  CompleteMultipartUploadCommand: "s3:PutObject",
  AbortMultipartUploadCommand: "s3:AbortMultipartUpload",
  GetObjectCommand: "s3:GetObject",
  HeadObjectCommand: "s3:GetObject",
  DeleteObjectCommand: "s3:DeleteObject",
  ListPartsCommand: "s3:ListMultipartUploadParts",
};

const bucketActions: Record<string, string> = {
  ListObjectsV2Command: "s3:ListBucket",
  ListObjectsCommand: "s3:ListBucket",
  ListMultipartUploadsCommand: "s3:ListBucketMultipartUploads",
};

export function describeAwsCall(
  clientName: string,
  commandName: string,
  input: Input,
): DescribedCall[] {
  const operation = `${clientName}.${commandName}`;
  const text = (name: string) => String(input[name] ?? "");
  switch (clientName) {
    case "S3Client": {
      const bucket = `arn:aws:s3:::${text("Bucket")}`;
      const objectAction = objectActions[commandName];
      // A conditional delete (If-Match on an ETag) needs s3:GetObject too: "you must have the
      // s3:DeleteObject and s3:GetObject permissions"
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
      if (commandName === "DeleteObjectCommand" && input.IfMatch !== undefined) {
        const resource = `${bucket}/${text("Key")}`;
        return ["s3:DeleteObject", "s3:GetObject"].map((action) => ({
          action,
          resource,
          operation,
        }));
      }
      if (objectAction) {
        return [{ action: objectAction, resource: `${bucket}/${text("Key")}`, operation }];
      }
      const bucketAction = bucketActions[commandName];
      if (bucketAction) return [{ action: bucketAction, resource: bucket, operation }];
      if (commandName === "DeleteObjectsCommand") {
        const objects = (input.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects;
        return (objects ?? []).map((object) => ({
          action: "s3:DeleteObject",
          resource: `${bucket}/${object.Key ?? ""}`,
          operation,
        }));
      }
      break;
    }
    case "SecretsManagerClient":
      if (commandName === "GetSecretValueCommand") {
        return [{ action: "secretsmanager:GetSecretValue", resource: text("SecretId"), operation }];
      }
      break;
    case "EventBridgeClient":
      // PutEvents is authorised on each entry's bus (Service Authorization Reference, Amazon
      // EventBridge: PutEvents, resource type event-bus); a bus named, not an ARN, is the caller's.
      if (commandName === "PutEventsCommand") {
        const entries = (input.Entries as { EventBusName?: string }[] | undefined) ?? [];
        return entries.map((entry) => ({
          action: "events:PutEvents",
          resource: entry.EventBusName?.startsWith("arn:")
            ? entry.EventBusName
            : `arn:aws:events:${TEST_REGION}:${TEST_ACCOUNT}:event-bus/${entry.EventBusName ?? "default"}`,
          operation,
        }));
      }
      break;
    case "LambdaClient":
      // Invoke is lambda:InvokeFunction on the function's ARN, whatever the invocation type
      // (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
      if (commandName === "InvokeCommand") {
        const name = text("FunctionName");
        return [
          {
            action: "lambda:InvokeFunction",
            resource: name.startsWith("arn:")
              ? name
              : `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:${name}`,
            operation,
          },
        ];
      }
      break;
    case "SQSClient":
      if (commandName === "SendMessageCommand") {
        return [{ action: "sqs:SendMessage", resource: queueArn(text("QueueUrl")), operation }];
      }
      break;
  }
  return [{ action: `unmapped:${operation}`, resource: "*", operation }];
}

/**
 * What AWS authorised besides the call itself to answer it the way it failed. A GetObject or
 * HeadObject of a missing key answers 404 only to a caller who also holds `s3:ListBucket` on the
 * bucket, 403 to anyone else ("Permissions" in
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html and API_HeadObject.html).
 */
export function describeRefusal(
  clientName: string,
  commandName: string,
  input: Input,
  error: unknown,
): DescribedCall[] {
  const name = (error as { name?: string } | undefined)?.name;
  const missing = name === "NoSuchKey" || name === "NotFound";
  const read = commandName === "GetObjectCommand" || commandName === "HeadObjectCommand";
  if (clientName !== "S3Client" || !read || !missing) return [];
  return [
    {
      action: "s3:ListBucket",
      resource: `arn:aws:s3:::${String(input.Bucket ?? "")}`,
      operation: `${clientName}.${commandName} (missing key: 404 needs s3:ListBucket)`,
    },
  ];
}

/** `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (or a local endpoint's `/ACCOUNT/NAME`). */
function queueArn(queueUrl: string): string {
  const url = new URL(queueUrl);
  const [account, name] = url.pathname.split("/").filter(Boolean);
  const region = /^sqs\.([a-z0-9-]+)\./.exec(url.hostname)?.[1] ?? "us-east-1";
  return `arn:aws:sqs:${region}:${account}:${name}`;
}
