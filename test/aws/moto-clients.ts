import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type Credentials, type MotoWorld, REGION } from "./moto-world.js";

/** SDK clients pointed at moto, signing with the given role's (or the admin's) credentials. */
export function motoClients(world: MotoWorld, credentials: Credentials) {
  const options = { endpoint: world.endpoint, region: REGION, credentials };
  return {
    s3: new S3Client({ ...options, forcePathStyle: true }),
    secrets: new SecretsManagerClient(options),
    sqs: new SQSClient(options),
  };
}

/**
 * Runs `read` with moto's authentication paused. moto 5 cannot authorise a query-string-signed
 * (presigned) request with IAM enforcement on: it reads the Authorization header such a request
 * does not have and answers 500. The signer's permission is checked by test/iam (the presigned
 * GetObject is recorded when signed) and the signature by s3rver in the integration suite; here
 * moto proves the URL addresses the stored object and serves its exact bytes.
 */
export async function withoutAuth<T>(world: MotoWorld, read: () => Promise<T>): Promise<T> {
  const reset = (count: string) =>
    fetch(`${world.endpoint}/moto-api/reset-auth`, { method: "POST", body: count });
  await reset("inf");
  try {
    return await read();
  } finally {
    await reset("0");
  }
}
