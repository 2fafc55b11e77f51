import { createHash } from "node:crypto";
import { type Check, failed, notChecked, passed } from "./checklist.js";
import type { CounterTarget } from "./outputs.js";

/**
 * The export API as a caller sees it: every route once, signed, and the export's bytes fetched
 * back through its downloadUrl. The expected codes are the contract's wire values written out
 * (docs/contract.md, "Errors"), not imported: a renamed code must fail here, not follow along.
 */

/** A signed call to one route of the deployed API (`/exports`, `/v1/session?...`). */
export type CallApi = (
  method: string,
  route: string,
  options?: { body?: string },
) => Promise<Response>;

/** A plain GET of a presigned URL: it carries its own signature. */
export type Download = (url: string) => Promise<Response>;

interface ExportDocument {
  exportId: string;
  customerId: string;
  subAccountId: string | null;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
  downloadUrl: string;
}

const DOCUMENT_FIELDS = ["exportId", "customerId", "key", "rows", "bytes", "sha256"] as const;

export const API_CHECK = {
  createExport: "POST /exports",
  download: "download matches bytes and sha256",
  readExport: "GET /exports/{exportId}",
  dropIn: "GET /v1/session",
  unknownRoute: "unknown route answers 404",
  wrongMethod: "wrong method answers 405 with Allow",
  badBody: "bad body answers 400",
} as const;

export async function checkApi(
  target: CounterTarget,
  deps: { call: CallApi; download: Download },
): Promise<Check[]> {
  const { call, download } = deps;
  const checks: Check[] = [];
  const targetBody = JSON.stringify(
    target.subAccountId === null
      ? { customerId: target.customerId }
      : { customerId: target.customerId, subAccountId: target.subAccountId },
  );

  const { check: createCheck, document } = await createExport(targetBody, call);
  checks.push(createCheck);

  if (document) {
    checks.push(await checkDownload(document, download));
    checks.push(await checkReadBack(document, call));
  } else {
    checks.push(notChecked(API_CHECK.download, "no export was created"));
    checks.push(notChecked(API_CHECK.readExport, "no export was created"));
  }

  checks.push(await checkDropIn(target, call));
  checks.push(
    await expectError(API_CHECK.unknownRoute, () => call("GET", "/smoke-test/no-such-route"), {
      status: 404,
      code: "NOT_FOUND",
    }),
  );
  checks.push(
    await expectError(API_CHECK.wrongMethod, () => call("DELETE", "/exports"), {
      status: 405,
      code: "METHOD_NOT_ALLOWED",
      allowIncludes: "POST",
    }),
  );
  checks.push(
    await expectError(
      API_CHECK.badBody,
      () => call("POST", "/exports", { body: JSON.stringify({ customerId: "not-an-id" }) }),
      { status: 400, code: "INVALID_REQUEST" },
    ),
  );
  return checks;
}

async function createExport(
  body: string,
  call: CallApi,
): Promise<{ check: Check; document?: ExportDocument }> {
  try {
    const response = await call("POST", "/exports", { body });
    const answer = await jsonOf(response);
    if (response.status !== 201 || !isExportDocument(answer)) {
      return { check: failed(API_CHECK.createExport, describeAnswer(response, answer)) };
    }
    const seen = `201, export ${answer.exportId}: ${answer.rows} rows, ${answer.bytes} bytes`;
    return { check: passed(API_CHECK.createExport, seen), document: answer };
  } catch (error) {
    return { check: requestFailed(API_CHECK.createExport, error) };
  }
}

async function checkDownload(document: ExportDocument, download: Download): Promise<Check> {
  return guarded(API_CHECK.download, async () => {
    const response = await download(document.downloadUrl);
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      return failed(API_CHECK.download, `the downloadUrl answered ${response.status}`);
    }
    // Streamed through the hash: an export may be gigabytes.
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of response.body) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
    const sha256 = hash.digest("hex");
    const seen = `${bytes} bytes, sha256 ${sha256}`;
    if (bytes !== document.bytes || sha256 !== document.sha256) {
      return failed(
        API_CHECK.download,
        `${seen}; the document says ${document.bytes} bytes, sha256 ${document.sha256}`,
      );
    }
    return passed(API_CHECK.download, seen);
  });
}

