import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Context } from "aws-lambda";
import { lambdaContext } from "./lambda-context.js";
import { closeServer, listenOnLoopback } from "./loopback.js";

/**
 * A stand-in for the Lambda service's Invoke API on loopback: the AWS SDK's LambdaClient
 * (pointed here with AWS_ENDPOINT_URL_LAMBDA) invokes a handler that runs in this process.
 *
 * It speaks the documented REST shape,
 * https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html:
 * `POST /2015-03-31/functions/{FunctionName}/invocations` with the event as the body;
 * a name, a full ARN or a partial ARN, with an optional qualifier. A synchronous
 * (RequestResponse) call answers 200 with the handler's result; a handler that throws is still
 * a 200, with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage, trace}` as the
 * payload; an unknown function is a 404 `ResourceNotFoundException`. Only RequestResponse is
 * served: Event and DryRun are refused, so nothing can silently behave otherwise than in AWS.
 *
 * As in Lambda, what the function writes to stdout and stderr is its log: each line is handed to
 * `onLogLine` (CloudWatch Logs' place), one invocation at a time so lines are never mixed up.
 */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LambdaInvokeOptions {
  functions: Record<string, LambdaHandler>;
  /** Every line the function logged; may return a promise (e.g. PutMetricData for EMF lines). */
  onLogLine?: (line: string, functionName: string) => unknown;
  /** The function's timeout, as its context's remaining time. */
  timeoutMs?: number;
  port?: number;
}

export interface InvocationRecord {
  functionName: string;
  event: unknown;
  error?: string;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** `name`, `name:qualifier`, `123456789012:function:name` or the full ARN → `name`. */
export function functionNameOf(identifier: string): string {
  const afterFunction = /(?:^|:)function:([^:]+)/.exec(identifier)?.[1];
  return afterFunction ?? identifier.split(":")[0] ?? identifier;
}

export class LambdaInvokeServer {
  url = "";
  readonly invocations: InvocationRecord[] = [];
  private server: Server | undefined;
  /** Invocations run one after another, so each one's log lines are its own. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LambdaInvokeOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) sendError(res, 500, "ServiceException", "The stand-in failed");
      });
    });
    this.url = await listenOnLoopback(this.server, this.options.port ?? 0);
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const match = INVOKE_PATH.exec(url.pathname);
    if (req.method !== "POST" || !match?.[1]) {
      sendError(res, 404, "UnknownOperationException", `The stand-in serves Invoke only`);
      return;
    }
    const functionName = functionNameOf(decodeURIComponent(match[1]));
    const handler = this.options.functions[functionName];
    if (!handler) {
      sendError(res, 404, "ResourceNotFoundException", `Function not found: ${functionName}`);
      return;
    }
    const invocationType = req.headers["x-amz-invocation-type"] ?? "RequestResponse";
    if (invocationType !== "RequestResponse") {
      sendError(
        res,
        400,
        "InvalidParameterValueException",
        `The stand-in serves RequestResponse invocations only, not ${invocationType}`,
      );
      return;
    }
    const body = await readBody(req);
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      sendError(res, 400, "InvalidRequestContentException", "Could not parse request body");
      return;
    }

    const run = this.queue.then(() => this.invoke(functionName, handler, event));
    this.queue = run.catch(() => {});
    const outcome = await run;
    res.setHeader("content-type", "application/json");
    res.setHeader("x-amz-executed-version", "$LATEST");
    if ("error" in outcome) res.setHeader("x-amz-function-error", "Unhandled");
    res.writeHead(200);
    res.end(JSON.stringify("error" in outcome ? outcome.error : (outcome.result ?? null)));
  }

  private async invoke(
    functionName: string,
    handler: LambdaHandler,
    event: unknown,
  ): Promise<{ result: unknown } | { error: Record<string, unknown> }> {
    const record: InvocationRecord = { functionName, event };
    this.invocations.push(record);
    const log = captureOutput();
    let outcome: { result: unknown } | { error: Record<string, unknown> };
    try {
      const context = lambdaContext(functionName, this.options.timeoutMs ?? 300_000);
      outcome = { result: await handler(event, context) };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      record.error = err.message;
      outcome = {
        error: {
          errorType: err.name,
          errorMessage: err.message,
          trace: (err.stack ?? "").split("\n"),
        },
      };
    } finally {
      const lines = log.stop();
      for (const line of lines) await this.options.onLogLine?.(line, functionName);
    }
    return outcome;
  }
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  // restJson1 errors: the SDK reads the error's type from this header, the message from the body.
  res.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
  res.end(JSON.stringify({ Type: "User", message }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Takes over process.stdout and process.stderr until stop(), and returns what was written, line
 * by line. Powertools writes through its own `Console` bound to these streams (outside dev mode),
 * which calls their `write` for every line, so replacing `write` sees all of it.
 */
function captureOutput(): { stop: () => string[] } {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  let text = "";
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  return {
    stop: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
      return text.split("\n").filter((line) => line.length > 0);
    },
  };
}
