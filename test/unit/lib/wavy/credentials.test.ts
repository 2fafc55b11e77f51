import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../../../../lambdas/lib/contract.js";
import { InternalError, WavyNotConfiguredError } from "../../../../lambdas/lib/errors.js";
import { createCredentialCache } from "../../../../lambdas/lib/wavy/credentials.js";

const SECRET_ID = "wavy-sessions/wavy";

describe("the Wavy credential cache", () => {
  const secrets = mockClient(SecretsManagerClient);
  const cache = () =>
    createCredentialCache(
      { kind: "secret", secretId: SECRET_ID },
      { client: new SecretsManagerClient({}), maxAgeSeconds: 0 },
    );

  beforeEach(() => secrets.reset());

  it("tells a secret still holding the stack's placeholder apart as not configured", async () => {
    // Prepare: exactly what the stack's created secret holds before put-secret-value.
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify(SECRET_PLACEHOLDER) });
    // Act
    const outcome = cache().get();
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(WavyNotConfiguredError);
  });

  it.each([
    ["one field filled in", { userName: "", authenticationToken: "t0ken" }],
    ["an extra field", { ...SECRET_PLACEHOLDER, note: "" }],
    ["no fields", {}],
  ])("still calls a secret with %s malformed, not unconfigured", async (_name, value) => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    // Act
    const outcome = cache().get();
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InternalError);
    await expect(cache().get()).rejects.not.toBeInstanceOf(WavyNotConfiguredError);
  });

  it("reads a filled-in secret", async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ userName: "acme", authenticationToken: "t0ken" }),
    });
    // Act
    const credentials = await cache().get();
    // Assess
    expect(credentials).toEqual({ userName: "acme", authenticationToken: "t0ken" });
  });
});
