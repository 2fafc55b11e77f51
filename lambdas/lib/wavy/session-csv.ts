import type { Readable } from "node:stream";
import type { Deadline } from "../clock.js";
import type { WavyConfig } from "../config.js";
import type { SessionTarget } from "../ids.js";
import { requestSessionFileUrl } from "./client.js";
import type { CredentialCache } from "./credentials.js";
import { openCsvDownload } from "./download.js";
import type { BackoffPolicy } from "./retry.js";

export interface SessionCsvDeps {
  config: WavyConfig;
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
