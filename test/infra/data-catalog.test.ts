import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { NAMED_QUERIES, RAW_EXPORTS_TABLE, SESSIONS_TABLE } from "../../infra/athena-queries.js";
import { PARTITIONS, SESSION_COLUMNS } from "../../lambdas/lib/contract.js";
import { exportKey, sessionsKey } from "../../lambdas/lib/exports/export-document.js";
import * as layoutModule from "../../lambdas/lib/layout.js";
import { SESSION_RECORD_SCHEMA } from "../../lambdas/lib/sessions/session-records.js";
import {
  EMULATED_BUCKET,
  type GlueTableInput,
  SERDE,
  synthCatalog,
} from "../support/athena-emulation.js";
import { layout2 } from "../support/layout-2.js";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth } from "./synth.js";

/**
 * The Glue tables against the keys the export code writes (the same key builders), so the
 * layout and the catalog cannot drift apart; and the catalog in the whole stack.
 */

const CREATED = new Date("2026-11-28T10:49:15.000Z");
const TARGETS = [
  { customerId: "42", subAccountId: null },
  { customerId: "900000000000000001", subAccountId: "123" },
];

const { tables, template } = synthCatalog(90);
const tableNamed = (name: string): GlueTableInput => {
  const table = tables.find((t) => t.Name === name);
  if (!table) throw new Error(`no table ${name}`);
  return table;
};

/** The template's location for the partition values of `target`, as the code names them. */
function projected(table: GlueTableInput, values: Record<string, string>): string {
  let location = table.Parameters["storage.location.template"] ?? "";
  for (const [column, value] of Object.entries(values)) {
    location = location.replace(`\${${column}}`, value);
  }
  return location;
}

describe.each([
  [RAW_EXPORTS_TABLE, exportKey],
  [SESSIONS_TABLE, sessionsKey],
] as const)("the %s table", (name, keyOf) => {
  const table = tableNamed(name);

  it("projects every partition of the key layout the code writes, with no crawler", () => {
    expect(table.PartitionKeys).toEqual(
      PARTITIONS.map(({ column }) => ({ Name: column, Type: "string" })),
    );
    for (const target of TARGETS) {
      const key = keyOf(target, "20261128T104915Z-0123456789abcdef", CREATED);
      const location = projected(table, {
        customer_id: target.customerId,
        sub_account_id: target.subAccountId ?? "all",
        export_date: "2026-11-28",
      });
      // The object sits right in the partition's folder: nothing of the template is left over.
      expect(`s3://${EMULATED_BUCKET}/${key}`.startsWith(location)).toBe(true);
      expect(key.slice(location.length - `s3://${EMULATED_BUCKET}/`.length)).not.toContain("/");
      expect(location).not.toContain("${");
      expect(location.startsWith(table.StorageDescriptor.Location)).toBe(true);
    }
  });

  it("projects ids as injected values and dates over the retention window, in UTC days", () => {
    expect(table.Parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.customer_id.type": "injected",
      "projection.sub_account_id.type": "injected",
      "projection.export_date.type": "date",
      "projection.export_date.format": "yyyy-MM-dd",
      "projection.export_date.range": "NOW-90DAYS,NOW",
      "projection.export_date.interval": "1",
      "projection.export_date.interval.unit": "DAYS",
    });
    // The key's date segment is the UTC date of createdAt, in the projection's format.
    expect(keyOf(TARGETS[0] as (typeof TARGETS)[0], "x", CREATED)).toContain("/date=2026-11-28/");
  });
});

describe("the tables' parameters", () => {
  const { tables: tablesOf30 } = synthCatalog(30);

  it.each([
    [RAW_EXPORTS_TABLE, { classification: "csv", "skip.header.line.count": "1" }, "exports"],
    [SESSIONS_TABLE, { classification: "parquet" }, "sessions"],
  ] as const)(
    "%s has the layout's projections, its format's, and nothing else",
    (name, format, prefix) => {
      const table = tablesOf30.find((t) => t.Name === name);
      expect(table?.Parameters).toEqual({
        ...format,
        "projection.enabled": "true",
        "projection.customer_id.type": "injected",
        "projection.sub_account_id.type": "injected",
        "projection.export_date.type": "date",
        "projection.export_date.format": "yyyy-MM-dd",
        "projection.export_date.range": "NOW-30DAYS,NOW",
        "projection.export_date.interval": "1",
        "projection.export_date.interval.unit": "DAYS",
        "storage.location.template": `s3://${EMULATED_BUCKET}/${prefix}/${layoutModule.locationTemplate(layoutModule.CURRENT_LAYOUT)}`,
        // SSE-S3 objects: Athena reads them as plain ones; `true` would claim client-side encryption.
        has_encrypted_data: false,
      });
    },
  );

  it("refuses at synth a projection Athena cannot use: a sub-day date format without a step", () => {
    const [customer, subAccount] = layoutModule.LAYOUT_1.partitions;
    if (!customer || !subAccount) throw new Error("layout 1 lost its id partitions");
    const hourly: layoutModule.KeyLayout = {
      version: 99,
      partitions: [
        customer,
        subAccount,
        {
          segment: "hour",
          column: "export_hour",
          value: (_target, createdAt) => createdAt.toISOString().slice(0, 13),
          projection: () => ({
            type: "date",
            format: "yyyy-MM-dd-HH",
            min: "NOW-1DAYS",
            max: "NOW",
          }),
        },
      ],
    };
    expect(() => synthCatalog(90, hourly)).toThrow(/sub-day precision, so 'step'/);
  });
});

