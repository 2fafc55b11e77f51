import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { STACK_OUTPUT } from "../lambdas/lib/contract.js";
import type { WavySessionsConfig } from "./config.js";
import { CompanionBuilder } from "./constructs/companion-builder.js";
import { DataCatalog } from "./constructs/data-catalog.js";
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

/**
 * The whole product: storage and its data catalog, secret, export API, counter and its
 * schedules, observability.
 */
export class WavySessionsStack extends Stack {
  readonly storage: ExportStorage;
  readonly catalog: DataCatalog;
  readonly secret: WavySecret;
  readonly exportApi: ExportApi;
  readonly worker: ExportWorker;
  readonly counter: SessionCounter;
  readonly observability: Observability;
  readonly companions: CompanionBuilder;

  constructor(scope: Construct, id: string, props: WavySessionsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    // Names that must be unique in an account and region, so that two stacks never share one
    // nor mix their metrics. Dashboards are global to the account, hence the region
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-dashboard.html).
    const { stackName } = config;
    const metricsNamespace = stackName;
    // "/" cannot appear in a stack name, so no other stack's alarms share the prefix.
    const alarmNamePrefix = `${stackName}/`;

    this.storage = new ExportStorage(this, "Storage", {
      retentionDays: config.exportRetentionDays,
      accessLogRetentionDays: Math.max(config.logRetentionDays, 90),
    });
    this.catalog = new DataCatalog(this, "Catalog", {
      bucket: this.storage.bucket,
      retentionDays: config.exportRetentionDays,
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

    this.worker = new ExportWorker(this, "ExportWorker", {
      entry: handlerPath("export-worker"),
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      bus,
      memoryMb: config.exportWorkerMemoryMb,
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      logRetention,
      deadLetterQueue: this.counter.deadLetterQueue,
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

    // Derived data off the request path (docs/contract.md, "Companions"; issue 19 item 3): every
    // Export Succeeded on the bus starts the companion function through a rule of its own.
    this.companions = new CompanionBuilder(this, "Companions", {
      entry: handlerPath("build-companion"),
      storage: this.storage,
      bus,
      timeZone: config.wavyTimezone,
      logRetention,
      metricsNamespace,
    });

    this.observability = new Observability(this, "Observability", {
      alarmNamePrefix,
      dashboardName: `${stackName}-${this.region}`,
      metricsNamespace,
      alarms: config.alarms,
      targets: config.targets,
      alarmPeriodSeconds: config.alarmPeriodSeconds,
      exportFunction: this.exportApi.function,
      counterFunction: this.counter.function,
      api: this.exportApi.api,
      deadLetterQueue: this.counter.deadLetterQueue,
      companionDeadLetterQueue: this.companions.deadLetterQueue,
    });

    // What an operator, `npm run call` and `npm run smoke` need to find everything
    // (docs/deploying.md, "Stack outputs"); `cdk deploy --outputs-file` writes them under the
    // stack's name.
    const outputs: [key: string, value: string, description: string][] = [
      [
        STACK_OUTPUT.apiUrl,
        this.exportApi.api.url,
        "Base URL of the export API (WAVY_SESSIONS_API_URL for npm run call)",
      ],
      [
        STACK_OUTPUT.exportBucketName,
        this.storage.bucket.bucketName,
        "Bucket of the export copies",
      ],
      [
        STACK_OUTPUT.wavySecretId,
        this.secret.secretId,
        "Put the Wavy credentials here (aws secretsmanager put-secret-value)",
      ],
      [STACK_OUTPUT.exportFunctionName, this.exportApi.function.functionName, "Export function"],
      [STACK_OUTPUT.counterFunctionName, this.counter.function.functionName, "Counter function"],
      [
        STACK_OUTPUT.deadLetterQueueUrl,
        this.counter.deadLetterQueue.queueUrl,
        "Counter events that kept failing or could not be delivered, and the export worker's failed or expired invocations",
      ],
      [
        STACK_OUTPUT.scheduleGroupName,
        this.counter.scheduleGroup.scheduleGroupName,
        "The counter's schedules, one per target",
      ],
      [STACK_OUTPUT.alarmNamePrefix, alarmNamePrefix, "Every alarm of this stack is named so"],
      [STACK_OUTPUT.dashboardName, this.observability.dashboard.dashboardName, "The dashboard"],
      [STACK_OUTPUT.metricsNamespace, metricsNamespace, "Namespace of the counter's metrics"],
      [
        STACK_OUTPUT.glueDatabaseName,
        this.catalog.databaseName,
        "Glue database of the raw_exports and sessions tables (README, Querying with Athena)",
      ],
      [
        STACK_OUTPUT.athenaWorkGroupName,
        this.catalog.workGroup.ref,
        "Athena workgroup with the named queries; results under athena-results/",
      ],
      [
        STACK_OUTPUT.exportWorkerFunctionName,
        this.worker.function.functionName,
        "The asynchronous export's worker",
      ],
      [STACK_OUTPUT.eventBusName, bus.eventBusName, "The bus completion events go to"],
      [
        STACK_OUTPUT.companionDeadLetterQueueUrl,
        this.companions.deadLetterQueue.queueUrl,
        "Export Succeeded events whose companion could not be built or delivered (npm run backfill:companions)",
      ],
    ];
    const [firstTarget] = config.targets;
    if (firstTarget)
      outputs.push([
        STACK_OUTPUT.firstTarget,
        // A target is already the counter's event: no subAccountId when there is none.
        JSON.stringify(firstTarget),
        "The first counted target: whom npm run smoke exports and counts",
      ]);
    for (const [key, value, description] of outputs)
      new CfnOutput(this, key, { value, description });
  }
}
