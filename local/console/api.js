// The routes a user calls (docs/contract.md, "HTTP API"), and nothing else: the console has no
// route of its own besides its files and the list of targets the local counter counts.

/** An answer in the contract's error envelope (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

async function call(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { ...init.headers }, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "NETWORK", error.message);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, "NOT_JSON", text.slice(0, 200));
  }
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(response.status, error.code ?? "UNKNOWN", error.message ?? text);
  }
  return { status: response.status, headers: response.headers, body };
}

/** "42" or "42/7" → the target; undefined when it is not one. */
export function parseTarget(text) {
  const match = /^([1-9][0-9]{0,17})(?:\/([1-9][0-9]{0,17}))?$/.exec(text.trim());
  return match ? { customerId: match[1], subAccountId: match[2] ?? null } : undefined;
}

export function targetName(target) {
  return target.subAccountId ? `${target.customerId}/${target.subAccountId}` : target.customerId;
}

function targetQuery(target) {
  const query = new URLSearchParams({ customerId: target.customerId });
  if (target.subAccountId) query.set("subAccountId", target.subAccountId);
  return query;
}

/** The targets the local counter counts, and the business numbers the local webhook hears. */
export async function localTargets() {
  const { targets, origins = [] } = (await call("/console/targets.json")).body;
  return { targets, origins };
}

/** GET /exports: the run history, newest first. */
export async function listExports(target, limit = 20) {
  const query = targetQuery(target);
  query.set("limit", String(limit));
  return (await call(`/exports?${query}`)).body.exports;
}

/** POST /exports, synchronous (201) or with `Prefer: respond-async` (202 + Location). */
export async function startExport(target, { background }) {
  const answer = await call("/exports", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(background && { prefer: "respond-async" }),
    },
    body: JSON.stringify(target),
  });
  return {
    status: answer.status,
    location: answer.headers.get("location") ?? `/exports/${answer.body.exportId}`,
    document: answer.body,
  };
}

/** GET /exports/{exportId}, by the Location a 202 answered. */
export async function readExport(location) {
  return (await call(location)).body;
}

/** GET /sessions/closing: an export plus its closing-soon list's count and URL. */
export async function closing(target, withinMinutes) {
  const query = targetQuery(target);
  query.set("withinMinutes", String(withinMinutes));
  return (await call(`/sessions/closing?${query}`)).body;
}

/** The closing-soon list behind `closing.downloadUrl`: `source;closes_at`, soonest first. */
export async function closingList(document) {
  const response = await fetch(document.closing.downloadUrl, { cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, "DOWNLOAD", "the closing list");
  return parseClosingCsv(await response.text());
}

/** RFC 4180 with `;` (docs/contract.md, "Closing-soon lists"); the header line is skipped. */
export function parseClosingCsv(text) {
  const entries = [];
  const lines = text.split(/\r?\n/);
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const fields = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const char = line[i];
      if (quoted) {
        if (char === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (char === '"') quoted = false;
        else field += char;
      } else if (char === '"') quoted = true;
      else if (char === ";") {
        fields.push(field);
        field = "";
      } else field += char;
    }
    fields.push(field);
    entries.push({ destination: fields[0], closesAt: fields[1] });
  }
  return entries;
}

/**
 * Whether this API serves the live windows (issue 20): a lookup of a destination nobody has is
 * a 200 with no windows where it does, NOT_FOUND (unknown route) where it does not.
 */
export async function windowsServed() {
  try {
    await call("/windows/0");
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    // A 400 (the route exists and judged "0") still means it is served.
    return error instanceof ApiError && error.status === 400;
  }
}

/** GET /windows?origin=…&closingWithinMinutes=N, every page, soonest first. */
export async function windowsClosing(origin, withinMinutes) {
  const windows = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({
      origin,
      closingWithinMinutes: String(withinMinutes),
      limit: "500",
    });
    if (cursor) query.set("cursor", cursor);
    const page = (await call(`/windows?${query}`)).body;
    windows.push(...page.windows);
    cursor = page.nextCursor;
  } while (cursor);
  return windows;
}

/** GET /windows/{destination}: one window per business number that heard from it. */
export async function windowsOf(destination) {
  return (await call(`/windows/${encodeURIComponent(destination)}`)).body.windows;
}
