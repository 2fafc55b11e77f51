import type { IncomingMessage } from "node:http";
import { pipeline, type Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Deadline } from "../clock.js";
import { errorName, UpstreamError, UpstreamTimeoutError } from "../errors.js";
import { logger } from "../logger.js";
import { discard, type HttpAgents, httpGet } from "./http.js";
import { type AllowedOrigin, isAllowedUrl } from "./origins.js";
import { ForbiddenAddressError, guardedAgentsFor } from "./ssrf-guard.js";

export interface DownloadDeps {
  origins: readonly AllowedOrigin[];
  deadline: Deadline;
  maxBytes: number;
  /** Tests pass their own; by default agents that refuse special-purpose addresses. */
  agents?: HttpAgents;
}

/** Redirect hops followed at most (docs/contract.md, "Download origins"). */
const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Opens the CSV Wavy linked to, as a byte stream of the file exactly as served (decoded if the
 * host insisted on a Content-Encoding). The link is untrusted: each hop must be on the
 * allow-list, redirects are followed by hand, no credentials are sent, and the stream fails
 * with a contract error past `maxBytes` or the deadline, or if the host drops the connection.
 */
export async function openCsvDownload(fileUrl: URL, deps: DownloadDeps): Promise<Readable> {
  let url = fileUrl;
  for (let hop = 0; ; hop += 1) {
    assertAllowed(url, deps.origins);
    const response = await get(url, deps);
    const status = response.statusCode ?? 0;

    if (REDIRECT_STATUSES.has(status)) {
      await discard(response);
      const location = headerValue(response.headers.location);
      if (!location) throw new UpstreamError(`The CSV host answered ${status} without a Location`);
      if (hop >= MAX_REDIRECTS) {
        throw new UpstreamError(`The CSV link redirected more than ${MAX_REDIRECTS} times`);
      }
      url = parseLocation(location, url);
      continue;
    }
    if (status !== 200) {
      await discard(response);
      throw new UpstreamError(`The CSV host answered ${status}`);
    }

    const declaredLength = Number(headerValue(response.headers["content-length"]));
    if (Number.isFinite(declaredLength) && declaredLength > deps.maxBytes) {
      response.destroy();
      throw new UpstreamError(`The CSV is larger than the ${deps.maxBytes}-byte limit`);
    }
    return guard(decode(response), deps);
  }
}

function assertAllowed(url: URL, origins: readonly AllowedOrigin[]): void {
  if (!isAllowedUrl(url, origins)) {
    throw new UpstreamError(
      `The CSV link points outside the allowed download origins (${url.protocol}//${url.host})`,
    );
  }
}

function parseLocation(location: string, base: URL): URL {
  try {
    return new URL(location, base);
  } catch {
    throw new UpstreamError("The CSV host redirected to an invalid URL");
  }
}

async function get(url: URL, deps: DownloadDeps): Promise<IncomingMessage> {
  if (deps.deadline.expired()) {
    throw new UpstreamTimeoutError("The request budget ran out before the CSV download began");
  }
  try {
    return await httpGet(url, {
      // Ask for the bytes as stored; a host that compresses anyway is decoded below.
      // No credentials: the CSV host is not Wavy's API.
      headers: { accept: "text/csv, text/plain, */*", "accept-encoding": "identity" },
      signal: deps.deadline.signal,
      agents: deps.agents ?? guardedAgentsFor(deps.origins),
      retryStaleSocket: true,
    });
  } catch (error) {
    throw downloadFailure(error, deps, "before the CSV host answered");
  }
}

function decode(response: IncomingMessage): Readable {
  const encoding = headerValue(response.headers["content-encoding"])?.trim().toLowerCase();
  switch (encoding) {
    case undefined:
    case "":
    case "identity":
      return response;
    case "gzip":
    case "x-gzip":
      return decodeWith(response, createGunzip());
    case "deflate":
      return decodeWith(response, createInflate());
    case "br":
      return decodeWith(response, createBrotliDecompress());
    default:
      response.destroy();
      throw new UpstreamError(`The CSV host sent an unsupported Content-Encoding "${encoding}"`);
  }
}

/**
 * pipeline(), not pipe(): a dropped connection must fail the decoded stream (pipe() would leave
 * the decoder waiting until the deadline), and stopping the decoded stream at the byte cap must
 * also close the connection (pipe() would leave the socket open, still sending).
 */
function decodeWith(response: IncomingMessage, decoder: Transform): Readable {
  // The callback only keeps an error from going unhandled: the guard reads it off the decoder.
  return pipeline(response, decoder, () => {});
}

/**
 * Counts bytes against the cap and turns low-level failures into contract errors. A synchronous
 * Transform under pipeline() rather than an async generator under Readable.from(), which cost
 * two promise hops per 16 KiB TLS record (bench/optimisations.md, step 11). pipeline() fails the
 * guard when the body fails or closes early, and closes the body when the guard stops (the cap,
 * or a consumer that gave up).
 */
function guard(body: Readable, deps: DownloadDeps): Readable {
  let bytes = 0;
  const guarded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes <= deps.maxBytes) callback(null, chunk);
      else callback(new UpstreamError(`The CSV is larger than the ${deps.maxBytes}-byte limit`));
    },
    destroy(error, callback) {
      callback(error && downloadFailure(error, deps, "while downloading the CSV"));
    },
  });
  // The callback only keeps an error from going unhandled: the guard carries it, mapped.
  return pipeline(body, guarded, () => {});
}

function downloadFailure(error: unknown, deps: DownloadDeps, when: string): Error {
  if (error instanceof UpstreamError || error instanceof UpstreamTimeoutError) return error;
  if (error instanceof ForbiddenAddressError) {
    logger.warn("Refused a CSV host that resolves to a special-purpose address", {
      errorName: errorName(error),
    });
    return new UpstreamError(error.message);
  }
  if (deps.deadline.signal.aborted || deps.deadline.expired()) {
    return new UpstreamTimeoutError(`The request budget ran out ${when}`);
  }
  logger.warn("The CSV download failed", { errorName: errorName(error) });
  return new UpstreamError(`The CSV download failed ${when}`);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
