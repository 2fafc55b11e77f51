import { RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as athena from "aws-cdk-lib/aws-athena";
import * as glue from "aws-cdk-lib/aws-glue";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { RAW_EXPORT_COLUMNS, S3_PREFIX, SESSION_COLUMNS } from "../../lambdas/lib/contract.js";
import {
  CURRENT_LAYOUT,
  type KeyLayout,
  locationTemplate,
  type Projection,
} from "../../lambdas/lib/layout.js";
import {
  NAMED_QUERIES,
  namedQueryDescription,
  RAW_EXPORTS_TABLE,
  SESSIONS_TABLE,
} from "../athena-queries.js";

export interface DataCatalogProps {
  readonly bucket: s3.IBucket;
  /** Days exports are kept: the date projection looks no further back. */
  readonly retentionDays: number;
  /**
   * The key layout the tables read (docs/contract.md, "Key layout versions"): partition columns,
   * location template and projections all come from it.
   * @default CURRENT_LAYOUT, the one the functions write
   */
  readonly layout?: KeyLayout;
  /**
   * Logical ids the database and tables keep from an earlier template (they were L1 resources
   * directly under this construct until the Glue L2 replaced them). A new logical id for a named
   * Glue resource is a create-then-delete on update, and the create fails: Glue names are unique
   * per database (AlreadyExistsException), so the update would roll back.
   * @default the ids this construct's path gives
   */
  readonly logicalIds?: {
    readonly database: string;
    readonly rawTable: string;
    readonly sessionsTable: string;
  };
}

/** Glue column types of the contract's columns (lambdas/lib/contract.ts). */
const GLUE_TYPE = { string: glue.Schema.STRING, timestamp: glue.Schema.TIMESTAMP } as const;

function columns(list: readonly { name: string; type: keyof typeof GLUE_TYPE }[]): glue.Column[] {
  return list.map(({ name, type }) => ({ name, type: GLUE_TYPE[type] }));
}

/** A layout's projection as the L2's, which renders it and checks it at synth. */
function projectionOf(projection: Projection): glue.PartitionProjectionConfiguration {
  switch (projection.type) {
    case "injected":
      return glue.PartitionProjectionConfiguration.injected();
    case "integer":
      return glue.PartitionProjectionConfiguration.integer(projection);
    case "date": {
      const { step, ...range } = projection;
      return glue.PartitionProjectionConfiguration.date({
        ...range,
        ...(step && {
          step: { interval: step.interval, intervalUnit: glue.DateIntervalUnit[step.unit] },
        }),
      });
    }
  }
}

/**
 * The Glue database and tables that make every export queryable by Athena the moment it is
 * stored, an Athena workgroup whose results stay in the bucket (under athena-results/, expired by
 * ExportStorage's lifecycle), and the named queries users ask for (infra/athena-queries.ts).
 *
 * Glue's L2 (aws-cdk-lib/aws-glue `Database`, `S3Table`); Athena has only L1 resources.
 * Partition projection instead of a crawler or MSCK REPAIR: Athena computes the partitions from
 * the table's properties (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html).
 * Each column's projection (ids `injected`, the date over the retention window) is defined beside
 * its key segment in the key layout (lambdas/lib/layout.ts), which the functions write by.
 * Partition columns are strings, as Athena recommends for performance
 * (https://docs.aws.amazon.com/athena/latest/ug/data-types-timestamps.html).
 */
export class DataCatalog extends Construct {
  readonly database: glue.Database;
  readonly rawTable: glue.S3Table;
  readonly sessionsTable: glue.S3Table;
  readonly workGroup: athena.CfnWorkGroup;
  readonly namedQueries: athena.CfnNamedQuery[];
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: DataCatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Glue and Athena names are per account and region: derived from the stack's, so a second
    // deployment of the app gets its own.
    const base = Token.isUnresolved(stack.stackName)
      ? "wavy_sessions"
      : stack.stackName.toLowerCase().replace(/[^a-z0-9]+/g, "_");
    this.databaseName = base;

    this.database = new glue.Database(this, "Database", {
      databaseName: this.databaseName,
      description:
        "wavy-sessions: every export of Wavy's open sessions (docs/contract.md, Querying with Athena)",
      // The L2 retains a database by default; this one holds only the table definitions this
      // construct makes, so it goes with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const bucketUrl = `s3://${props.bucket.bucketName}/`;
    const layout = props.layout ?? CURRENT_LAYOUT;
    const table = (
      tableId: string,
      tableName: string,
      prefix: string,
      description: string,
      dataFormat: glue.DataFormat,
      tableColumns: glue.Column[],
      parameters: Record<string, string>,
    ) =>
      new glue.S3Table(this, tableId, {
        database: this.database,
        tableName,
        description,
        storage: glue.S3TableStorage.fromBucket(props.bucket),
        s3Prefix: prefix,
        dataFormat,
        columns: tableColumns,
        partitionKeys: layout.partitions.map(({ column }) => ({
          name: column,
          type: glue.Schema.STRING,
        })),
        partitionProjection: Object.fromEntries(
          layout.partitions.map(({ column, projection }) => [
            column,
            projectionOf(projection(props.retentionDays)),
          ]),
        ),
        parameters: {
          ...parameters,
          // The L2 has no property for the location template: a plain table parameter.
          "storage.location.template": `${bucketUrl}${prefix}${locationTemplate(layout)}`,
        },
        // The objects are SSE-S3, which S3 decrypts for Athena; `true` (the L2's default) is
        // for client-side (CSE-KMS) encrypted data only
        // (https://docs.aws.amazon.com/athena/latest/ug/creating-tables-based-on-encrypted-datasets-in-s3.html).
        hasEncryptedData: false,
      });

    // OpenCSVSerde, text in, Hive text out: the class names Athena documents
    // (https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html).
    this.rawTable = table(
      "RawExportsTable",
      RAW_EXPORTS_TABLE,
      S3_PREFIX.exports,
      "The export CSVs exactly as Wavy served them; timestamps as written (Sao Paulo wall clock).",
      glue.DataFormat.CSV,
      columns(RAW_EXPORT_COLUMNS),
      { "skip.header.line.count": "1" },
    );
    // L1 escape hatch: the L2 sets no SerDe parameters (its storageParameters land in
    // StorageDescriptor.Parameters, which OpenCSVSerde does not read). Wavy's dialect: `;`,
    // RFC 4180 quotes.
    (this.rawTable.node.defaultChild as glue.CfnTable).addPropertyOverride(
      "TableInput.StorageDescriptor.SerdeInfo.Parameters",
      { separatorChar: ";", quoteChar: '"' },
    );

    // https://docs.aws.amazon.com/athena/latest/ug/parquet-serde.html
    this.sessionsTable = table(
      "SessionsTable",
      SESSIONS_TABLE,
      S3_PREFIX.sessions,
      "One record per data row of every export, typed; created_at and closes_at in UTC.",
      glue.DataFormat.PARQUET,
      columns(SESSION_COLUMNS),
      {},
    );

    if (props.logicalIds) {
      const keep = (construct: Construct, logicalId: string) =>
        (construct.node.defaultChild as glue.CfnDatabase | glue.CfnTable).overrideLogicalId(
          logicalId,
        );
      keep(this.database, props.logicalIds.database);
      keep(this.rawTable, props.logicalIds.rawTable);
      keep(this.sessionsTable, props.logicalIds.sessionsTable);
    }

    this.workGroup = new athena.CfnWorkGroup(this, "WorkGroup", {
      name: base.replace(/_/g, "-"),
      description: "wavy-sessions: queries over the exports; results under athena-results/",
      state: "ENABLED",
      // The workgroup holds the named queries below; without this CloudFormation cannot delete it.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        // Queries in this workgroup always write where the lifecycle rule expires them.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        // A guardrail against an accidental full scan: 10 GiB is thousands of exports.
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: "AUTO" },
        resultConfiguration: {
          outputLocation: `${bucketUrl}${S3_PREFIX.athenaResults}`,
          // The bucket's own encryption (SSE-S3), stated so cdk-nag's AwsSolutions-ATH1 sees it.
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });

    this.namedQueries = NAMED_QUERIES.map((query) => {
      const named = new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        // Prefixed like the workgroup, so two deployments' queries keep apart in the console.
        name: `${this.databaseName}-${query.name}`,
        description: namedQueryDescription(query).slice(0, 1024),
        database: this.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
      named.node.addDependency(this.database);
      return named;
    });
  }
}
