import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { startApiServer } from "../../dev/api-gateway.js";
import { forwardEmfToCloudWatch } from "../../dev/emf.js";
import { lambdaContext } from "../../dev/lambda-context.js";
import { type LambdaHandler, LambdaInvokeServer } from "../../dev/lambda-invoke.js";
import { localEnvironment } from "../../dev/local-environment.js";
import { MotoServer } from "../../dev/moto-server.js";
import { startWavySandbox } from "../../dev/wavy-sandbox.js";
import type { WavySimulator } from "../../dev/wavy-simulator.js";
import { SERVICE_NAME } from "../../lambdas/lib/contract.js";

export const REGION = "us-east-1";
export const STACK_NAME = "WavySessionsSmoke";
export const BUCKET = "wavy-sessions-smoke";
export const COUNTER_FUNCTION = "WavySessionsSmoke-CounterFunction-abc123";
/** moto accepts any key; these never leave loopback. */
export const CREDENTIALS = { accessKeyId: "smoke-test", secretAccessKey: "smoke-test" };

/** Lets a test change what a handler answers (a fault in the deployed stack). */
export type ApiFault = (
  event: APIGatewayProxyEvent,
  answer: APIGatewayProxyResult,
) => Promise<APIGatewayProxyResult> | APIGatewayProxyResult;

/**
 * The stack as `npm start` runs it, with moto as AWS: the export handler behind the API Gateway
 * stand-in, the Wavy sandbox, S3 in moto; the counter behind the Lambda Invoke stand-in, its
 * EMF output put into moto's CloudWatch. Tests create the queue and alarms in moto themselves.
 */
export class LocalStack {
  readonly moto = new MotoServer();
  wavy!: WavySimulator;
  apiUrl = "";
  lambdaUrl = "";
  s3!: S3Client;
  cloudWatch!: CloudWatchClient;
  /** Rewrites the API's answers while set. */
  apiFault: ApiFault | undefined;
  /** Runs before the counter's handler while set (e.g. to script Wavy's next answer). */
  beforeCount: (() => void) | undefined;
  /** False: the counter's EMF lines are lost on the way to CloudWatch. */
  forwardMetrics = true;
  lambda!: LambdaInvokeServer;
  private closers: (() => Promise<void>)[] = [];
  private directory = "";

  async start(): Promise<this> {
    await this.moto.start();
    this.closers.push(() => this.moto.stop());
    this.wavy = await startWavySandbox();
    this.closers.push(() => this.wavy.stop());

    const clientConfig = { region: REGION, endpoint: this.moto.endpoint, credentials: CREDENTIALS };
    this.s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    this.cloudWatch = new CloudWatchClient(clientConfig);

    // What the stack sets in Lambda, with loopback endpoints; Powertools outside dev mode, so
    // the counter prints its EMF to stdout exactly as in Lambda.
    Object.assign(process.env, {
      ...localEnvironment({
        s3Endpoint: this.moto.endpoint,
        bucket: BUCKET,
        sandboxUrl: this.wavy.baseUrl,
      }),
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME.counter,
      // As the stack sets it: the stack's name.
      POWERTOOLS_METRICS_NAMESPACE: STACK_NAME,
      POWERTOOLS_LOG_LEVEL: "ERROR",
    });
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.WAVY_SECRET_ID;

    // Imported only now, so Powertools and the SDK read the environment set above.
    const exportHandler = (await import("../../lambdas/export-sessions/handler.js")).handler;
    const countHandler = (await import("../../lambdas/count-sessions/handler.js"))
      .handler as LambdaHandler;

    const api = await startApiServer(async (event) => {
      const answer = await exportHandler(event, lambdaContext("export-sessions"));
      return this.apiFault ? this.apiFault(event, answer) : answer;
    });
    this.apiUrl = api.url;
    this.closers.push(() => api.close());

    const forward = forwardEmfToCloudWatch(this.cloudWatch);
    this.lambda = await new LambdaInvokeServer({
      functions: {
        [COUNTER_FUNCTION]: (event, context) => {
          this.beforeCount?.();
          return countHandler(event, context);
        },
      },
      onLogLine: (line) => (this.forwardMetrics ? forward(line) : undefined),
    }).start();
    this.lambdaUrl = this.lambda.url;
    this.closers.push(() => this.lambda.stop());

    this.directory = await mkdtemp(join(tmpdir(), "wavy-smoke-"));
    this.closers.push(() => rm(this.directory, { recursive: true, force: true }));
    return this;
  }

  /** A clean AWS for each test: no queue, alarm or datapoint of another test is seen. */
  async reset(): Promise<void> {
    await this.moto.reset();
    await this.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    this.apiFault = undefined;
    this.beforeCount = undefined;
    this.forwardMetrics = true;
    this.lambda.invocations.length = 0;
  }

  async stop(): Promise<void> {
    for (const close of this.closers.reverse()) await close();
  }

  /** A `cdk deploy --outputs-file` file for these outputs. */
  async outputsFile(stackName: string, outputs: Record<string, string>): Promise<string> {
    const path = join(this.directory, `${stackName}-outputs.json`);
    await writeFile(path, JSON.stringify({ [stackName]: outputs }, null, 2));
    return path;
  }

  /** `npm run smoke -- ...args` as the operator runs it, with every AWS endpoint on loopback. */
  runSmoke(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: this.directory,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_CLOUDFORMATION: this.moto.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.moto.endpoint,
      AWS_ENDPOINT_URL_SQS: this.moto.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: this.lambdaUrl,
    };
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/smoke.ts", ...args], {
      env,
      cwd: process.cwd(),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
  }
}
