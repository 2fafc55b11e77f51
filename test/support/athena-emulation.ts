import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import { DataCatalog } from "../../infra/constructs/data-catalog.js";
import type { KeyLayout } from "../../lambdas/lib/layout.js";

/**
 * Athena's reading of the Glue tables the stack defines, played by DuckDB over local copies of
 * the bucket: each table becomes a view built from its synthesised TableInput alone (location,
 * storage.location.template, SerDe and its properties, header count, columns and types), so a
 * query that works here reads the files exactly as the table says Athena would.
 */

export const EMULATED_BUCKET = "emulated-bucket";

/** The SerDe class names Athena documents, which the emulation reads as Athena would. */
export const SERDE = {
  // https://docs.aws.amazon.com/athena/latest/ug/csv-serde.html
  openCsv: "org.apache.hadoop.hive.serde2.OpenCSVSerde",
  // https://docs.aws.amazon.com/athena/latest/ug/parquet-serde.html
  parquet: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
} as const;

export interface GlueTableInput {
  Name: string;
  Parameters: Record<string, string>;
  PartitionKeys: { Name: string; Type: string }[];
  StorageDescriptor: {
    Location: string;
    Columns: { Name: string; Type: string }[];
    SerdeInfo: { SerializationLibrary: string; Parameters?: Record<string, string> };
  };
}

/** The DataCatalog construct alone, synthesised over a bucket with a plain name. */
export function synthCatalog(
  retentionDays = 90,
  layout?: KeyLayout,
): {
  tables: GlueTableInput[];
  template: Template;
  catalog: DataCatalog;
} {
  const stack = new Stack(new App(), "CatalogOnly");
  const bucket = s3.Bucket.fromBucketName(stack, "Bucket", EMULATED_BUCKET);
  const catalog = new DataCatalog(stack, "Catalog", {
    bucket,
    retentionDays,
    ...(layout && { layout }),
  });
  const template = Template.fromStack(stack);
  const tables = Object.values(template.findResources("AWS::Glue::Table")).map(
    (resource) => (resource.Properties as { TableInput: GlueTableInput }).TableInput,
  );
  return { tables, template, catalog };
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** How Athena reads each Glue (Hive) type from these files, in DuckDB's terms. */
function column(name: string, glueType: string, parquet: boolean): string {
  const quoted = `"${name}"`;
  if (glueType === "string") return `CAST(${quoted} AS VARCHAR) AS ${quoted}`;
  // Athena's timestamp has no zone: a UTC-adjusted Parquet timestamp reads as its UTC wall clock.
  if (glueType === "timestamp" && parquet) return `timezone('UTC', ${quoted}) AS ${quoted}`;
  throw new Error(`No emulation for column ${name} of type ${glueType}`);
}

function viewSql(table: GlueTableInput, root: string): string {
  const bucketUrl = `s3://${EMULATED_BUCKET}/`;
  const local = (url: string) => {
    if (!url.startsWith(bucketUrl)) throw new Error(`${url} is not in the emulated bucket`);
    return join(root, url.slice(bucketUrl.length));
  };
  const template = table.Parameters["storage.location.template"] ?? "";
  const keys = table.PartitionKeys.map((key) => key.Name);
  // Each ${column} of the template captures one path segment; files sit right below.
  let pattern = `^${escapeRegex(local(template))}`;
  for (const key of keys) pattern = pattern.replace(escapeRegex(`\${${key}}`), "([^/]+)");
  pattern += "[^/]+$";
  const partitions = keys.map(
    (key, i) => `regexp_extract(filename, ${sqlString(pattern)}, ${i + 1}) AS "${key}"`,
  );
  const descriptor = table.StorageDescriptor;
  const files = sqlString(`${local(descriptor.Location)}**/*`);
  const serde = descriptor.SerdeInfo;
  if (serde.SerializationLibrary === SERDE.parquet) {
    const columns = descriptor.Columns.map((c) => column(c.Name, c.Type, true));
    return `SELECT ${[...columns, ...partitions].join(", ")}
      FROM read_parquet(${files}, filename = true, hive_partitioning = false)
      WHERE regexp_matches(filename, ${sqlString(pattern)})`;
  }
  if (serde.SerializationLibrary === SERDE.openCsv) {
    const properties = serde.Parameters ?? {};
    const header = Number(table.Parameters["skip.header.line.count"] ?? 0);
    const names = descriptor.Columns.map((c) => `${sqlString(c.Name)}: 'VARCHAR'`).join(", ");
    const columns = descriptor.Columns.map((c) => column(c.Name, c.Type, false));
    return `SELECT ${[...columns, ...partitions].join(", ")}
      FROM read_csv(${files}, delim = ${sqlString(properties.separatorChar ?? ",")},
        quote = ${sqlString(properties.quoteChar ?? '"')}, skip = ${header}, header = false,
        columns = {${names}}, filename = true, hive_partitioning = false, null_padding = true)
      WHERE regexp_matches(filename, ${sqlString(pattern)})`;
  }
  throw new Error(`No emulation for SerDe ${serde.SerializationLibrary}`);
}

export interface AthenaEmulation {
  query(sql: string, parameters?: (string | number)[]): Promise<Record<string, unknown>[]>;
  close(): void;
}

/** Views named as the Glue tables over `root`, a local copy of the bucket's keys. */
export async function openAthenaEmulation(
  root: string,
  tables: readonly GlueTableInput[],
): Promise<AthenaEmulation> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  for (const table of tables) {
    await connection.run(`CREATE VIEW "${table.Name}" AS ${viewSql(table, root)}`);
  }
  return {
    query: async (sql, parameters) => {
      const reader = await connection.runAndReadAll(sql, parameters);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Copies the objects under `prefixes` from the local S3 to `root`, keys as paths. */
export async function copyBucket(
  keysOf: (prefix: string) => Promise<string[]>,
  read: (key: string) => Promise<Buffer>,
  root: string,
  prefixes: readonly string[],
): Promise<void> {
  for (const prefix of prefixes) {
    for (const key of await keysOf(prefix)) {
      const path = join(root, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, await read(key));
    }
  }
}
