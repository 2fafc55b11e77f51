/**
 * The account, region and physical names the tests' AWS calls use, and which the IAM
 * evaluation (test/iam) gives the synthesised stack's resources, so a recorded call's ARN and a
 * policy's resolved ARN speak of the same thing.
 */
export const TEST_ACCOUNT = "123456789012";
export const TEST_REGION = "us-east-1";
/** A Secrets Manager ARN ends in `-` and six random characters. */
export const TEST_SECRET_ARN = `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:wavy-sessions/wavy-AbCdEf`;

/** The export worker's function name in the tests (the harness's Lambda stand-in serves it). */
export const TEST_WORKER_FUNCTION = "export-worker";