describe("the tables under another key layout (test/support/layout-2.ts)", () => {
  // Columns, template and projections all follow the layout, so a new one changes no construct.
  const two = layout2(layoutModule);
  const { tables: tablesOf2 } = synthCatalog(90, two);
  const created = new Date("2026-03-05T10:49:15.000Z");

  it.each([
    [RAW_EXPORTS_TABLE, exportKey],
    [SESSIONS_TABLE, sessionsKey],
  ] as const)("%s projects the keys layout 2 writes", (name, keyOf) => {
    const table = tablesOf2.find((t) => t.Name === name);
    if (!table) throw new Error(`no table ${name}`);
    expect(table.PartitionKeys.map((key) => key.Name)).toEqual([
      "customer_id",
      "sub_account_id",
      "year",
      "month",
      "day",
    ]);
    expect(table.Parameters).toMatchObject({
      "projection.customer_id.type": "injected",
      "projection.year.type": "integer",
      "projection.month.digits": "2",
    });
    expect(table.Parameters).not.toHaveProperty("projection.export_date.type");
    const key = keyOf({ customerId: "42", subAccountId: null }, "x", created, two);
    const location = projected(table, {
      customer_id: "42",
      sub_account_id: "all",
      year: "2026",
      month: "03",
      day: "05",
    });
    expect(location).not.toContain("${");
    expect(`s3://${EMULATED_BUCKET}/${key}`.startsWith(location)).toBe(true);
    expect(key.slice(location.length - `s3://${EMULATED_BUCKET}/`.length)).not.toContain("/");
  });
});

describe("the raw exports table", () => {
  const table = tableNamed(RAW_EXPORTS_TABLE);

  it("reads Wavy's CSV as stored: ';' with RFC 4180 quotes, one header line skipped", () => {
    expect(table.StorageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: SERDE.openCsv,
      Parameters: { separatorChar: ";", quoteChar: '"' },
    });
    expect(table.Parameters["skip.header.line.count"]).toBe("1");
    expect(table.StorageDescriptor.Columns).toEqual([
      { Name: "source", Type: "string" },
      { Name: "session_created_at", Type: "string" },
    ]);
  });
});

describe("the sessions table", () => {
  const table = tableNamed(SESSIONS_TABLE);

  it("is Parquet with the companion's columns, typed as the writer writes them", () => {
    expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(SERDE.parquet);
    expect(table.StorageDescriptor.Columns).toEqual(
      SESSION_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })),
    );
    const [, ...fields] = SESSION_RECORD_SCHEMA;
    expect(fields.map((field) => field.name)).toEqual(SESSION_COLUMNS.map((c) => c.name));
    for (const [i, field] of fields.entries()) {
      const glueType = SESSION_COLUMNS[i]?.type;
      if (glueType === "timestamp") {
        expect(field).toMatchObject({ type: "INT64", converted_type: "TIMESTAMP_MILLIS" });
      } else {
        expect(field).toMatchObject({ type: "BYTE_ARRAY", converted_type: "UTF8" });
      }
    }
  });
});

describe("the Athena workgroup and its named queries", () => {
  it("writes encrypted results under athena-results/ and enforces that on every query", () => {
    template.hasResourceProperties("AWS::Athena::WorkGroup", {
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: {
          OutputLocation: `s3://${EMULATED_BUCKET}/athena-results/`,
          EncryptionConfiguration: { EncryptionOption: "SSE_S3" },
        },
      }),
    });
  });

  it("saves each named query over the catalog's database, in the workgroup", () => {
    const saved = Object.values(template.findResources("AWS::Athena::NamedQuery")).map(
      (resource) => resource.Properties as Record<string, unknown>,
    );
    expect(saved.map((query) => query.QueryString)).toEqual(NAMED_QUERIES.map((q) => q.sql));
    const [database] = Object.values(template.findResources("AWS::Glue::Database"));
    const databaseName = (database?.Properties as { DatabaseInput: { Name: string } } | undefined)
      ?.DatabaseInput.Name;
    expect(databaseName).toBeTruthy();
    for (const query of saved) {
      expect(query.Database).toBe(databaseName);
      expect(query.WorkGroup).toEqual({ Ref: expect.stringMatching(/WorkGroup/) });
    }
  });
});

describe("in the whole stack", () => {
  let synthesised: Synthesised;
  beforeAll(() => {
    synthesised = synth({}, { cfnValidation: false });
  }, SYNTH_TIMEOUT_MS);

  it("keeps the logical ids the database and tables had as L1 resources", () => {
    // A new id for a named Glue resource is a create-then-delete, and the create fails on the name.
    const ids = (type: string) => Object.keys(synthesised.template.findResources(type)).sort();
    expect(ids("AWS::Glue::Database")).toEqual(["CatalogDatabaseE63956BB"]);
    expect(ids("AWS::Glue::Table")).toEqual([
      "CatalogRawExportsTable702494A0",
      "CatalogSessionsTableBDAA9B95",
    ]);
  });

  it("names the database after the stack and points both tables at the export bucket", () => {
    const { template: stackTemplate } = synthesised;
    stackTemplate.hasResourceProperties("AWS::Glue::Database", {
      DatabaseInput: Match.objectLike({ Name: "wavysessions" }),
    });
    const glueTables = Object.values(stackTemplate.findResources("AWS::Glue::Table"));
    expect(glueTables).toHaveLength(2);
    for (const resource of glueTables) {
      const location = JSON.stringify(
        (resource.Properties as { TableInput: GlueTableInput }).TableInput.StorageDescriptor
          .Location,
      );
      expect(location).toMatch(/"Ref":"StorageExports/);
    }
  });
});
