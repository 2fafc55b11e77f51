import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { WavySessionsConfig } from "./config.js";
import { DataCatalog } from "./constructs/data-catalog.js";
import { ExportApi } from "./constructs/export-api.js";
import { ExportStorage } from "./constructs/export-storage.js";
import { METRICS_NAMESPACE, Observability } from "./constructs/observability.js";
import { COUNTER_SERVICE_NAME, SessionCounter } from "./constructs/session-counter.js";
import { WavySecret } from "./constructs/wavy-secret.js";

const handlerPath = (name: string) =>
  fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));

export interface WavySessionsStackProps extends StackProps {
  readonly config: WavySessionsConfig;
}

/**
 * The whole product: storage and its data catalog, secret, export API, counter and its
 * schedules, observability.
 */
export class WavySessionsStack extends Stack {
  readonly storage: ExportStorage;
  readonly catalog: DataCatalog;
  readonly secret: WavySecret;
  readonly exportApi: ExportApi;
  readonly counter: SessionCounter;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: WavySessionsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.storage = new ExportStorage(this, "Storage", {
      retentionDays: config.exportRetentionDays,
      accessLogRetentionDays: Math.max(config.logRetentionDays, 90),
    });
    this.catalog = new DataCatalog(this, "Catalog", {
      bucket: this.storage.bucket,
      retentionDays: config.exportRetentionDays,
    });
    this.secret = new WavySecret(this, "WavySecret", { source: config.secret });

    // What both handlers read (DESIGN.md, "Configuration").
    const wavyEnvironment = {
      WAVY_SECRET_ID: this.secret.secretId,
      WAVY_API_URL: config.wavyApiUrl,
      WAVY_DOWNLOAD_ORIGINS: config.downloadOrigins,
      WAVY_TIMEZONE: config.wavyTimezone,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };

    this.exportApi = new ExportApi(this, "Export", {
      entry: handlerPath("export-sessions"),
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      memoryMb: config.exportMemoryMb,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      logRetention,
      throttleRateLimit: config.apiThrottleRateLimit,
      throttleBurstLimit: config.apiThrottleBurstLimit,
    });

    this.counter = new SessionCounter(this, "Counter", {
      entry: handlerPath("count-sessions"),
      secret: this.secret,
      wavyEnvironment,
      targets: config.targets,
      scheduleExpression: config.scheduleExpression,
      flexibleWindowMinutes: config.scheduleFlexibleWindowMinutes,
      memoryMb: config.counterMemoryMb,
      reservedConcurrency: config.counterReservedConcurrency,
      logRetention,
    });

    this.observability = new Observability(this, "Observability", {
      alarms: config.alarms,
      targets: config.targets,
      schedulePeriodSeconds: config.schedulePeriodSeconds,
      counterServiceName: COUNTER_SERVICE_NAME,
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
    new CfnOutput(this, "GlueDatabaseName", { value: this.catalog.databaseName });
    new CfnOutput(this, "AthenaWorkGroupName", { value: this.catalog.workGroup.ref });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.counter.deadLetterQueue.queueUrl });
    new CfnOutput(this, "DashboardName", { value: this.observability.dashboard.dashboardName });
  }
}