async function checkReadBack(document: ExportDocument, call: CallApi): Promise<Check> {
  return guarded(API_CHECK.readExport, async () => {
    const response = await call("GET", `/exports/${encodeURIComponent(document.exportId)}`);
    const body = await jsonOf(response);
    if (response.status !== 200 || !isExportDocument(body)) {
      return failed(API_CHECK.readExport, describeAnswer(response, body));
    }
    const differing = DOCUMENT_FIELDS.filter((field) => body[field] !== document[field]);
    if (differing.length > 0) {
      const which = differing.join(", ");
      return failed(API_CHECK.readExport, `200, but ${which} differ from POST's`);
    }
    return passed(API_CHECK.readExport, "200, the same document, a fresh downloadUrl");
  });
}

async function checkDropIn(target: CounterTarget, call: CallApi): Promise<Check> {
  const query = new URLSearchParams({ customerId: target.customerId });
  if (target.subAccountId !== null) query.set("subAccountId", target.subAccountId);
  return guarded(API_CHECK.dropIn, async () => {
    const response = await call("GET", `/v1/session?${query}`);
    const body = await jsonOf(response);
    const fileUrl = (body as { file_url?: unknown } | undefined)?.file_url;
    if (response.status !== 200 || !isExportDocument(body) || fileUrl !== body.downloadUrl) {
      return failed(API_CHECK.dropIn, describeAnswer(response, body));
    }
    return passed(API_CHECK.dropIn, `200, file_url of export ${body.exportId}`);
  });
}

async function expectError(
  name: string,
  send: () => Promise<Response>,
  expected: { status: number; code: string; allowIncludes?: string },
): Promise<Check> {
  return guarded(name, async () => {
    const response = await send();
    const body = await jsonOf(response);
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const problems: string[] = [];
    if (response.status !== expected.status) problems.push(`status ${response.status}`);
    if (error?.code !== expected.code || typeof error?.message !== "string") {
      problems.push(`body ${truncate(JSON.stringify(body) ?? "(not JSON)")}`);
    }
    const allow = response.headers.get("allow");
    if (expected.allowIncludes !== undefined) {
      const methods = (allow ?? "").split(",").map((method) => method.trim());
      if (!methods.includes(expected.allowIncludes)) problems.push(`Allow ${allow ?? "missing"}`);
    }
    const seen = `${response.status} ${String(error?.code)}${allow ? `, Allow: ${allow}` : ""}`;
    if (problems.length === 0) return passed(name, seen);
    return failed(name, `expected ${expected.status} ${expected.code}, got ${problems.join(", ")}`);
  });
}

/** A network failure or timeout is that check's ✘, not the end of the run. */
async function guarded(name: string, run: () => Promise<Check>): Promise<Check> {
  try {
    return await run();
  } catch (error) {
    return requestFailed(name, error);
  }
}

function requestFailed(name: string, error: unknown): Check {
  return failed(name, `request failed: ${(error as Error).message}`);
}

async function jsonOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isExportDocument(body: unknown): body is ExportDocument {
  if (typeof body !== "object" || body === null) return false;
  const doc = body as Record<string, unknown>;
  return (
    typeof doc.exportId === "string" &&
    typeof doc.customerId === "string" &&
    typeof doc.key === "string" &&
    typeof doc.rows === "number" &&
    typeof doc.bytes === "number" &&
    typeof doc.sha256 === "string" &&
    typeof doc.downloadUrl === "string"
  );
}

function describeAnswer(response: Response, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error) return `${response.status} ${String(error.code)}: ${String(error.message)}`;
  return `${response.status}, not the expected document: ${truncate(JSON.stringify(body) ?? "(not JSON)")}`;
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
