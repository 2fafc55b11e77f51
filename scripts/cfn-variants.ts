import { MAX_TARGETS } from "../infra/config.js";

/**
 * The deployments whose synthesised templates `npm run lint:cfn` lints and the infra tests put
 * through cdk-nag: each switches on a different part of the stack (issue 9's list: default,
 * targets with alarmEmail, an imported secret with its KMS key, the most targets), plus a cron
 * schedule on a named secret under another stack name, the live windows' origins and a webhook
 * token rotation, and a throwaway deployment (issue 22).
 */
const TARGETS = [
  { customerId: "42" },
  { customerId: "42", subAccountId: "7" },
  { customerId: "900000000000000001", subAccountId: "123" },
];
const SECRET_ARN = "arn:aws:secretsmanager:sa-east-1:123456789012:secret:wavy/prod-AbCdEf";
const KEY_ARN = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

export const CFN_VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  "targets-and-alarm-email": { targets: TARGETS, alarmEmail: "ops@example.com" },
  "imported-secret-kms-key-and-topic": {
    targets: TARGETS,
    wavySecretArn: SECRET_ARN,
    wavySecretKmsKeyArn: KEY_ARN,
    alarmTopicArn: "arn:aws:sns:sa-east-1:123456789012:ops",
  },
  "cron-named-secret-other-stack-name": {
    stackName: "WavySessionsCron",
    targets: TARGETS,
    wavySecretName: "wavy/prod",
    wavySecretKmsKeyArn: KEY_ARN,
    scheduleExpression: "cron(0/30 8-20 ? * MON-FRI *)",
    alarmPeriodMinutes: 720,
    counterReservedConcurrency: 2,
  },
  // A throwaway deployment: every DeletionPolicy Delete, the buckets' auto-delete custom resource.
  "throwaway-retain-false": { targets: TARGETS, retain: "false" },
  // Live windows (issue 20): origins in the schedules' input, a longer window retention, and a
  // webhook token mid-rotation (both versions' routes).
  "origins-and-token-rotation": {
    targets: [
      { customerId: "42", origins: ["5511999990000", "551133334444"] },
      { customerId: "42", subAccountId: "7", origins: ["5521988887777"] },
    ],
    windowRetentionDays: 30,
    webhookTokenVersion: 2,
    webhookAcceptPreviousToken: true,
    alarmEmail: "ops@example.com",
  },
  // Window intelligence (issue 21): the closing-notice sweeper and its schedule group, the
  // rejected-sends alarms, a CsvZoneMismatch alarm per target with origins.
  "closing-notices-and-rejected-sends-alarm": {
    targets: [
      { customerId: "42", origins: ["5511999990000", "551133334444"] },
      { customerId: "43", origins: ["5521988887777"] },
    ],
    closingNotices: { "5511999990000": 60, "5521988887777": 30 },
    rejectedSendsAlarmThreshold: 10,
    alarmEmail: "ops@example.com",
  },
  [`${MAX_TARGETS}-targets`]: {
    targets: Array.from({ length: MAX_TARGETS }, (_, i) => ({ customerId: String(i + 1) })),
    alarmEmail: "ops@example.com",
  },
};
