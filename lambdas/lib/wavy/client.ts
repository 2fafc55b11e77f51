import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod/mini";
import type { Deadline } from "../clock.js";
import {
  type ContractError,
  errorName,
  InternalError,
  UpstreamError,
  UpstreamThrottledError,
  UpstreamTimeoutError,
} from "../errors.js";
import type { SessionTarget } from "../ids.js";
import { logger } from "../logger.js";
import type { CredentialCache } from "./credentials.js";
import { discard, type HttpAgents, httpGet, UnsendableRequestError } from "./http.js";
import {
  type BackoffPolicy,
  backoffDelayMs,
  DEFAULT_BACKOFF,
  parseRetryAfterSeconds,
} from "./retry.js";

export interface WavyClientDeps {
  apiUrl: URL;
  credentials: CredentialCache;
  deadline: Deadline;
  backoff?: BackoffPolicy;
}

/** Used when Wavy throttles us without saying for how long (docs/contract.md, "Errors"). */
const DEFAULT_RETRY_AFTER_SECONDS = 30;

/** A Wavy answer is a few hundred bytes; anything far larger is not an answer. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Wavy's connections, reused across requests and warm invocations. Idle sockets are closed
 * after 4 s (server hints permitting sooner), so a thawed Lambda rarely picks up a dead one;
 * when it does, the call is retried like any network failure.
 */
const WAVY_AGENTS: HttpAgents = {
  http: new http.Agent({ keepAlive: true, timeout: 4_000 }),
  https: new https.Agent({ keepAlive: true, timeout: 4_000 }),
};

const SessionAnswer = z.object({
  file_url: z.url({ protocol: /^https?$/ }),
});

type Attempt =
  | { kind: "ok"; fileUrl: URL }
  | { kind: "unauthorized" }
  | {
      kind: "retryable";
      reason: "throttled" | "server" | "timeout" | "network";
      status?: number;
      retryAfterSeconds?: number;
    }
  | { kind: "fatal"; error: ContractError };

/**
 * GET /v1/session: returns the CSV link Wavy hands out. Retries 420/429/5xx and network
 * errors with backoff and jitter, refreshes the credentials once after a 401, and never
 * outlives the request's deadline.
 */
export async function requestSessionFileUrl(
  target: SessionTarget,
  deps: WavyClientDeps,
): Promise<URL> {
  const url = sessionUrl(deps.apiUrl, target);
  const policy = deps.backoff ?? DEFAULT_BACKOFF;
  let credentialsRefreshed = false;
  let retries = 0;

  for (;;) {
    const credentials = await deps.credentials.get(deps.deadline.signal);
    const attempt = await attemptOnce(url, credentials, deps);

    if (attempt.kind === "ok") return attempt.fileUrl;
    if (attempt.kind === "fatal") throw attempt.error;
    if (attempt.kind === "unauthorized") {
      if (credentialsRefreshed) {
        throw new UpstreamError("Wavy answered 401: the credentials were refused after a refresh");
      }
      credentialsRefreshed = true;
      logger.warn("Wavy answered 401; re-reading the credentials once in case they were rotated");
      await deps.credentials.refresh(deps.deadline.signal);
      continue;
    }

    const wait =
      attempt.retryAfterSeconds !== undefined
        ? attempt.retryAfterSeconds * 1000
        : backoffDelayMs(retries, policy);
    const outOfAttempts = retries + 1 >= policy.maxAttempts;
    // Leave time for the call after the wait: a wait that ends at the deadline is wasted.
    const outOfTime = wait >= deps.deadline.remainingMs();
    if (outOfAttempts || outOfTime) throw giveUp(attempt, outOfTime);

    logger.info("Retrying the Wavy call", {
      reason: attempt.reason,
      status: attempt.status,
      retry: retries + 1,
      waitMs: wait,
    });
    retries += 1;
    try {
      await sleep(wait, undefined, { signal: deps.deadline.signal });
    } catch {
      throw new UpstreamTimeoutError("The request budget ran out while waiting to retry Wavy");
    }
  }
}

