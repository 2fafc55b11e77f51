import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Deadline } from "../../lambdas/lib/clock.js";
import { InternalError } from "../../lambdas/lib/errors.js";
import { requestSessionFileUrl } from "../../lambdas/lib/wavy/client.js";
import { createCredentialCache } from "../../lambdas/lib/wavy/credentials.js";
import { type Harness, startHarness } from "../support/export-harness.js";
import { captureLogs, type LogCapture } from "../support/log-capture.js";

/**
 * Neither the Wavy token nor the user name may appear in any log line, error answer or header,
 * whatever goes wrong. Every line printed during these runs is captured and searched, including
 * runs where an upstream echoes the credentials back in its error (as some APIs do) and where
 * the SDK's or node:http's own error messages carry them.
 */

const USER = "wavy-user-7Q2xLm";
const TOKEN = "wavy-token-K9fZ3pV8sW1";
const OLD_TOKEN = "wavy-token-OLD-4Rt6Yh";
const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";
const SECRET_ID = "wavy/credentials";

const secretString = (userName: string, authenticationToken: string) => ({
  SecretString: JSON.stringify({ userName, authenticationToken }),
});

const FORBIDDEN = [USER, TOKEN, OLD_TOKEN, encodeURIComponent(TOKEN)];

describe("credentials never reach a log line or an answer", () => {
  const secrets = mockClient(SecretsManagerClient);
  let h: Harness;
  let logs: LogCapture;
  let answers: string[] = [];
  let totalLines = 0;

  beforeAll(async () => {
    h = await startHarness({
      wavy: { csvByTarget: { "42": CSV }, userName: USER, authenticationToken: TOKEN },
      deps: {
        // No cache between tests: each one decides what the secret holds.
        credentials: createCredentialCache(
          { kind: "secret", secretId: SECRET_ID },
          { client: new SecretsManagerClient({}), maxAgeSeconds: 0 },
        ),
      },
    });
  });
  afterAll(async () => {
    await h.close();
    // The capture must have seen something, or "nothing leaked" would prove nothing.
    expect(totalLines).toBeGreaterThan(10);
  });
  beforeEach(() => {
    secrets.reset();
    secrets.on(GetSecretValueCommand).resolves(secretString(USER, TOKEN));
    logs = captureLogs();
    answers = [];
  });
  afterEach(async () => {
    logs.restore();
    totalLines += logs.lines.length;
    const printed = `${logs.text()}\n${answers.join("\n")}`;
    for (const secret of FORBIDDEN) expect(printed).not.toContain(secret);
    h.s3.clearFaults();
    h.wavy.requests.length = 0;
    await h.emptyBucket();
  });

  async function post(): Promise<number> {
    const { status, headers, json } = await h.call("POST", "/exports", { customerId: "42" });
    answers.push(JSON.stringify(json), JSON.stringify([...headers]));
    return status;
  }

  it("a successful export", async () => {
    expect(await post()).toBe(201);
  });

  it("a 401, a re-read of the rotated secret, and success", async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce(secretString(USER, OLD_TOKEN))
      .resolves(secretString(USER, TOKEN));
    expect(await post()).toBe(201);
    expect(logs.text()).toContain("401");
  });

  it("a 401 after the refresh too", async () => {
    secrets.on(GetSecretValueCommand).resolves(secretString(USER, OLD_TOKEN));
    expect(await post()).toBe(502);
  });

  it.each([
    ["not JSON", { SecretString: `${USER}:${TOKEN}` }],
    ["JSON without the token", { SecretString: JSON.stringify({ userName: USER, token: TOKEN }) }],
    [
      "an empty user name",
      { SecretString: JSON.stringify({ userName: "", authenticationToken: TOKEN }) },
    ],
    [
      "binary",
      { SecretBinary: Buffer.from(JSON.stringify({ userName: USER, authenticationToken: TOKEN })) },
    ],
  ])("a malformed secret: %s", async (_name, value) => {
    secrets.on(GetSecretValueCommand).resolves(value);
    expect(await post()).toBe(500);
    expect(logs.text()).toMatch(/malformed/);
  });

  it("Secrets Manager failing with an error whose message quotes the secret", async () => {
    secrets.on(GetSecretValueCommand).rejects(
      Object.assign(new Error(`Decryption failed for ${USER} / ${TOKEN}`), {
        name: "DecryptionFailure",
      }),
    );
    expect(await post()).toBe(500);
  });

  it("Wavy echoing the credentials in its error answer", async () => {
    h.wavy.replySession({
      status: 403,
      body: JSON.stringify({ error: `user ${USER} with token ${TOKEN} may not do this` }),
      headers: { "x-echo-token": TOKEN },
    });
    expect(await post()).toBe(502);
  });

  it("Wavy echoing the credentials in a 200 that is not an answer", async () => {
    h.wavy.replySession({ status: 200, body: `<html>${USER} ${TOKEN}</html>` });
    expect(await post()).toBe(502);
  });

  it("network errors: Wavy drops the connection, then the CSV host does", async () => {
    h.wavy.replySession({ destroy: true }, { destroy: true }, { destroy: true });
    expect(await post()).toBe(502);
    h.wavy.linkTo(h.wavy.serveFile((req) => req.socket.destroy()));
    expect(await post()).toBe(502);
  });

  it("a CSV link that carries the credentials as userinfo and query", async () => {
    const link = new URL(h.wavy.serveFile((_req, res) => res.writeHead(200).end(CSV)));
    link.username = USER;
    link.password = TOKEN;
    h.wavy.linkTo(link.href);
    expect(await post()).toBe(502);
    const query = new URL(h.wavy.serveFile((_req, res) => res.writeHead(404).end()));
    query.searchParams.set("token", TOKEN);
    h.wavy.linkTo(query.href);
    expect(await post()).toBe(502);
  });

  it("S3 faults: a refused upload and a dropped connection", async () => {
    h.s3.injectFault((req) => (req.method === "PUT" ? 500 : undefined));
    expect(await post()).toBe(500);
    h.s3.clearFaults();
    h.s3.injectFault((req) => (req.method === "PUT" ? "destroy" : undefined));
    expect(await post()).toBe(500);
  });

  it("a credential that is not a valid header value is a malformed secret, not a network error", async () => {
    // Before the secret's shape was checked for control characters, undici refused to send it,
    // the client took that for a network error, and Wavy "could not be reached" after retries.
    secrets.on(GetSecretValueCommand).resolves(secretString(USER, `${TOKEN}\r\nx-injected: 1`));
    expect(await post()).toBe(500);
    expect(logs.text()).toMatch(/malformed/);
    expect(h.wavy.requests).toHaveLength(0);
  });

  it("a header value node:http refuses to send is an internal error, not a retried network one", async () => {
    // Behind the shape check, in case a credential ever reaches the client some other way:
    // node:http throws ERR_INVALID_CHAR synchronously; the client must not crash or retry.
    const injected = { userName: USER, authenticationToken: `${TOKEN}\r\nx-injected: 1` };
    const failure = requestSessionFileUrl(
      { customerId: "42", subAccountId: null },
      {
        apiUrl: new URL(h.wavy.baseUrl),
        credentials: { get: async () => injected, refresh: async () => injected },
        deadline: new Deadline(2000),
      },
    );
    await expect(failure).rejects.toBeInstanceOf(InternalError);
    await expect(failure).rejects.toThrow(/could not be built/);
    expect(logs.text()).toMatch(/ERR_INVALID_CHAR/);
    expect(h.wavy.requests).toHaveLength(0);
  });
});
