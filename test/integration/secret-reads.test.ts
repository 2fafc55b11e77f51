import { Readable } from "node:stream";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type HttpHandler, type HttpRequest, HttpResponse } from "@smithy/core/protocols";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext } from "../../dev/lambda-context.js";
import { WavySimulator } from "../../dev/wavy-simulator.js";
import { handleCount } from "../../lambdas/count-sessions/handler.js";
import { loadWavyConfig } from "../../lambdas/lib/config.js";
import { createCredentialCache } from "../../lambdas/lib/wavy/credentials.js";
import { type FunctionRole, recordAwsCalls } from "../support/aws-call-recorder.js";
import { TEST_REGION, TEST_SECRET_ARN } from "../support/aws-names.js";
import { type Harness, startHarness } from "../support/export-harness.js";

/**
 * Both functions reading the Wavy secret through a real Secrets Manager client: the SDK
 * serialises, signs and parses GetSecretValue, and only the transport is canned. The other
 * suites mock the client's `send` (aws-sdk-client-mock), which the call recorder cannot see;
 * these calls are what test/iam evaluates GetSecretValue from. The same path against a real
 * Secrets Manager API is test/aws (moto).
 */

const CSV = "source;session_created_at\n5511987654321;2026-11-28 09:15:42\n";

interface SecretStore {
  value: { userName: string; authenticationToken: string };
  reads: string[];
}

/** Answers GetSecretValue (JSON 1.1 protocol) from `store`, as Secrets Manager would. */
function cannedSecretsManager(store: SecretStore): HttpHandler {
  return {
    handle: async (request: HttpRequest) => {
      const target = String(request.headers["x-amz-target"]);
      const { SecretId } = JSON.parse(String(request.body)) as { SecretId: string };
      store.reads.push(`${target} ${SecretId}`);
      const body = JSON.stringify({
        ARN: TEST_SECRET_ARN,
        Name: "wavy-sessions/wavy",
        SecretString: JSON.stringify(store.value),
        VersionId: "00000000-0000-4000-8000-000000000000",
      });
      return {
        response: new HttpResponse({
          statusCode: 200,
          headers: { "content-type": "application/x-amz-json-1.1" },
          body: Readable.from([Buffer.from(body)]),
        }),
      };
    },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
  } as HttpHandler;
}

function secretsClient(store: SecretStore, role: FunctionRole): SecretsManagerClient {
  return recordAwsCalls(
    new SecretsManagerClient({
      region: TEST_REGION,
      endpoint: "https://secretsmanager.us-east-1.amazonaws.com",
      requestHandler: cannedSecretsManager(store),
    }),
    role,
  );
}

describe("the export function reading the Wavy secret", () => {
  let h: Harness;
  const store: SecretStore = {
    value: { userName: "old-user", authenticationToken: "old-token" },
    reads: [],
  };

  beforeAll(async () => {
    h = await startHarness({
      wavy: {
        csvByTarget: { "42": CSV },
        userName: "rotated-user",
        authenticationToken: "rotated-token",
      },
      deps: {
        credentials: createCredentialCache(
          { kind: "secret", secretId: TEST_SECRET_ARN },
          { client: secretsClient(store, "export") },
        ),
      },
    });
  });
  afterAll(() => h.close());

  it("re-reads a rotated secret after Wavy's 401 and exports with it", async () => {
    // The first read is stale; by the time Wavy refuses it, the secret has been rotated.
    const first = store.value;
    h.wavy.replySession({ status: 401, body: "{}" });
    setImmediate(() => {
      store.value = { userName: "rotated-user", authenticationToken: "rotated-token" };
    });

    const { status } = await h.call("POST", "/exports", { customerId: "42" });

    expect(first.userName).toBe("old-user");
    expect(status).toBe(201);
    expect(store.reads).toEqual([
      `secretsmanager.GetSecretValue ${TEST_SECRET_ARN}`,
      `secretsmanager.GetSecretValue ${TEST_SECRET_ARN}`,
    ]);
    expect(h.wavy.sessionCalls().at(-1)?.headers.authenticationtoken).toBe("rotated-token");
  });
});

describe("the counter reading the Wavy secret", () => {
  let wavy: WavySimulator;
  const store: SecretStore = {
    value: { userName: "sim-user", authenticationToken: "sim-token-0123456789" },
    reads: [],
  };

  beforeAll(async () => {
    wavy = await new WavySimulator({ csvByTarget: { "42": CSV } }).start();
  });
  afterAll(() => wavy.stop());

  it("counts with the credentials it read from Secrets Manager", async () => {
    const config = loadWavyConfig({
      WAVY_SECRET_ID: TEST_SECRET_ARN,
      WAVY_API_URL: wavy.baseUrl,
      WAVY_DOWNLOAD_ORIGINS: wavy.baseUrl,
    });
    const count = handleCount(() => ({
      config,
      credentials: createCredentialCache(config.credentials, {
        client: secretsClient(store, "counter"),
      }),
    }));

    const result = await count({ customerId: "42" }, lambdaContext("count-sessions"));

    expect(result).toMatchObject({ openSessions: 1 });
    expect(store.reads).toEqual([`secretsmanager.GetSecretValue ${TEST_SECRET_ARN}`]);
    expect(wavy.sessionCalls()[0]?.headers.username).toBe("sim-user");
  });
});
