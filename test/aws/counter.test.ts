import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { emfDocuments, metricValues, spyOnConsoleLog } from "../support/counter.js";
import { motoClients } from "./moto-clients.js";

// Before the handler module builds its Metrics: POWERTOOLS_DEV would turn them off.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
});

/**
 * The counter handler as deployed (middy, Powertools metrics), configured the way Lambda
 * configures it: the role's temporary credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN, the secret's ARN in WAVY_SECRET_ID; GetSecretValue goes to moto.
 */
describe("the counter against moto, as the counter role", () => {
  const world = inject("moto");
  let wavy: WavySimulator;

  beforeAll(async () => {
    wavy = await new WavySimulator({
      csvByTarget: { "42": "source;session_created_at\n5511900000001;2026-11-28 09:15:42\n" },
      userName: "sim-user",
      authenticationToken: "sim-token",
    }).start();
    // The secret as the operator left it (another file may have rotated it).
    await motoClients(world, world.admin).secrets.send(
      new PutSecretValueCommand({
        SecretId: world.secretArn,
        SecretString: JSON.stringify({ userName: "sim-user", authenticationToken: "sim-token" }),
      }),
    );
    Object.assign(process.env, {
      WAVY_SECRET_ID: world.secretArn,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: world.endpoint,
      AWS_ACCESS_KEY_ID: world.roles.counter.accessKeyId,
      AWS_SECRET_ACCESS_KEY: world.roles.counter.secretAccessKey,
      AWS_SESSION_TOKEN: world.roles.counter.sessionToken,
    });
  });
  afterAll(() => wavy.stop());

  it("reads the secret from Secrets Manager and emits the counts as metrics", async () => {
    const { handler } = await import("../../lambdas/count-sessions/handler.js");
    const log = spyOnConsoleLog();

    const result = await handler({ customerId: "42" }, lambdaContext("count-sessions"));

    expect(result).toMatchObject({ openSessions: 1 });
    expect(wavy.sessionCalls()[0]?.headers.authenticationtoken).toBe("sim-token");
    const metrics = metricValues(emfDocuments(log));
    expect(metrics.get("OpenSessions")).toEqual({ value: 1, unit: "Count" });
  });

  it("may dead-letter into its queue, as Lambda's on-failure destination does with its role", async () => {
    const counter = motoClients(world, world.roles.counter);
    const sent = await counter.sqs.send(
      new SendMessageCommand({ QueueUrl: world.deadLetterQueueUrl, MessageBody: "{}" }),
    );
    expect(sent.MessageId).toBeTruthy();
  });

  it("lets the schedules' role dead-letter into the same queue", async () => {
    const scheduler = motoClients(world, world.roles.scheduler);
    const sent = await scheduler.sqs.send(
      new SendMessageCommand({ QueueUrl: world.deadLetterQueueUrl, MessageBody: "{}" }),
    );
    expect(sent.MessageId).toBeTruthy();
  });
});