function sessionUrl(apiUrl: URL, target: SessionTarget): URL {
  const url = new URL("v1/session", apiUrl.href.endsWith("/") ? apiUrl : `${apiUrl.href}/`);
  url.searchParams.set("customerId", target.customerId);
  if (target.subAccountId !== null) url.searchParams.set("subAccountId", target.subAccountId);
  return url;
}

async function attemptOnce(
  url: URL,
  credentials: { userName: string; authenticationToken: string },
  deps: WavyClientDeps,
): Promise<Attempt> {
  if (deps.deadline.expired()) {
    return {
      kind: "fatal",
      error: new UpstreamTimeoutError("The request budget ran out before Wavy answered"),
    };
  }
  let response: IncomingMessage;
  try {
    response = await httpGet(url, {
      headers: {
        userName: credentials.userName,
        authenticationToken: credentials.authenticationToken,
        "Content-Type": "application/json",
        accept: "application/json",
      },
      signal: deps.deadline.signal,
      agents: WAVY_AGENTS,
    });
  } catch (error) {
    if (error instanceof UnsendableRequestError) {
      // Only the code: node:http's message names the header that could not be sent.
      logger.error("The Wavy request could not be built", { errorName: errorName(error) });
      return {
        kind: "fatal",
        error: new InternalError("The Wavy request could not be built from the configuration"),
      };
    }
    if (deps.deadline.expired() || deps.deadline.signal.aborted) {
      return {
        kind: "fatal",
        error: new UpstreamTimeoutError("Wavy did not answer within the request budget"),
      };
    }
    // Only the error's class and code: messages can echo request details.
    logger.warn("The Wavy call failed before an answer", { errorName: errorName(error) });
    return { kind: "retryable", reason: "network" };
  }

  const status = response.statusCode ?? 0;
  if (status === 200) {
    return readAnswer(response, deps);
  }
  await discard(response);
  if (status === 401) return { kind: "unauthorized" };
  if (status === 420 || status === 429) {
    return {
      kind: "retryable",
      reason: "throttled",
      status,
      retryAfterSeconds: parseRetryAfterSeconds(response.headers["retry-after"]),
    };
  }
  if (status === 504) return { kind: "retryable", reason: "timeout", status };
  if (status >= 500) return { kind: "retryable", reason: "server", status };
  return { kind: "fatal", error: new UpstreamError(`Wavy answered ${status}`) };
}

async function readAnswer(response: IncomingMessage, deps: WavyClientDeps): Promise<Attempt> {
  const nonsense = (why: string): Attempt => ({
    kind: "fatal",
    error: new UpstreamError(`Wavy answered 200 but ${why}`),
  });
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES) {
        response.destroy();
        return nonsense("the answer is too large");
      }
      chunks.push(chunk);
    }
  } catch {
    if (deps.deadline.signal.aborted) {
      return {
        kind: "fatal",
        error: new UpstreamTimeoutError("Wavy did not answer within the request budget"),
      };
    }
    return { kind: "retryable", reason: "network" };
  }
  let json: unknown;
  try {
    // Decoded once, whole: a character split across chunks stays intact. A UTF-8 BOM, which
    // JSON.parse refuses, is dropped: RFC 8259 §8.1 lets a parser ignore one.
    json = JSON.parse(
      Buffer.concat(chunks)
        .toString("utf8")
        .replace(/^\uFEFF/, ""),
    );
  } catch {
    return nonsense("not with JSON");
  }
  const parsed = SessionAnswer.safeParse(json);
  if (!parsed.success) return nonsense("without a valid file_url");
  return { kind: "ok", fileUrl: new URL(parsed.data.file_url) };
}

function giveUp(
  attempt: Extract<Attempt, { kind: "retryable" }>,
  outOfTime: boolean,
): ContractError {
  const after = outOfTime ? "(no time left in the request budget to retry)" : "after retries";
  switch (attempt.reason) {
    case "throttled":
      return new UpstreamThrottledError(
        `Wavy rate-limited the request (${attempt.status}) ${after}`,
        attempt.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
      );
    case "timeout":
      return new UpstreamTimeoutError(`Wavy answered 504 ${after}`);
    case "server":
      return new UpstreamError(`Wavy answered ${attempt.status} ${after}`);
    case "network":
      return new UpstreamError(`Wavy could not be reached ${after}`);
  }
}
