import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import {
  DEFAULTS,
  EXPORT_PROCESS_ENVIRONMENT,
  ID_PATTERN,
  SERVICE_NAME,
  WORKER,
} from "../../lambdas/lib/contract.js";
import { acknowledge, arnFinding } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { ExportStorage } from "./export-storage.js";
import type { WavySecret } from "./wavy-secret.js";

export interface ExportApiProps {
  readonly entry: string;
  /** The REST API's name: the `ApiName` dimension of its metrics, so unique per stack. */
  readonly restApiName: string;
  readonly storage: ExportStorage;
  readonly secret: WavySecret;
  /** The environment both handlers share (Wavy settings, metrics namespace). */
  readonly wavyEnvironment: Record<string, string>;
  readonly memoryMb: number;
  readonly logRetention: logs.RetentionDays;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** The asynchronous export's worker, invoked with InvocationType Event. */
  readonly worker: lambda.IFunction;
  /** Where completion events go. */
  readonly bus: events.IEventBus;
}

/**
 * $context.error.message may hold quotes and newlines, which would break a JSON log line;
 * $context.error.messageString is the same text already quoted, so it goes in unquoted
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html).
 */
const QUOTED_ERROR_MESSAGE = "$context.error.messageString";

/** One JSON object per request; every variable is quoted except the already-quoted one. */
function accessLogLine(fields: Record<string, string>): string {
  return JSON.stringify(fields).replace(JSON.stringify(QUOTED_ERROR_MESSAGE), QUOTED_ERROR_MESSAGE);
}

/**
 * The IAM-authorised REST API in front of the export function: POST /exports,
 * GET /exports/{exportId}, the Wavy-compatible GET /v1/session and GET /sessions/closing, plus
 * ANY and {proxy+}
 * catch-alls so that the function answers unknown routes (404) and wrong methods (405).
 */
