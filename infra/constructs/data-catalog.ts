import { Stack, Token } from "aws-cdk-lib";
import * as athena from "aws-cdk-lib/aws-athena";
import * as glue from "aws-cdk-lib/aws-glue";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { RAW_EXPORT_COLUMNS, S3_PREFIX, SESSION_COLUMNS } from "../../lambdas/lib/contract.js";
import {
  CURRENT_LAYOUT,
  type KeyLayout,
  locationTemplate,
  projectionParameters,
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
}

/** Hive class names Athena documents for its CSV and Parquet SerDes. */
export const SERDE = {
  // https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
  openCsv: "org.apache.hadoop.hive.serde2.OpenCSVSerde",
  textInput: "org.apache.hadoop.mapred.TextInputFormat",
  textOutput: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
  // https://docs.aws.amazon.com/athena/latest/ug/parquet-serde.html
  parquet: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
  parquetInput: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
  parquetOutput: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
} as const;

/**
 * The Glue database and tables that make every export queryable by Athena the moment it is
 * stored, an Athena workgroup whose results stay in the bucket (under athena-results/, expired by
 * ExportStorage's lifecycle), and the named queries users ask for (infra/athena-queries.ts).
 *
 * L1 resources: the Glue L2 is an -alpha package (STYLE.md). Partition projection instead of a
 * crawler or MSCK REPAIR: Athena computes the partitions from the table's properties
 * (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html). Each column's
 * projection (ids `injected`, the date over the retention window) is defined beside its key
 * segment in the key layout (lambdas/lib/layout.ts), which the functions write by.
 * Partition columns are strings, as Athena recommends for performance
 * (https://docs.aws.amazon.com/athena/latest/ug/data-types-timestamps.html).
 */
export class DataCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly rawTable: glue.CfnTable;
  readonly sessionsTable: glue.CfnTable;
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

    this.database = new glue.CfnDatabase(this, "Database", {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description:
          "wavy-sessions: every export of Wavy's open sessions (docs/contract.md, Querying with Athena)",
      },
    });

    const bucketUrl = `s3://${props.bucket.bucketName}/`;
    const layout = props.layout ?? CURRENT_LAYOUT;
    const table = (
      tableId: string,
      name: string,
      prefix: string,
      description: string,
      format: Pick<
        glue.CfnTable.StorageDescriptorProperty,
        "inputFormat" | "outputFormat" | "serdeInfo"
      >,
      columns: readonly { name: string; type: string }[],
      parameters: Record<string, string>,
    ) =>
      new glue.CfnTable(this, tableId, {
        catalogId: stack.account,
        databaseName: this.databaseName,
        tableInput: {
          name,
          description,
          tableType: "EXTERNAL_TABLE",
          partitionKeys: layout.partitions.map(({ column }) => ({ name: column, type: "string" })),
          parameters: {
            ...parameters,
            ...projectionParameters(layout, props.retentionDays),
            "storage.location.template": `${bucketUrl}${prefix}${locationTemplate(layout)}`,
          },
          storageDescriptor: {
            location: `${bucketUrl}${prefix}`,
            columns: columns.map(({ name: column, type }) => ({ name: column, type })),
            ...format,
          },
        },
      });

    this.rawTable = table(
      "RawExportsTable",
      RAW_EXPORTS_TABLE,
      S3_PREFIX.exports,
      "The export CSVs exactly as Wavy served them; timestamps as written (Sao Paulo wall clock).",
      {
        inputFormat: SERDE.textInput,
        outputFormat: SERDE.textOutput,
        serdeInfo: {
          serializationLibrary: SERDE.openCsv,
          // Wavy's dialect: `;`, RFC 4180 quotes.
          parameters: { separatorChar: ";", quoteChar: '"' },
        },
      },
      RAW_EXPORT_COLUMNS,
      { classification: "csv", "skip.header.line.count": "1" },
    );
    this.rawTable.node.addDependency(this.database);

    this.sessionsTable = table(
      "SessionsTable",
      SESSIONS_TABLE,
      S3_PREFIX.sessions,
      "One record per data row of every export, typed; created_at and closes_at in UTC.",
      {
        inputFormat: SERDE.parquetInput,
        outputFormat: SERDE.parquetOutput,
        serdeInfo: { serializationLibrary: SERDE.parquet },
      },
      SESSION_COLUMNS,
      { classification: "parquet" },
    );
    this.sessionsTable.node.addDependency(this.database);

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
