import { resolve } from "node:path";

/**
 * What `npm start` reads from the environment (docs/contract.md, "Running locally"), checked before
 * anything starts: a bad value stops it with a line naming the variable, instead of a stack
 * trace or, for COUNT_INTERVAL_SECONDS=abc, a counter loop with no pause (setInterval takes NaN
 * for 0).
 */
export interface LocalSettings {
  port: number;
  s3Port: number;
  bucket: string;
  dataDir: string;
  countIntervalSeconds: number;
  /** The webhook routes' token (docs/contract.md, "Live windows"); generated when unset. */
  webhookToken: string | undefined;
  /** How often the sandbox posts an MO bulk to the webhook. */
  moIntervalSeconds: number;
  /** Issue 21: how often the sandbox posts status callbacks (some 210) to the status webhook. */
  statusIntervalSeconds: number;
  /** Issue 21: how often the closing-notice sweeper runs (5 minutes deployed, 30 s here). */
  closingNoticeIntervalSeconds: number;
}

/** A setting that cannot be used; its message names the variable and is meant for the user. */
export class LocalSettingsError extends Error {
  override readonly name = "LocalSettingsError";
}

type Env = Record<string, string | undefined>;

function digits(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new LocalSettingsError(
      `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text)})`,
    );
  }
  return value;
}

export function localSettings(env: Env = process.env): LocalSettings {
  return {
    // 0 asks the system for a free port, as the tests do.
    port: digits(env, "PORT", 3000, 0, 65_535),
    s3Port: digits(env, "LOCAL_S3_PORT", 4569, 0, 65_535),
    bucket: env.EXPORT_BUCKET || "wavy-sessions-local",
    dataDir: resolve(env.LOCAL_DATA_DIR || ".local/s3"),
    // A day at most: setInterval cannot wait longer than ~24.8 days, and nobody needs to.
    countIntervalSeconds: digits(env, "COUNT_INTERVAL_SECONDS", 60, 1, 86_400),
    webhookToken: webhookToken(env),
    moIntervalSeconds: digits(env, "MO_INTERVAL_SECONDS", 5, 1, 86_400),
    statusIntervalSeconds: digits(env, "STATUS_INTERVAL_SECONDS", 7, 1, 86_400),
    closingNoticeIntervalSeconds: digits(env, "CLOSING_NOTICE_INTERVAL_SECONDS", 30, 1, 86_400),
  };
}

/** Turns "address in use" into a line naming the variable that picks the port. */
export function explainListenFailure(error: unknown, variable: string, port: number): Error {
  if ((error as { code?: unknown }).code !== "EADDRINUSE") return error as Error;
  return new LocalSettingsError(
    `Port ${port} is already in use: stop what holds it, or choose another port with ${variable} (e.g. ${variable}=${port < 65_535 ? port + 1 : 3001} npm start)`,
  );
}

/** A token of URL-safe characters, as the deployed one (it is a path segment). */
function webhookToken(env: Env): string | undefined {
  const token = env.WEBHOOK_TOKEN;
  if (token === undefined || token === "") return undefined;
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) {
    throw new LocalSettingsError(
      "WEBHOOK_TOKEN must be 16-128 characters of A-Z, a-z, 0-9, _ and - (it goes in the URL's path)",
    );
  }
  return token;
}
