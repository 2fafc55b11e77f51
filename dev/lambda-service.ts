import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "./loopback.js";

/** Runs one asynchronous invocation; what it returns or throws is the function's outcome. */
export type LocalFunction = (payload: unknown) => Promise<unknown>;

/**
 * A Lambda stand-in on loopback that the real @aws-sdk/client-lambda talks to: Invoke with
 * `X-Amz-Invocation-Type: Event` only (REST-JSON, POST /2015-03-31/functions/{name}/invocations),
 * answered 202 at once while the function runs in the background, as Lambda's asynchronous
 * invocation does (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). No retries:
 * the worker is deployed with maximumRetryAttempts 0.
 */
export class LocalLambda {
  endpoint = "";
  readonly invocations: { functionName: string; payload: unknown }[] = [];
  readonly failures: { functionName: string; error: unknown }[] = [];
  private server: Server | undefined;
  private readonly functions = new Map<string, LocalFunction>();
  private readonly running = new Set<Promise<void>>();
  private refuseStatus: number | undefined;
  private hanging = false;

  register(functionName: string, run: LocalFunction): this {
    this.functions.set(functionName, run);
    return this;
  }

  /** Every invoke from now on is refused with this status (a throttled or failing Lambda). */
  refuseInvokes(status: number | undefined): void {
    this.refuseStatus = status;
  }

  /** Every invoke from now on is read and never answered (a Lambda endpoint that hangs). */
  hangInvokes(hang: boolean): void {
    this.hanging = hang;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.endpoint = await listenOnLoopback(this.server, port);
    return this;
  }

  /** Resolves once every invocation started so far has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async stop(): Promise<void> {
    await this.idle();
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    if (this.hanging) return;
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(
      new URL(req.url ?? "/", "http://local").pathname,
    );
    const functionName = decodeURIComponent(match?.[1] ?? "");
    const run = this.functions.get(functionName);
    if (req.method !== "POST" || !match || !run) {
      return this.fail(
        res,
        404,
        "ResourceNotFoundException",
        `Function not found: ${functionName}`,
      );
    }
    if (req.headers["x-amz-invocation-type"] !== "Event") {
      return this.fail(res, 400, "InvalidParameterValueException", "Only Event invocations");
    }
    if (this.refuseStatus !== undefined) {
      return this.fail(res, this.refuseStatus, "TooManyRequestsException", "Refused by the test");
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString("utf-8") || "{}");
    } catch {
      return this.fail(res, 400, "InvalidRequestContentException", "Payload is not JSON");
    }
    this.invocations.push({ functionName, payload });
    res.writeHead(202, { "x-amzn-requestid": `local-${this.invocations.length}` }).end();
    const invocation: Promise<void> = run(payload)
      .then(
        () => undefined,
        (error: unknown) => void this.failures.push({ functionName, error }),
      )
      .finally(() => this.running.delete(invocation));
    this.running.add(invocation);
  }

  private fail(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
    res.end(JSON.stringify({ Type: "User", message }));
  }
}
