/**
 * Calls the deployed export API with a SigV4-signed request (every route is AWS_IAM).
 *
 *   npm run call -- POST /exports '{"customerId": "42", "subAccountId": "7"}'
 *   npm run call -- -H 'Idempotency-Key: nightly-42' POST /exports '{"customerId": "42"}'
 *   npm run call -- GET /exports/<exportId>
 *   npm run call -- GET '/v1/session?customerId=42'
 *
 * Base URL: --url, else WAVY_SESSIONS_API_URL, else the ApiUrl output in cdk-outputs.json (written
 * by `npx cdk deploy --outputs-file cdk-outputs.json`). Credentials: the default provider chain
 * (AWS_PROFILE, environment, SSO, instance role...). Prints the status, then the JSON body.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { regionOfApiUrl, routeUrl, signedFetch } from "./signed-fetch.js";

const USAGE = `usage: npm run call -- [--url <base URL>] [--region <region>] [-H 'Name: value']... <GET|POST> <path> [JSON body]
  e.g. npm run call -- POST /exports '{"customerId": "42"}'
       npm run call -- -H 'Idempotency-Key: nightly-42' POST /exports '{"customerId": "42"}'`;

/** An HTTP field name (RFC 9110 §5.1: a token), then a colon, then its value. */
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/** Headers the signature itself sets: sent by the user they would break it, so they are refused. */
function isSignatureHeader(name: string): boolean {
  return ["host", "authorization", "content-length"].includes(name) || name.startsWith("x-amz-");
}

/** `-H 'Name: value'` options, as curl takes them, as lowercase names and their values. */
function extraHeaders(options: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const option of options) {
    const match = HEADER.exec(option);
    if (!match) fail(`-H takes 'Name: value', got ${JSON.stringify(option)}\n${USAGE}`);
    const name = (match[1] ?? "").toLowerCase();
    if (isSignatureHeader(name)) fail(`-H cannot set ${name}: the SigV4 signature sets it`);
    headers[name] = match[2] ?? "";
  }
  return headers;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function baseUrlFromOutputs(): string | undefined {
  const file = "cdk-outputs.json";
  if (!existsSync(file)) return undefined;
  const outputs = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
  return Object.values(outputs).find((stack) => stack.ApiUrl)?.ApiUrl;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string" },
      region: { type: "string" },
      header: { type: "string", short: "H", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const [methodArg, pathArg, body] = positionals;
  if (!methodArg || !pathArg || positionals.length > 3) fail(USAGE);
  const method = methodArg.toUpperCase();

  const base = values.url ?? process.env.WAVY_SESSIONS_API_URL ?? baseUrlFromOutputs();
  if (!base)
    fail(
      "No API URL: pass --url, set WAVY_SESSIONS_API_URL, or deploy with --outputs-file cdk-outputs.json",
    );
  if (body !== undefined) {
    try {
      JSON.parse(body);
    } catch {
      fail(`The body is not JSON: ${body}`);
    }
  }

  const url = routeUrl(base, pathArg);
  const region = values.region ?? regionOfApiUrl(url) ?? process.env.AWS_REGION;
  if (!region) fail("Cannot tell the region from the URL: pass --region");

  const headers: Record<string, string> = {
    accept: "application/json",
    ...extraHeaders(values.header ?? []),
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await signedFetch(
    url,
    { method, headers, body },
    { region, credentials: defaultProvider() },
  );
  const text = await response.text();
  console.log(`HTTP ${response.status} ${response.statusText}`);
  const retryAfter = response.headers.get("retry-after");
  if (retryAfter) console.log(`Retry-After: ${retryAfter}`);
  try {
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    console.log(text);
  }
  if (!response.ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
