import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { WINDOWS_TABLE } from "../../lambdas/lib/contract.js";

export interface WindowsTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN: the windows are the users' data (docs/contract.md, "Live windows").
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The live windows' table (docs/contract.md, "Live windows", "Applying an MO"): one item per
 * (destination, origin), the index `byOriginClosesAt` that the closing-soon lookup and the
 * counter query, and DynamoDB's TTL on `expiresAt`. On demand (Wavy's callbacks come in bursts
 * nobody can forecast), point-in-time recovery on, encrypted with DynamoDB's own key (encryption
 * at rest cannot be turned off; the AWS owned key costs nothing and needs no grant:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html).
 *
 * The grants name the table's ARN, or the index's, and the exact actions: DynamoDB authorises
 * item actions on the table and Query on an index on the index's own ARN, `<table>/index/<name>`
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
 */
export class WindowsTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: WindowsTableProps = {}) {
    super(scope, id);
    const text = dynamodb.AttributeType.STRING;
    this.table = new dynamodb.TableV2(this, "Table", {
      partitionKey: { name: WINDOWS_TABLE.partitionKey, type: text },
      sortKey: { name: WINDOWS_TABLE.sortKey, type: text },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.dynamoOwnedKey(),
      timeToLiveAttribute: WINDOWS_TABLE.ttlAttribute,
      globalSecondaryIndexes: [
        {
          indexName: WINDOWS_TABLE.closingIndex,
          partitionKey: { name: WINDOWS_TABLE.sortKey, type: text },
          sortKey: { name: WINDOWS_TABLE.closingIndexSortKey, type: text },
          // A lookup answers every field of a window from the index alone.
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** The index's ARN, on which DynamoDB authorises a Query of it. */
  get closingIndexArn(): string {
    return `${this.table.tableArn}/index/${WINDOWS_TABLE.closingIndex}`;
  }

  /** Item actions (GetItem, UpdateItem, PutItem, Query of the table itself) on the table alone. */
  grantItems(grantee: iam.IGrantable, actions: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
  }

  /** dynamodb:Query on the closing index alone. */
  grantQueryClosingIndex(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:Query"],
      resourceArns: [this.closingIndexArn],
    });
  }
}
