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

describe("what the credential cache keeps", () => {
  const secrets = mockClient(SecretsManagerClient);
  const GOOD = { userName: "user", authenticationToken: "token" };
  const good = { SecretString: JSON.stringify(GOOD) };
  const placeholder = { SecretString: JSON.stringify(SECRET_PLACEHOLDER) };
  const malformed = { SecretString: JSON.stringify({ userName: "user" }) };
  // The default maxAge (300 s): these tests are about what is cached.
  const cache = () =>
    createCredentialCache(
      { kind: "secret", secretId: SECRET_ID },
      { client: new SecretsManagerClient({ region: "us-east-1" }) },
    );

  beforeEach(() => secrets.reset());

  it("keeps a secret that parsed for the next requests", async () => {
    secrets.on(GetSecretValueCommand).resolves(good);
    const credentials = cache();

    expect(await credentials.get()).toEqual(GOOD);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    ["the stack's placeholder", placeholder],
    ["a malformed secret", malformed],
  ])("does not keep %s: once it is filled in, the next request reads it", async (_n, first) => {
    secrets.on(GetSecretValueCommand).resolvesOnce(first).resolves(good);
    const credentials = cache();

    await expect(credentials.get()).rejects.toBeInstanceOf(InternalError);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("drops a kept secret when a refresh reads a malformed one", async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce(good).resolvesOnce(malformed).resolves(good);
    const credentials = cache();

    await credentials.get();
    await expect(credentials.refresh()).rejects.toBeInstanceOf(InternalError);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });
});