export class ExportApi extends Construct {
  readonly function: BundledNodeFunction;
  readonly api: apigateway.RestApi;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ExportApiProps) {
    super(scope, id);
    const { storage } = props;

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions export: copies Wavy's open-sessions CSV to S3",
      memorySize: props.memoryMb,
      // API Gateway gives up at 29 s; the handler stops itself at REQUEST_BUDGET_MS
      // (docs/contract.md, "Configuration").
      timeout: Duration.seconds(29),
      logRetention: props.logRetention,
      environment: {
        ...props.wavyEnvironment,
        REQUEST_BUDGET_MS: String(DEFAULTS.requestBudgetMs),
        MAX_CSV_BYTES: String(DEFAULTS.maxCsvBytes),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME.export,
        ...EXPORT_PROCESS_ENVIRONMENT,
        EVENT_BUS_NAME: props.bus.eventBusName,
        EXPORT_WORKER_FUNCTION_NAME: props.worker.functionName,
        EXPORT_WORKER_TIMEOUT_SECONDS: String(WORKER.maxTimeoutSeconds),
      },
    });
    props.secret.grantRead(this.function);
    // Every export's keys (docs/contract.md, "S3 layout"): it writes the CSV, its companion, the
    // closing-soon list, the manifest, the history entry and the Idempotency-Key record; reads
    // back the CSV (HEAD and the presigned URL), the manifest, the record and the list (only its
    // presigned URL); deletes what a failed export wrote (a CSV without its manifest, the
    // manifest and entry of an export whose worker could not be started, a dead worker's object)
    // and releases a failed export's Idempotency-Key; aborts the uploads of a failed export and
    // finds a dead worker's (ListBucketMultipartUploads). ListBucket: the run history's
    // ListObjectsV2, and NoSuchKey rather than 403 for a missing manifest.
    storage.bind(this.function, {
      objects: {
        exports: ["write", "read", "delete", "abort"],
        manifests: ["write", "read", "delete"],
        history: ["write", "delete"],
        idempotency: ["write", "read", "delete"],
        // Only read, with HeadObject, for the document's companion.status: the companion
        // function writes it (docs/contract.md, "Companions").
        sessions: ["read"],
        closing: ["write", "read", "abort", "delete"],
      },
      list: true,
      listUploads: true,
    });
    // lambda:InvokeFunction on the worker (and its qualified ARNs) only: an asynchronous Invoke
    // needs nothing more (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
    props.worker.grantInvoke(this.function);
    // events:PutEvents on this bus only (the L2 grant names its ARN,
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html).
    props.bus.grantPutEventsTo(this.function);

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new apigateway.RestApi(this, "Api", {
      restApiName: props.restApiName,
      description: "wavy-sessions: durable copies of Wavy's open-sessions CSV (SigV4, IAM)",
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      // Execution logs need the account's API Gateway CloudWatch role; CDK keeps it on destroy
      // because other APIs in the region may rely on it.
      cloudWatchRole: true,
      deployOptions: {
        stageName: "prod",
        tracingEnabled: true,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
        // Errors only, and never bodies: requests carry customer ids and answers presigned URLs.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(
          accessLogLine({
            requestId: "$context.requestId",
            xrayTraceId: "$context.xrayTraceId",
            requestTime: "$context.requestTime",
            sourceIp: "$context.identity.sourceIp",
            caller: "$context.identity.userArn",
            httpMethod: "$context.httpMethod",
            resourcePath: "$context.resourcePath",
            status: "$context.status",
            responseLength: "$context.responseLength",
            responseLatency: "$context.responseLatency",
            integrationLatency: "$context.integration.latency",
            integrationStatus: "$context.integration.status",
            errorType: "$context.error.responseType",
            errorMessage: QUOTED_ERROR_MESSAGE,
          }),
        ),
      },
    });

    this.addContractErrorResponses();

    // Shape checks only; the handler re-validates ids and answers in the contract's envelope.
    const validator = this.api.addRequestValidator("Validator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const idSchema: apigateway.JsonSchema = {
      oneOf: [
        { type: apigateway.JsonSchemaType.STRING, pattern: ID_PATTERN.source },
        { type: apigateway.JsonSchemaType.INTEGER, minimum: 1 },
      ],
    };
    const exportRequest = this.api.addModel("ExportRequest", {
      contentType: "application/json",
      description: '{"customerId": "42", "subAccountId": "7"}; subAccountId optional',
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        title: "ExportRequest",
        type: apigateway.JsonSchemaType.OBJECT,
        required: ["customerId"],
        properties: {
          customerId: idSchema,
          subAccountId: {
            oneOf: [...(idSchema.oneOf ?? []), { type: apigateway.JsonSchemaType.NULL }],
          },
        },
      },
    });

    // The Lambda proxy integration LambdaIntegration builds, without its permission per method:
    // every method of this API reaches this one function (the catch-alls below), and 17
    // permissions were 17 of CloudFormation's 500 resources per stack, which 200 targets'
    // schedules and alarms nearly fill. One permission instead, for every method and path of
    // the deployed stage only (not test-invoke-stage: the console's test button bypasses IAM).
    // Source ARN format: arn:aws:execute-api:region:account:api-id/stage/METHOD/path
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-iam-policy-examples-for-api-execution.html;
    // https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html).
    const integration = new apigateway.AwsIntegration({
      proxy: true,
      service: "lambda",
      path: `2015-03-31/functions/${this.function.functionArn}/invocations`,
    });
    this.function.addPermission("ApiGatewayInvoke", {
      principal: new iam.ServicePrincipal("apigateway.amazonaws.com"),
      sourceArn: this.api.arnForExecuteApi("*", "/*", this.api.deploymentStage.stageName),
    });

    // The contract's routes, each with its shape checks. API Gateway prefers an explicit method
    // over ANY on the same resource, so these keep their validators.
    const exportsResource = this.api.root.addResource("exports");
    exportsResource.addMethod("POST", integration, {
      requestValidator: validator,
      requestModels: { "application/json": exportRequest },
    });
    // GET /exports (the run history) is served by the ANY catch-all below, which the function
    // validates: an explicit method and its permission would cost two of the 500 resources
    // a stack may hold, and 200 targets need them (docs/scaling.md).
    const exportResource = exportsResource.addResource("{exportId}");
    exportResource.addMethod("GET", integration, {
      requestValidator: validator,
      requestParameters: { "method.request.path.exportId": true },
    });
    const v1Resource = this.api.root.addResource("v1");
    const sessionResource = v1Resource.addResource("session");
    sessionResource.addMethod("GET", integration, {
      requestValidator: validator,
      requestParameters: {
        "method.request.querystring.customerId": true,
        "method.request.querystring.subAccountId": false,
      },
    });

    // GET /sessions/closing rides the root {proxy+} like GET /exports: its own resources, method
    // and catch-alls would cost nine of the 500 a stack may hold, and with the data catalog 200
    // targets need them (docs/scaling.md). The function validates its query (routes.ts).

    // Everything else reaches the function too, so that it answers the contract's 404 and 405
    // (with Allow) in its envelope instead of API Gateway's 403 MISSING_AUTHENTICATION_TOKEN.
    // API Gateway does not fall back to an ancestor's {proxy+} once a static segment matched,
    // so every resource gets ANY and, where no sibling path variable forbids it, a {proxy+}.
    // All of them inherit AWS_IAM from defaultMethodOptions; none is validated.
    const catchAll = (resource: apigateway.IResource, withProxy: boolean) => {
      resource.addMethod("ANY", integration);
      if (withProxy) resource.addProxy({ defaultIntegration: integration, anyMethod: true });
    };
    catchAll(this.api.root, true);
    // /exports/{exportId} already takes every single segment below /exports (a {proxy+} beside
    // it is refused: one path variable per level), and its {proxy+} takes the deeper ones.
    catchAll(exportsResource, false);
    catchAll(exportResource, true);
    catchAll(v1Resource, true);
    catchAll(sessionResource, true);

    this.addNagSuppressions(props.worker);
  }

  /**
   * API Gateway's own answers (auth, validation, throttling, timeouts) in the contract's error
   * envelope. Codes the contract names are reused; the others keep API Gateway's response type
   * (e.g. INVALID_SIGNATURE, EXPIRED_TOKEN, REQUEST_TOO_LARGE) through DEFAULT_4XX.
   */
  private addContractErrorResponses(): void {
    const envelope = (code: string) => ({
      "application/json": `{"error":{"code":"${code}","message":$context.error.messageString}}`,
    });
    const responses: [
      id: string,
      type: apigateway.ResponseType,
      status: string | undefined,
      code: string,
    ][] = [
      ["BadBody", apigateway.ResponseType.BAD_REQUEST_BODY, "400", "INVALID_REQUEST"],
      ["BadParameters", apigateway.ResponseType.BAD_REQUEST_PARAMETERS, "400", "INVALID_REQUEST"],
      // With every path routed, this now means an unsigned request, not an unknown route.
      [
        "MissingAuthenticationToken",
        apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        "403",
        "MISSING_AUTHENTICATION_TOKEN",
      ],
      ["AccessDenied", apigateway.ResponseType.ACCESS_DENIED, "403", "ACCESS_DENIED"],
      ["Throttled", apigateway.ResponseType.THROTTLED, "429", "THROTTLED"],
      // The function stops itself at REQUEST_BUDGET_MS; this is the 29 s backstop.
      [
        "IntegrationTimeout",
        apigateway.ResponseType.INTEGRATION_TIMEOUT,
        "504",
        "UPSTREAM_TIMEOUT",
      ],
      // Status left as API Gateway chose it (e.g. 401, 413, 415 / 500, 502).
      ["Default4xx", apigateway.ResponseType.DEFAULT_4XX, undefined, "$context.error.responseType"],
      ["Default5xx", apigateway.ResponseType.DEFAULT_5XX, undefined, "INTERNAL"],
    ];
    for (const [id, type, statusCode, code] of responses) {
      this.api.addGatewayResponse(id, {
        type,
        ...(statusCode ? { statusCode } : {}),
        templates: envelope(code),
      });
    }
  }

  private addNagSuppressions(worker: lambda.IFunction): void {
    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Invoked synchronously by API Gateway only: the caller receives the error, there is no async event to dead-letter.",
      },
    ]);
    acknowledge(this.function.role ?? this.function, [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "CDK's grantInvoke names the worker's ARN and its qualified form (ARN:*, its versions and aliases); nothing but that one function.",
        findings: [arnFinding(worker, ":*")],
      },
    ]);
    const cloudWatchRole = this.api.node.tryFindChild("CloudWatchRole");
    if (cloudWatchRole)
      acknowledge(cloudWatchRole, [
        {
          id: "AwsSolutions-IAM4",
          reason:
            "The account-wide role API Gateway needs to write execution logs; AWS's AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it and covers log groups API Gateway names itself.",
          findings: [
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
          ],
        },
      ]);
    acknowledge(this.api.deploymentStage, [
      {
        id: "Serverless-APIGWStructuredLogging",
        reason:
          "The access log is one JSON object per request: $context.error.messageString is written unquoted because API Gateway substitutes it already quoted. The rule JSON.parses the format before substitution, where that bare variable is not JSON.",
      },
      {
        id: "AwsSolutions-APIG3",
        reason:
          "Every method requires SigV4 (AWS_IAM), so only principals of this account reach the integration; stage throttling bounds abuse. Attach a WAF web ACL where policy demands one.",
      },
    ]);
    for (const method of this.api.methods) {
      acknowledge(method, [
        {
          id: "AwsSolutions-COG4",
          reason:
            "Callers are AWS principals (services, scripts), authorised by IAM with SigV4; there are no end users for a Cognito user pool.",
        },
      ]);
    }
  }
}
