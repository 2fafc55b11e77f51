import { fileURLToPath } from "node:url";
import { CfnOutput, CfnResource, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import type { Construct } from "constructs";
import { STACK_OUTPUT, WEBHOOK_KIND, WINDOW_SERVICE_NAME } from "../lambdas/lib/contract.js";
import { ConfigError, type WavySessionsConfig } from "./config.js";
import { ClosingNotices } from "./constructs/closing-notices.js";
import { CompanionBuilder } from "./constructs/companion-builder.js";
import { DataCatalog } from "./constructs/data-catalog.js";
import { DeadLetterQueue } from "./constructs/dead-letter-queue.js";
import { ExportApi } from "./constructs/export-api.js";
import { ExportStorage } from "./constructs/export-storage.js";
import { ExportSweeper } from "./constructs/export-sweeper.js";
import { ExportWorker } from "./constructs/export-worker.js";
import { Observability } from "./constructs/observability.js";
import { SessionCounter } from "./constructs/session-counter.js";
import { WavySecret } from "./constructs/wavy-secret.js";
import { TOKEN_PLACEHOLDER, WebhookIngest } from "./constructs/webhook-ingest.js";
import { WindowIntelligenceAlarms } from "./constructs/window-intelligence-alarms.js";
import { addWindowIntelligenceWidgets } from "./constructs/window-intelligence-widgets.js";
import { WINDOW_PROCESSOR_TIMEOUT, WindowProcessor } from "./constructs/window-processor.js";
import { WindowsLookup } from "./constructs/windows-lookup.js";
import { WindowsMonitoring } from "./constructs/windows-monitoring.js";
import { WindowsTable } from "./constructs/windows-table.js";

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
  readonly deadLetters: DeadLetterQueue;
  readonly exportApi: ExportApi;
  readonly worker: ExportWorker;
  readonly sweeper: ExportSweeper;
  readonly counter: SessionCounter;
  readonly observability: Observability;
  readonly companions: CompanionBuilder;
  // Live windows (issue 20).
  readonly windowsTable: WindowsTable;
  readonly webhooks: WebhookIngest;
  readonly windowProcessor: WindowProcessor;
  readonly windowsLookup: WindowsLookup;
  readonly windowsMonitoring: WindowsMonitoring;
  /** Issue 21: the closing-notice sweeper, when `closingNotices` names an origin. */
  readonly closingNotices?: ClosingNotices;
  readonly intelligenceAlarms: WindowIntelligenceAlarms;

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
      downloadUrlTtlSeconds: config.downloadUrlTtlSeconds,
      retain: config.retain,
    });
    this.catalog = new DataCatalog(this, "Catalog", {
      bucket: this.storage.bucket,
      retentionDays: config.exportRetentionDays,
      // The ids they had as L1 resources, so a deployed stack keeps its database and tables.
      logicalIds: {
        database: "CatalogDatabaseE63956BB",
        rawTable: "CatalogRawExportsTable702494A0",
        sessionsTable: "CatalogSessionsTableBDAA9B95",
      },
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

    this.deadLetters = new DeadLetterQueue(this, "DeadLetters", {
      receives:
        "the counter's schedules and async invocations and the export worker's async invocations",
      // The id it had when the counter owned it, so a deployed stack keeps its queue.
      logicalId: "CounterDeadLettersF09C4BAD",
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
      deadLetterQueue: this.deadLetters.queue,
    });

    this.worker = new ExportWorker(this, "ExportWorker", {
      entry: handlerPath("export-worker"),
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      bus,
      memoryMb: config.exportWorkerMemoryMb,
      logRetention,
      deadLetterQueue: this.deadLetters.queue,
    });

    // Issue 19: the running exports past their deadlineAt are settled every 5 minutes by the
    // worker (docs/contract.md, "The export lifecycle"), so Export Failed needs no reader.
    this.sweeper = new ExportSweeper(this, "ExportSweeper", {
      worker: this.worker.function,
      storage: this.storage,
      scheduleGroupName: `${stackName}-sweeper`,
      deadLetterQueue: this.counter.deadLetterQueue,
    });

    this.exportApi = new ExportApi(this, "Export", {
      entry: handlerPath("export-sessions"),
      restApiName: stackName,
      storage: this.storage,
      secret: this.secret,
      wavyEnvironment,
      memoryMb: config.exportMemoryMb,
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
      deadLetterQueue: this.deadLetters.queue,
      companionDeadLetterQueue: this.companions.deadLetterQueue,
    });

    // ---- Live windows (issue 20; docs/contract.md, "Live windows", "Webhooks (deployed)") ----
    this.windowsTable = new WindowsTable(this, "Windows");
    this.webhooks = new WebhookIngest(this, "Webhooks", {
      restApiName: `${stackName}-webhooks`,
      consumerTimeout: WINDOW_PROCESSOR_TIMEOUT,
      throttleRateLimit: config.webhookThrottleRateLimit,
      throttleBurstLimit: config.webhookThrottleBurstLimit,
      tokenVersion: config.webhookTokenVersion,
      acceptPreviousToken: config.webhookAcceptPreviousToken,
      logRetention,
      // The account's CloudWatch Logs role, which the export API's RestApi sets.
      accountSettings: this.exportApi.api.node.tryFindChild("Account"),
    });
    this.windowProcessor = new WindowProcessor(this, "WindowEvents", {
      entry: handlerPath("window-events"),
      queue: this.webhooks.queue,
      table: this.windowsTable,
      storage: this.storage,
      metricsNamespace,
      windowRetentionDays: config.windowRetentionDays,
      memoryMb: 256,
      logRetention,
      bus,
      targets: config.targets,
    });
    this.windowsLookup = new WindowsLookup(this, "WindowsApi", {
      entry: handlerPath("windows-api"),
      api: this.exportApi.api,
      table: this.windowsTable,
      metricsNamespace,
      memoryMb: 256,
      logRetention,
    });
    // The counter counts OpenWindows of its target's origins (the schedule input carries them).
    this.counter.function.addEnvironment("WINDOWS_TABLE_NAME", this.windowsTable.table.tableName);
    this.windowsTable.grantQueryClosingIndex(this.counter.function);
    // Issue 21 (docs/contract.md, "Snapshots reconciled"): the counter adds the windows the
    // webhook missed, by the same conditional UpdateItem as the processor's, on the table's ARN
    // only (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html),
    // and gives them the processor's TTL.
    this.windowsTable.grantItems(this.counter.function, ["dynamodb:UpdateItem"]);
    this.counter.function.addEnvironment(
      "WINDOW_RETENTION_DAYS",
      String(config.windowRetentionDays),
    );
    this.windowsMonitoring = new WindowsMonitoring(this, "WindowsMonitoring", {
      dashboard: this.observability.dashboard,
      topic: this.observability.topic,
      alarmNamePrefix,
      metrics: this.observability.metrics,
      webhookApi: this.webhooks.api,
      queue: this.webhooks.queue,
      deadLetterQueue: this.webhooks.deadLetterQueue,
      processor: this.windowProcessor.function,
      periodSeconds: config.alarmPeriodSeconds,
    });

    // ---- Window intelligence (issue 21; docs/contract.md, "Window intelligence") ----
    if (Object.keys(config.closingNotices).length > 0) {
      this.closingNotices = new ClosingNotices(this, "ClosingNotices", {
        entry: handlerPath("closing-notices"),
        table: this.windowsTable.table,
        bus,
        settings: config.closingNotices,
        logRetention,
        environment: { POWERTOOLS_METRICS_NAMESPACE: metricsNamespace },
        // Its own group, named after the stack (at most 56 + 8 of the 64 characters allowed),
        // so its Scheduler role trusts this group's ARN only.
        scheduleGroup: new scheduler.ScheduleGroup(this, "ClosingNoticeSchedules", {
          scheduleGroupName: `${stackName}-notices`,
        }),
      });
    }
    this.intelligenceAlarms = new WindowIntelligenceAlarms(this, "WindowIntelligence", {
      namespace: metricsNamespace,
      alarmNamePrefix,
      targets: config.targets,
      counterPeriod: Duration.seconds(config.alarmPeriodSeconds),
      processorServiceName: WINDOW_SERVICE_NAME.windowEvents,
      rejectedSendsThreshold: config.rejectedSendsAlarmThreshold,
      action: this.observability.topic
        ? new actions.SnsAction(this.observability.topic)
        : undefined,
    });
    addWindowIntelligenceWidgets(this.observability.dashboard, {
      metrics: this.observability.metrics,
      counterPeriodSeconds: config.alarmPeriodSeconds,
      alarms: this.intelligenceAlarms.alarms,
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
        this.deadLetters.queue.queueUrl,
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
        "Glue database of the raw_exports and sessions tables (docs/contract.md, Querying with Athena)",
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
    // The webhook URLs with the literal {token}: CloudFormation does not redact outputs, so the
    // token stays in its secret (docs/contract.md, "Webhooks (deployed)").
    const webhookUrl = (kind: string) =>
      `${this.webhooks.api.url}hooks/wavy/${TOKEN_PLACEHOLDER}/${kind}`;
    outputs.push(
      [
        STACK_OUTPUT.moWebhookUrl,
        webhookUrl(WEBHOOK_KIND.mo),
        "Wavy's inbound-message webhook; put the token from WebhookTokenSecretId in place of {token}",
      ],
      [
        STACK_OUTPUT.statusWebhookUrl,
        webhookUrl(WEBHOOK_KIND.status),
        "Wavy's status webhook; put the token from WebhookTokenSecretId in place of {token}",
      ],
      [
        STACK_OUTPUT.webhookTokenSecretId,
        this.webhooks.tokenSecret.secretArn,
        'The webhook token, {"token": "..."} (docs/deploying.md, Webhooks)',
      ],
      [
        STACK_OUTPUT.windowsTableName,
        this.windowsTable.table.tableName,
        "The live windows' DynamoDB table",
      ],
      [
        STACK_OUTPUT.webhookQueueUrl,
        this.webhooks.queue.queueUrl,
        "The queue both webhook routes write to",
      ],
      [
        STACK_OUTPUT.webhookDeadLetterQueueUrl,
        this.webhooks.deadLetterQueue.queueUrl,
        "Webhook messages that failed 5 receives",
      ],
    );
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

    // Issue 21 adds resources beside MAX_TARGETS' budget (a zone alarm per target with origins, a
    // rejected-sends alarm per origin, the sweeper's 9): counted here, exactly, so a deployment
    // that would pass CloudFormation's limit fails at synth, not half-way through a deploy.
    const resources = this.node
      .findAll()
      .filter((construct) => construct instanceof CfnResource).length;
    if (resources > CLOUDFORMATION_MAX_RESOURCES)
      throw new ConfigError(
        `Invalid wavy-sessions configuration (see docs/deploying.md):\n  - context "targets" with these targets, origins, alarms and closing notices the stack holds ${resources} resources, over CloudFormation's ${CLOUDFORMATION_MAX_RESOURCES} per stack: split the targets over two stacks (docs/scaling.md)`,
      );
  }
}

/** Resources per stack (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html). */
const CLOUDFORMATION_MAX_RESOURCES = 500;
