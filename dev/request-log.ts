import { maskNumber } from "../lambdas/lib/windows/mask.js";

/**
 * `npm start`'s one line per request (issue 22): method, path, status and time, short enough to
 * read as it scrolls. What the path may carry that a log must not is masked: the webhook token
 * (it is the webhooks' only secret) and a destination's number (LGPD: all but its last 4 digits).
 * The query string is left out: it is the caller's own input, echoed back in any 4xx message.
 */
export function requestLogLine(request: {
  method: string;
  path: string;
  status: number;
  ms: number;
  at: Date;
}): string {
  const time = request.at.toISOString().slice(11, 19);
  return `[http ${time}Z] ${request.method} ${maskedPath(request.path)} ${request.status} ${Math.round(request.ms)} ms`;
}

export function maskedPath(path: string): string {
  return path
    .replace(/^\/hooks\/wavy\/[^/]+/, "/hooks/wavy/<token>")
    .replace(
      /^\/windows\/([^/]+)/,
      (_, destination: string) => `/windows/${maskNumber(destination)}`,
    );
}
