import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { InternalError } from "../../../../lambdas/lib/errors.js";
import { createCredentialCache } from "../../../../lambdas/lib/wavy/credentials.js";

const secrets = mockClient(SecretsManagerClient);
const GOOD = { userName: "user", authenticationToken: "token" };
const good = { SecretString: JSON.stringify(GOOD) };
/** What the stack's placeholder holds until the operator fills it in. */
const placeholder = { SecretString: JSON.stringify({ userName: "", authenticationToken: "" }) };

function cache() {
  return createCredentialCache(
    { kind: "secret", secretId: "wavy/credentials" },
    { client: new SecretsManagerClient({ region: "us-east-1" }) },
  );
}

describe("the credential cache", () => {
  beforeEach(() => {
    secrets.reset();
  });

  it("keeps a secret that parsed for the next requests", async () => {
    secrets.on(GetSecretValueCommand).resolves(good);
    const credentials = cache();

    expect(await credentials.get()).toEqual(GOOD);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("does not keep a malformed secret: once it is filled in, the next request reads it", async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce(placeholder).resolves(good);
    const credentials = cache();

    await expect(credentials.get()).rejects.toBeInstanceOf(InternalError);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("drops a kept secret when a refresh reads a malformed one", async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce(good).resolvesOnce(placeholder).resolves(good);
    const credentials = cache();

    await credentials.get();
    await expect(credentials.refresh()).rejects.toBeInstanceOf(InternalError);
    expect(await credentials.get()).toEqual(GOOD);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });
});
