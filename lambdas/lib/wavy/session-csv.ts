import type { Readable } from "node:stream";
import type { Deadline } from "../clock.js";
import type { SessionTarget } from "../ids.js";
import { requestSessionFileUrl } from "./client.js";
import type { CredentialCache } from "./credentials.js";
import { openCsvDownload } from "./download.js";
import type { AllowedOrigin } from "./origins.js";
import type { BackoffPolicy } from "./retry.js";

/** The part of the Wavy configuration this needs (config.ts parses it from the environment). */
export interface SessionCsvSettings {
  apiUrl: URL;
  downloadOrigins: readonly AllowedOrigin[];
  maxCsvBytes: number;
}

export interface SessionCsvDeps {
  config: SessionCsvSettings;
  credentials: CredentialCache;
  deadline: Deadline;
  backoff?: BackoffPolicy;
}

/**
 * The open-sessions CSV for one target, as a byte stream: asks Wavy for the link, then
 * downloads it under the origin policy. Shared by the export and the counter.
 */
export async function openSessionCsv(
  target: SessionTarget,
  deps: SessionCsvDeps,
): Promise<Readable> {
  const fileUrl = await requestSessionFileUrl(target, {
    apiUrl: deps.config.apiUrl,
    credentials: deps.credentials,
    deadline: deps.deadline,
    backoff: deps.backoff,
  });
  return openCsvDownload(fileUrl, {
    origins: deps.config.downloadOrigins,
    deadline: deps.deadline,
    maxBytes: deps.config.maxCsvBytes,
  });
}
