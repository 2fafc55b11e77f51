import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { SECRET_PLACEHOLDER } from "../contract.js";
import { errorName, InternalError, WavyNotConfiguredError } from "../errors.js";
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
 * was rotated since it was cached.
 */
export interface CredentialCache {
  get(): Promise<WavyCredentials>;
  refresh(): Promise<WavyCredentials>;
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

  const provider = new SecretsProvider(
    options.client ? { awsSdkV3Client: options.client } : undefined,
  );
  const maxAge = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS;

  const read = async (forceFetch: boolean): Promise<WavyCredentials> => {
    let raw: unknown;
    try {
      raw = await provider.get(source.secretId, { maxAge, forceFetch });
    } catch (error) {
      // The SDK's message names the secret id at most, never its value.
      logger.error("Could not read the Wavy secret from Secrets Manager", {
        secretId: source.secretId,
        errorName: errorName(error),
      });
      throw new InternalError("Internal error", { cause: error });
    }
    const parsed = parseSecret(raw);
    if (parsed === "placeholder") throw new WavyNotConfiguredError();
    if (!parsed) {
      // Say what is wrong with its shape, never what it holds.
      logger.error(
        'The Wavy secret is malformed: its SecretString must be JSON {"userName": "...", "authenticationToken": "..."}',
        { secretId: source.secretId },
      );
      throw new InternalError("Internal error");
    }
    return parsed;
  };

  return { get: () => read(false), refresh: () => read(true) };
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
