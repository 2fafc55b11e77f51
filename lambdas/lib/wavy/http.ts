import http, { type IncomingMessage } from "node:http";
import https from "node:https";

/**
 * The HTTP transport both Wavy calls share: the API call (client.ts) and the CSV download
 * (download.ts). node:http(s) rather than fetch/undici: it lets each caller pass its own agents
 * (the download's refuse special-purpose addresses, ssrf-guard.ts), and it is ~700 KiB lighter
 * in the bundle (docs/benchmarks.md).
 */

/** A body nobody needs is read this far, so its connection can be reused, then dropped. */
const DISCARD_LIMIT_BYTES = 64 * 1024;

/** One agent per scheme: node:http refuses an agent whose protocol is not the URL's. */
export interface HttpAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

/**
 * node:http refused to build the request (a header value it cannot send, a bad URL): nothing
 * went out, and retrying cannot help. Carries the cause's code, never its message.
 */
export class UnsendableRequestError extends Error {
  readonly code: string | undefined;

  constructor(cause: unknown) {
    super("The HTTP request could not be built", { cause });
    this.name = "UnsendableRequestError";
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}

export interface GetOptions {
  headers: Record<string, string>;
  /** Aborting it destroys the request, and the response body if it is being read. */
  signal: AbortSignal;
  agents: HttpAgents;
}

/**
 * One GET through node:http(s). Resolves with the response once its head has arrived, body
 * unread: the caller reads it, or discards it with `discard()`. The body fails (it does not end
 * quietly) if the peer closes before Content-Length or the final chunk.
 */
export function httpGet(url: URL, options: GetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let request: http.ClientRequest;
    try {
      const secure = url.protocol === "https:";
      request = (secure ? https.request : http.request)(url, {
        method: "GET",
        headers: options.headers,
        signal: options.signal,
        agent: secure ? options.agents.https : options.agents.http,
      });
    } catch (error) {
      // Thrown synchronously for an invalid header (ERR_INVALID_CHAR) or protocol.
      reject(new UnsendableRequestError(error));
      return;
    }
    request.once("response", resolve);
    // Stays attached after the response: a later error reaches the body, and must not crash.
    request.on("error", reject);
    request.end();
  });
}

/** Reads and drops a body nobody needs, so the connection can be reused; gives up past `limit`. */
export async function discard(body: IncomingMessage, limit = DISCARD_LIMIT_BYTES): Promise<void> {
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      // Leaving the loop destroys the body and its connection.
      if (bytes > limit) break;
    }
  } catch {
    // The body was being thrown away; its failure changes nothing.
  }
}
