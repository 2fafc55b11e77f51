import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, inject, it } from "vitest";
import { motoClients } from "./moto-clients.js";
import { MOTO_BUCKET, REGION } from "./moto-world.js";

/** moto refuses what the synthesised policies do not grant: its enforcement is really on. */
describe("moto's IAM enforcement with the synthesised policies", () => {
  const world = inject("moto");
  const exportRole = motoClients(world, world.roles.export);
  const counterRole = motoClients(world, world.roles.counter);

  /**
   * The error's name, or for a JSON-protocol service (SQS, Secrets Manager) the code in its
   * body: moto answers their AccessDenied in S3's XML, which their SDK clients cannot parse.
   */
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => "allowed",
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        error.name === "SyntaxError" && error.$metadata?.httpStatusCode === 403
          ? "AccessDenied"
          : error.name,
    );

  it("denies the export role a write outside exports/, manifests/ and idempotency/", async () => {
    const put = exportRole.s3.send(
      new PutObjectCommand({ Bucket: MOTO_BUCKET, Key: "elsewhere/x.csv", Body: "x" }),
    );
    expect(await refusal(put)).toBe("AccessDenied");
  });

  it("allows the same write under exports/", async () => {
    const put = exportRole.s3.send(
      new PutObjectCommand({ Bucket: MOTO_BUCKET, Key: "exports/probe.csv", Body: "x" }),
    );
    expect(await refusal(put)).toBe("allowed");
  });

  it("denies the counter role any read of the export bucket", async () => {
    const get = counterRole.s3.send(
      new GetObjectCommand({ Bucket: MOTO_BUCKET, Key: "exports/probe.csv" }),
    );
    expect(await refusal(get)).toBe("AccessDenied");
  });

  it("denies the counter role a message to a queue other than its dead-letter queue", async () => {
    const send = counterRole.sqs.send(
      new SendMessageCommand({ QueueUrl: world.otherQueueUrl, MessageBody: "{}" }),
    );
    expect(await refusal(send)).toBe("AccessDenied");
  });

  it("denies a secret other than the Wavy secret", async () => {
    const get = exportRole.secrets.send(
      new GetSecretValueCommand({ SecretId: world.secretArn.replace("wavy-sessions", "other") }),
    );
    expect(await refusal(get)).toBe("AccessDenied");
  });

  it("refuses credentials it does not know", async () => {
    const stranger = new S3Client({
      endpoint: world.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: "AKIASTRANGER", secretAccessKey: "x" },
    });
    const get = stranger.send(
      new GetObjectCommand({ Bucket: MOTO_BUCKET, Key: "exports/probe.csv" }),
    );
    expect(await refusal(get)).toBe("InvalidAccessKeyId");
  });
});
