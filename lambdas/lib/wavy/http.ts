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
  /**
   * Send the request again, once, on a fresh connection when a reused keep-alive socket fails
   * before any response head. The CSV download asks for it; the Wavy client retries every
   * network failure with backoff anyway.
   */
  retryStaleSocket?: boolean;
}

/** How a pooled connection the peer (or a middlebox) has dropped fails the next request on it. */
const STALE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE"]);

/**
 * One GET through node:http(s). Resolves with the response once its head has arrived, body
 * unread: the caller reads it, or discards it with `discard()`. The body fails (it does not end
 * quietly) if the peer closes before Content-Length or the final chunk.
 *
 * With `retryStaleSocket`, a request sent on a reused keep-alive socket that fails before any
 * response head is sent again, once, on a fresh connection: the host (or a middlebox) may have
 * dropped the idle socket, which is the retry Node's documentation recommends for
 * `request.reusedSocket` (https://nodejs.org/docs/latest-v22.x/api/http.html#requestreusedsocket).
 * A GET is safe to repeat, and the retry goes through the same agent, so the download's address
 * guard holds, and under the same signal, so it stays within the budget.
 */
export function httpGet(url: URL, options: GetOptions): Promise<IncomingMessage> {
  return sendGet(url, options, options.retryStaleSocket === true);
}

function sendGet(url: URL, options: GetOptions, mayRetry: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "https:";
    const agent = secure ? options.agents.https : options.agents.http;
    let request: http.ClientRequest;
    try {
      request = (secure ? https.request : http.request)(url, {
        method: "GET",
        headers: options.headers,
        signal: options.signal,
        agent,
      });
    } catch (error) {
      // Thrown synchronously for an invalid header (ERR_INVALID_CHAR) or protocol.
      reject(new UnsendableRequestError(error));
      return;
    }
    let answered = false;
    request.once("response", (response) => {
      answered = true;
      resolve(response);
    });
    // Stays attached after the response: a later error reaches the body, and must not crash.
    request.on("error", (error: NodeJS.ErrnoException) => {
      const stale =
        mayRetry &&
        !answered &&
        request.reusedSocket &&
        STALE_SOCKET_CODES.has(error.code ?? "") &&
        !options.signal.aborted;
      if (!stale) return reject(error);
      // Idle sockets to the same hosts were parked as long and are likely dead too: close them,
      // so the retry dials a new connection instead of picking up the next stale one.
      closeIdleSockets(agent);
      resolve(sendGet(url, options, false));
    });
    request.end();
  });
}

function closeIdleSockets(agent: http.Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy();
  }
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
