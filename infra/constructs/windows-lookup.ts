import { Duration } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { WINDOW_SERVICE_NAME } from "../../lambdas/lib/contract.js";
import { acknowledge } from "../nag.js";
import { BundledNodeFunction } from "./bundled-node-function.js";
import type { WindowsTable } from "./windows-table.js";

export interface WindowsLookupProps {
  readonly entry: string;
  /** The IAM-authorised API the routes join (infra/constructs/export-api.ts). */
  readonly api: apigateway.RestApi;
  readonly table: WindowsTable;
  readonly metricsNamespace: string;
  readonly memoryMb: number;
  readonly logRetention: logs.RetentionDays;
}

/**
 * GET /windows and GET /windows/{destination} (docs/contract.md, "Lookups") on the
 * IAM-authorised API, served by their own function, which may read the table and query its
 * closing index and nothing else.
 */
export class WindowsLookup extends Construct {
  readonly function: BundledNodeFunction;
  readonly methods: apigateway.Method[];

  constructor(scope: Construct, id: string, props: WindowsLookupProps) {
    super(scope, id);
    const { api, table } = props;

    this.function = new BundledNodeFunction(this, "Function", {
      entry: props.entry,
      description: "wavy-sessions windows API: a contact's live windows, and those closing soon",
      memorySize: props.memoryMb,
      // One GetItem or Query per request; far below API Gateway's 29 s.
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      environment: {
        WINDOWS_TABLE_NAME: table.table.tableName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_SERVICE_NAME: WINDOW_SERVICE_NAME.windowsApi,
      },
    });
    // GetItem (one destination and origin) and Query (a destination's windows) on the table,
    // Query on the closing index (GET /windows).
    table.grantItems(this.function, ["dynamodb:GetItem", "dynamodb:Query"]);
    table.grantQueryClosingIndex(this.function);

    // A Lambda proxy integration with one permission for both routes, as export-api.ts does
    // (each LambdaIntegration would add one per method): API Gateway invokes the function as
    // apigateway.amazonaws.com with the method's ARN as the source
    // (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html). The deployed
    // stage only, not test-invoke-stage: the console's test button bypasses IAM.
    const integration = new apigateway.AwsIntegration({
      proxy: true,
      service: "lambda",
      path: `2015-03-31/functions/${this.function.functionArn}/invocations`,
    });
    this.function.addPermission("ApiGatewayInvoke", {
      principal: new iam.ServicePrincipal("apigateway.amazonaws.com"),
      sourceArn: api.arnForExecuteApi("GET", "/windows*", api.deploymentStage.stageName),
    });
    const windows = api.root.addResource("windows");
    const options = { authorizationType: apigateway.AuthorizationType.IAM };
    this.methods = [
      windows.addMethod("GET", integration, options),
      windows.addResource("{destination}").addMethod("GET", integration, options),
    ];

    for (const method of this.methods)
      acknowledge(method, [
        {
          id: "AwsSolutions-COG4",
          reason:
            "Callers are AWS principals authorised by IAM with SigV4, like every route of this API; there are no end users for a Cognito user pool.",
        },
      ]);
    acknowledge(this.function, [
      {
        id: "Serverless-LambdaDLQ",
        reason:
          "Invoked synchronously by API Gateway only: the caller receives the error, there is no async event to dead-letter.",
      },
    ]);
  }
}
