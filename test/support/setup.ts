import { beforeEach, vi } from "vitest";

// Never real AWS: fixed fake credentials and region for every SDK client the tests build.
process.env.AWS_REGION ??= "us-east-1";
process.env.AWS_ACCESS_KEY_ID ??= "S3RVER";
process.env.AWS_SECRET_ACCESS_KEY ??= "S3RVER";
// s3rver stores aws-chunked checksum trailers verbatim; ask the SDK for plain bodies.
process.env.AWS_REQUEST_CHECKSUM_CALCULATION ??= "WHEN_REQUIRED";
process.env.AWS_RESPONSE_CHECKSUM_VALIDATION ??= "WHEN_REQUIRED";
// Powertools writes through the global console in dev mode, so tests can capture it.
process.env.POWERTOOLS_DEV = "true";
process.env.POWERTOOLS_METRICS_NAMESPACE ??= "WavySessions";

// Quiet by default; a test that checks logs spies on console itself.
beforeEach(() => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation(() => {});
  }
});
