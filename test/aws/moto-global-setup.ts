import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from "@aws-sdk/client-dynamodb";
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { TestProject } from "vitest/node";
import { buildStackModel } from "../iam/stack-model.js";
import { synth } from "../infra/synth.js";
import { MOTO_BUCKET, type MotoWorld, OTHER_QUEUE, REGION, SECRET_NAME } from "./moto-world.js";

/**
 * Starts moto's server (test/aws/moto_server.py) on a free loopback port with IAM enforcement
 * on, and builds in it what the synthesised stack would have in an account: the export bucket,
 * the Wavy secret, the dead-letter queue, and each role with exactly the identity policies the
 * template gives it (intrinsics resolved to moto's ARNs). The tests get each role's temporary
 * credentials (STS AssumeRole) through `inject("moto")`. Teardown always stops moto.
 *
 * Enforcement: with INITIAL_NO_AUTH_ACTION_COUNT=3 moto authenticates and authorises every
 * request after the first three (moto docs, "IAM-like Access Control",
 * https://docs.getmoto.org/en/latest/docs/iam.html), which create the administrator the rest of
 * the set-up signs with.
 *
 * Trust: moto evaluates a role's trust policy only for AWS principals, and we cannot be the
 * Lambda or Scheduler service in it, so in moto each role trusts the set-up's administrator;
 * the real trust policies are evaluated by test/iam.
 */

const BOOTSTRAP_ACTIONS = 3;
const pythonScript = fileURLToPath(new URL("./moto_server.py", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    moto: MotoWorld;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const python = process.env.MOTO_PYTHON ?? "python3";
  const moto = spawn(python, [pythonScript, String(port)], {
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_ACTIONS) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  moto.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = () => stopProcess(moto);
  try {
    await waitUntilUp(endpoint, moto, () => stderr);
    project.provide("moto", await buildWorld(endpoint));
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

async function buildWorld(endpoint: string): Promise<MotoWorld> {
  const region = REGION;
  // The only unauthenticated requests: an administrator and its key.
  const bootstrap = new IAMClient({
    endpoint,
    region,
    credentials: { accessKeyId: "AKIABOOTSTRAP", secretAccessKey: "bootstrap" },
  });
  await bootstrap.send(new CreateUserCommand({ UserName: "admin" }));
  await bootstrap.send(
    new PutUserPolicyCommand({
      UserName: "admin",
      PolicyName: "everything",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
      }),
    }),
  );
  const { AccessKey } = await bootstrap.send(new CreateAccessKeyCommand({ UserName: "admin" }));
  bootstrap.destroy();
  const admin = {
    accessKeyId: String(AccessKey?.AccessKeyId),
    secretAccessKey: String(AccessKey?.SecretAccessKey),
  };
  const options = { endpoint, region, credentials: admin };

  const s3 = new S3Client({ ...options, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: MOTO_BUCKET }));
  const secrets = new SecretsManagerClient(options);
  const secret = await secrets.send(
    new CreateSecretCommand({
      Name: SECRET_NAME,
      SecretString: JSON.stringify({ userName: "sim-user", authenticationToken: "sim-token" }),
    }),
  );
  const secretArn = String(secret.ARN);

  const { stack, template } = synth(
    // closingNotices: issue 21's sweeper, so its role is built too.
    {
      targets: [{ customerId: "42" }],
      alarmEmail: "ops@example.com",
      closingNotices: { "5511999990000": 60 },
    },
    { cfnValidation: false },
  );
  const model = buildStackModel(stack, template, { bucket: MOTO_BUCKET, secretArn });
  const sqs = new SQSClient(options);
  const queueName = model.deadLetterQueue.arn.split(":").at(-1) ?? "";
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const other = await sqs.send(new CreateQueueCommand({ QueueName: OTHER_QUEUE }));

  const iam = new IAMClient(options);
  const sts = new STSClient(options);
  const adminArn = "arn:aws:iam::123456789012:user/admin";
  const credentialsOf = async (
    roleName: string,
    policies: (typeof model.roles)[number]["identityPolicies"],
  ) => {
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { AWS: adminArn }, Action: "sts:AssumeRole" }],
        }),
      }),
    );
    for (const { name, policy } of policies) {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: name,
          PolicyDocument: JSON.stringify(policy),
        }),
      );
    }
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: String(Role?.Arn), RoleSessionName: roleName.slice(0, 60) }),
    );
    return {
      accessKeyId: String(Credentials?.AccessKeyId),
      secretAccessKey: String(Credentials?.SecretAccessKey),
      sessionToken: String(Credentials?.SessionToken),
    };
  };
  const schedulerRole = model.roles.find((role) => role.arn === model.schedules[0]?.roleArn);
  if (!schedulerRole) throw new Error("The template has no schedule role");
  const world: MotoWorld = {
    // Filled in below, once the roles above exist.
    windows: undefined as unknown as MotoWorld["windows"],
    endpoint,
    admin,
    secretArn,
    deadLetterQueueUrl: String(QueueUrl),
    otherQueueUrl: String(other.QueueUrl),
    roles: {
      export: await credentialsOf(
        model.functionRole.export.name,
        model.functionRole.export.identityPolicies,
      ),
      counter: await credentialsOf(
        model.functionRole.counter.name,
        model.functionRole.counter.identityPolicies,
      ),
      scheduler: await credentialsOf(schedulerRole.name, schedulerRole.identityPolicies),
    },
  };
  world.windows = await buildWindows(options, model, template, credentialsOf);
  for (const client of [s3, secrets, sqs, iam, sts]) client.destroy();
  return world;
}

