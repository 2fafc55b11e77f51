import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { SECRET_PLACEHOLDER } from "../contract.js";
import {
  errorName,
  InternalError,
  UpstreamTimeoutError,
  WavyNotConfiguredError,
} from "../errors.js";
import { logger } from "../logger.js";

/** Where the credentials come from: the stack's secret, or (local runs) the environment. */
export type WavyCredentialSource =
  | { kind: "secret"; secretId: string }
  | { kind: "static"; userName: string; authenticationToken: string };

export interface WavyCredentials {
  readonly userName: string;
  readonly authenticationToken: string;
}

/**
 * Credentials cached across invocations (module scope in the handler keeps one of these).
 * `refresh()` skips the cache: the Wavy client calls it once after a 401, in case the secret
 * was rotated since it was cached. `signal` is the request's deadline: a Secrets Manager call
 * still running when it fires is abandoned.
 */
export interface CredentialCache {
  get(signal?: AbortSignal): Promise<WavyCredentials>;
  refresh(signal?: AbortSignal): Promise<WavyCredentials>;
}

/** How long a cached secret is trusted before Secrets Manager is asked again. */
const SECRET_MAX_AGE_SECONDS = 300;

// Both go out as HTTP header values: a control character (CR, LF, NUL...) cannot be sent, and
// node:http's refusal would otherwise surface only at send time, as a failed call.
const headerValue = z.string().check(
  z.trim(),
  z.minLength(1),
  z.refine((value: string) => ![...value].some((char) => char < " " || char === "\u007f")),
);

const SecretShape = z.object({
  userName: headerValue,
  authenticationToken: headerValue,
});

export function createCredentialCache(
  source: WavyCredentialSource,
  options: { client?: SecretsManagerClient; maxAgeSeconds?: number } = {},
): CredentialCache {
  if (source.kind === "static") {
    const credentials = {
      userName: source.userName,
      authenticationToken: source.authenticationToken,
    };
    return { get: async () => credentials, refresh: async () => credentials };
  }

  // Hand-written rather than Powertools' SecretsProvider: its get() sends GetSecretValue
  // without the SDK's abortSignal, so a hung Secrets Manager held the request far past its
  // budget. The SDK aborts a call on the signal passed to send() ("AbortController in modular
  // AWS SDK for JavaScript", https://aws.amazon.com/blogs/developer/abortcontroller-in-modular-aws-sdk-for-javascript/).
  const client = options.client ?? new SecretsManagerClient({});
  const maxAgeMs = (options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS) * 1000;
  // Only a secret that parsed is kept: a malformed one, or the stack's placeholder, must be
  // read again on the next request, so filling it in takes effect at once on warm functions.
  let cached: { credentials: WavyCredentials; readAt: number } | undefined;

  const fetchSecret = async (signal: AbortSignal | undefined): Promise<unknown> => {
    try {
      // GetSecretValue answers SecretString or SecretBinary
      // (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
      const answer = await client.send(new GetSecretValueCommand({ SecretId: source.secretId }), {
        abortSignal: signal,
      });
      return answer.SecretString ?? answer.SecretBinary;
    } catch (error) {
      if (signal?.aborted) {
        logger.error("Secrets Manager did not answer within the request budget", {
          secretId: source.secretId,
        });
        throw new UpstreamTimeoutError(
          "The request budget ran out while reading the Wavy credentials",
          { cause: error },
        );
      }
      // The SDK's message names the secret id at most, never its value.
      logger.error("Could not read the Wavy secret from Secrets Manager", {
        secretId: source.secretId,
        errorName: errorName(error),
      });
      throw new InternalError("Internal error", { cause: error });
    }
  };

  const read = async (forceFetch: boolean, signal?: AbortSignal): Promise<WavyCredentials> => {
    if (!forceFetch && cached && Date.now() - cached.readAt < maxAgeMs) return cached.credentials;
    const parsed = parseSecret(await fetchSecret(signal));
    if (parsed === "placeholder") {
      cached = undefined;
      throw new WavyNotConfiguredError();
    }
    if (!parsed) {
      cached = undefined;
      // Say what is wrong with its shape, never what it holds.
      logger.error(
        'The Wavy secret is malformed: its SecretString must be JSON {"userName": "...", "authenticationToken": "..."}',
        { secretId: source.secretId },
      );
      throw new InternalError("Internal error");
    }
    if (maxAgeMs > 0) cached = { credentials: parsed, readAt: Date.now() };
    return parsed;
  };

  return { get: (signal) => read(false, signal), refresh: (signal) => read(true, signal) };
}

function parseSecret(raw: unknown): WavyCredentials | "placeholder" | undefined {
  if (typeof raw !== "string") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (isPlaceholder(json)) return "placeholder";
  const result = SecretShape.safeParse(json);
  return result.success ? result.data : undefined;
}

/** Exactly the stack's placeholder, as the created secret holds it until put-secret-value. */
function isPlaceholder(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const entries = Object.entries(json);
  const expected = Object.entries(SECRET_PLACEHOLDER);
  return (
    entries.length === expected.length &&
    expected.every(([name, value]) => (json as Record<string, unknown>)[name] === value)
  );
}
