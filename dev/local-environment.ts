import { SANDBOX_CREDENTIALS } from "./wavy-sandbox.js";

/**
 * The environment the handlers read (as the stack sets it in Lambda) for a local run against a
 * local S3-protocol server and, when given, the Wavy sandbox instead of the real Wavy.
 */
export function localEnvironment(options: {
  s3Endpoint: string;
  bucket: string;
  sandboxUrl?: string;
}): Record<string, string> {
  return {
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_S3: options.s3Endpoint,
    // s3rver stores the SDK's aws-chunked checksum trailers verbatim: send plain bodies.
    AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
    AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    S3_FORCE_PATH_STYLE: "true",
    EXPORT_BUCKET: options.bucket,
    ...(options.sandboxUrl !== undefined && {
      WAVY_API_URL: options.sandboxUrl,
      WAVY_DOWNLOAD_ORIGINS: options.sandboxUrl,
      WAVY_USER_NAME: SANDBOX_CREDENTIALS.userName,
      WAVY_AUTH_TOKEN: SANDBOX_CREDENTIALS.authenticationToken,
    }),
  };
}