type Json = Record<string, unknown>;

/**
 * The live windows' table and queues as the template declares them (key schema, index,
 * message size, redrive), and the credentials of the processor, the lookups and API Gateway's
 * webhook role, each restricted to its synthesised policy.
 */
async function buildWindows(
  options: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  },
  model: ReturnType<typeof buildStackModel>,
  template: ReturnType<typeof synth>["template"],
  credentialsOf: (
    roleName: string,
    policies: (typeof model.roles)[number]["identityPolicies"],
  ) => Promise<MotoWorld["roles"]["export"]>,
): Promise<MotoWorld["windows"]> {
  const w = model.windows;
  const nameOf = (arn: string) => arn.split(/[:/]/).at(-1) ?? "";
  const [table] = Object.values(template.findResources("AWS::DynamoDB::GlobalTable")) as {
    Properties: Json;
  }[];
  if (!table) throw new Error("The template has no windows table");
  const tableName = nameOf(w.tableArn);
  const dynamodb = new DynamoDBClient(options);
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: table.Properties.KeySchema as KeySchemaElement[],
      AttributeDefinitions: table.Properties.AttributeDefinitions as AttributeDefinition[],
      GlobalSecondaryIndexes: table.Properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[],
    }),
  );
  dynamodb.destroy();

  const queues = template.findResources("AWS::SQS::Queue") as Record<string, { Properties: Json }>;
  const sqs = new SQSClient(options);
  const createQueue = async (arn: string, redrive?: string) => {
    const declared = Object.entries(queues).find(([id]) => arn.endsWith(id.toLowerCase()));
    const size = declared?.[1].Properties.MaximumMessageSize;
    await sqs.send(
      new CreateQueueCommand({
        QueueName: nameOf(arn),
        Attributes: {
          ...(size ? { MaximumMessageSize: String(size) } : {}),
          ...(redrive ? { RedrivePolicy: redrive } : {}),
        },
      }),
    );
    return String((await sqs.send(new GetQueueUrlCommand({ QueueName: nameOf(arn) }))).QueueUrl);
  };
  const deadLetterQueueUrl = await createQueue(w.deadLetterQueue.arn);
  const queueUrl = await createQueue(
    w.queue.arn,
    JSON.stringify({ deadLetterTargetArn: w.deadLetterQueue.arn, maxReceiveCount: 5 }),
  );
  sqs.destroy();

  const methods = Object.values(template.findResources("AWS::ApiGateway::Method")) as {
    Properties: { Integration?: Json };
  }[];
  const templates = methods
    .map((method) => method.Properties.Integration)
    .filter((integration) => JSON.stringify(integration?.Uri ?? "").includes(":sqs:path/"));
  const mo = templates.find((integration) =>
    String(((integration?.RequestTemplates ?? {}) as Json)["application/json"]).endsWith("=mo"),
  );
  if (!mo) throw new Error("The template has no webhook integration for mo");
  const badRequest = (mo.IntegrationResponses as Json[]).find((r) => r.StatusCode === "400");
  return {
    tableName,
    queueUrl,
    deadLetterQueueUrl,
    moRequestTemplate: String((mo.RequestTemplates as Json)["application/json"]),
    badRequestResponseTemplate: String(
      ((badRequest?.ResponseTemplates ?? {}) as Json)["application/json"],
    ),
    roles: {
      processor: await credentialsOf(w.processorRole.name, w.processorRole.identityPolicies),
      lookup: await credentialsOf(w.lookupRole.name, w.lookupRole.identityPolicies),
      send: await credentialsOf(w.sendRole.name, w.sendRole.identityPolicies),
      ...(w.sweeper && {
        sweeper: await credentialsOf(w.sweeper.role.name, w.sweeper.role.identityPolicies),
      }),
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(endpoint: string, moto: ChildProcess, stderr: () => string) {
  const deadline = Date.now() + 30_000;
  let spawnError: Error | undefined;
  moto.once("error", (error) => {
    spawnError = error;
  });
  while (Date.now() < deadline) {
    if (spawnError) {
      throw new Error(
        `Could not start moto (${spawnError.message}): install it with pip install "moto[server]" (set MOTO_PYTHON to the Python that has it)`,
      );
    }
    if (moto.exitCode !== null) {
      throw new Error(
        `moto exited with ${moto.exitCode}; is it installed (pip install "moto[server]")?\n${stderr()}`,
      );
    }
    try {
      // moto's own API answers without authentication and counts no action.
      if ((await fetch(`${endpoint}/moto-api/`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`moto did not answer on ${endpoint} within 30 s\n${stderr()}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
