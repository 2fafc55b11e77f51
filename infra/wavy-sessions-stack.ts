import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { WavySessionsConfig } from "./config.js";
import { ExportApi } from "./constructs/export-api.js";
import { ExportStorage } from "./constructs/export-storage.js";
import { ExportWorker } from "./constructs/export-worker.js";
import { Observability } from "./constructs/observability.js";
import { SessionCounter } from "./constructs/session-counter.js";
import { WavySecret } from "./constructs/wavy-secret.js";

const handlerPath = (name: string) =>
  fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));

export interface WavySessionsStackProps extends StackProps {
  readonly config: WavySessionsConfig;
}

/** The whole product: storage, secret, export API, counter and its schedules, observability. */
export class WavySessionsStack extends Stack {
  readonly storage: ExportStorage;
  readonly secret: WavySecret;
  readonly exportApi: ExportApi;
  readonly worker: ExportWorker;
  readonly counter: SessionCounter;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: WavySessionsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    // Names that must be unique in an account and region, so that two stacks never share one
    // nor mix their metrics. Dashboards are global to the account, hence the region
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-dashboard.html).
    const { stackName } = config;
    const metricsNamespace = stackName;

    this.storage = new ExportStorage(this, "Storage", {
      retentionDays: config.exportRetentionDays,
      accessLogRetentionDays: Math.max(config.logRetentionDays, 90),
    });
    this.secret = new WavySecret(this, "WavySecret", { source: config.secret });

    // What both handlers read (docs/contract.md, "Configuration").
    const wavyEnvironment = {
      WAVY_SECRET_ID: this.secret.secretId,
      WAVY_API_URL: config.wavyApiUrl,
      WAVY_DOWNLOAD_ORIGINS: config.downloadOrigins,
      WAVY_TIMEZONE: config.wavyTimezone,
      POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
    };

    // The bus completion events go to (docs/contract.md, "Events"): the account's default bus
    // unless -c eventBusName names another; the functions may put events on it only.
    const bus = events.EventBus.fromEventBusName(this, "CompletionEvents", config.eventBusName);

    this.worker = new ExportWorker(this, "ExportWorker", {
      entry: handlerPath("export-worker"),
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      bus,
      memoryMb: config.exportWorkerMemoryMb,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      logRetention,
    });

    this.exportApi = new ExportApi(this, "Export", {
      entry: handlerPath("export-sessions"),
      restApiName: stackName,
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      memoryMb: config.exportMemoryMb,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      logRetention,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
      worker: this.worker.function,
      bus,
    });

    this.counter = new SessionCounter(this, "Counter", {
      entry: handlerPath("count-sessions"),
      scheduleGroupName: `${stackName}-counter`,
      secret: this.secret,
      wavyEnvironment,
      targets: config.targets,
      scheduleExpression: config.scheduleExpression,
      flexibleWindowMinutes: config.scheduleFlexibleWindowMinutes,
      memoryMb: config.counterMemoryMb,
      reservedConcurrency: config.counterReservedConcurrency,
      logRetention,
      storage: this.storage,
      bus,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
    });

    this.observability = new Observability(this, "Observability", {
      // "/" cannot appear in a stack name, so no other stack's alarms share the prefix.
      alarmNamePrefix: `${stackName}/`,
      dashboardName: `${stackName}-${this.region}`,
      metricsNamespace,
      alarms: config.alarms,
      targets: config.targets,
      alarmPeriodSeconds: config.alarmPeriodSeconds,
      exportFunction: this.exportApi.function,
      counterFunction: this.counter.function,
      api: this.exportApi.api,
      deadLetterQueue: this.counter.deadLetterQueue,
    });

    new CfnOutput(this, "ApiUrl", {
      description: "Base URL of the export API (WAVY_SESSIONS_API_URL for npm run call)",
      value: this.exportApi.api.url,
    });
    new CfnOutput(this, "ExportBucketName", { value: this.storage.bucket.bucketName });
    new CfnOutput(this, "WavySecretId", {
      description: "Put the Wavy credentials here (aws secretsmanager put-secret-value)",
      value: this.secret.secretId,
    });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.counter.deadLetterQueue.queueUrl });
    new CfnOutput(this, "ExportWorkerFunctionName", { value: this.worker.function.functionName });
    new CfnOutput(this, "ExportWorkerFailuresQueueUrl", {
      description: "Failed or expired invocations of the export worker",
      value: this.worker.failures.queueUrl,
    });
    new CfnOutput(this, "EventBusName", { value: bus.eventBusName });
    new CfnOutput(this, "DashboardName", { value: this.observability.dashboard.dashboardName });
  }
}
