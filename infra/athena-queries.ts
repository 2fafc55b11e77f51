/**
 * The named queries the stack saves in the Athena workgroup, over the tables of
 * infra/constructs/data-catalog.ts. Each is parameterised with `?` placeholders, which Athena's
 * console prompts for and `aws athena start-query-execution --execution-parameters` fills
 * (https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements-querying-using-execution-parameters.html).
 *
 * Written in the SQL that Athena (Trino) and DuckDB share, so test/integration/athena-queries
 * runs these very strings over the files the export wrote. The target's partition columns are
 * always compared for equality with a parameter: they are `injected` projections, which Athena
 * refuses to query without a static value for them.
 */

export const SESSIONS_TABLE = "sessions";
export const RAW_EXPORTS_TABLE = "raw_exports";

export interface NamedQuery {
  name: string;
  description: string;
  /** The parameters, in order, as the console prompts for them. */
  parameters: string[];
  /**
   * One value per parameter as Athena takes it: an execution parameter is pasted into the SQL as
   * a literal, so text goes in single quotes ('42', not 42, which fails as varchar = integer).
   */
  example: string[];
  sql: string;
}

export const OPEN_SESSIONS_OVER_TIME: NamedQuery = {
  name: "open-sessions-per-target-over-time",
  description:
    "Open sessions in each export of one target between two UTC dates, as the counter's OpenSessions counts them (every data row), with the rows whose timestamp was unreadable.",
  parameters: ["customer id", "sub-account id or 'all'", "first date 'YYYY-MM-DD'", "last date"],
  example: ["'42'", "'all'", "'2026-11-27'", "'2026-11-28'"],
  sql: `SELECT exported_at, export_id,
       count(*) AS open_sessions,
       count_if(created_at IS NULL) AS unparseable_timestamps
FROM ${SESSIONS_TABLE}
WHERE customer_id = ? AND sub_account_id = ?
  AND export_date BETWEEN ? AND ?
GROUP BY exported_at, export_id
ORDER BY exported_at`,
};

export const CLOSING_IN_LATEST_SNAPSHOT: NamedQuery = {
  name: "destinations-closing-within-hours-in-latest-snapshot",
  description:
    "In one target's latest export, the destinations whose 24 h window closes within N hours of that export, soonest first (the window is (exported_at, exported_at + N h], as the counter's SessionsExpiringWithin figures count from its clock).",
  parameters: [
    "customer id",
    "sub-account id or 'all'",
    "customer id (again)",
    "sub-account id (again)",
    "hours",
  ],
  example: ["'42'", "'all'", "'42'", "'all'", "2"],
  sql: `WITH latest AS (
  SELECT max_by(export_id, exported_at) AS export_id, max(exported_at) AS exported_at
  FROM ${SESSIONS_TABLE}
  WHERE customer_id = ? AND sub_account_id = ?
)
SELECT s.source, s.closes_at
FROM ${SESSIONS_TABLE} s
JOIN latest l ON s.export_id = l.export_id
WHERE s.customer_id = ? AND s.sub_account_id = ?
  AND s.closes_at > l.exported_at
  AND s.closes_at <= l.exported_at + INTERVAL '1' HOUR * ?
ORDER BY s.closes_at, s.source`,
};

export const APPEARED_OR_DISAPPEARED: NamedQuery = {
  name: "destinations-appeared-or-disappeared-between-snapshots",
  description:
    "The destinations that appeared or disappeared between two exports of one target (export ids from the API or the open-sessions query).",
  parameters: [
    "customer id",
    "sub-account id or 'all'",
    "earlier export id",
    "customer id (again)",
    "sub-account id (again)",
    "later export id",
  ],
  example: [
    "'42'",
    "'all'",
    "'20261127T200000Z-0123456789abcdef'",
    "'42'",
    "'all'",
    "'20261128T120000Z-fedcba9876543210'",
  ],
  sql: `WITH earlier AS (
  SELECT DISTINCT source FROM ${SESSIONS_TABLE}
  WHERE customer_id = ? AND sub_account_id = ? AND export_id = ?
), later AS (
  SELECT DISTINCT source FROM ${SESSIONS_TABLE}
  WHERE customer_id = ? AND sub_account_id = ? AND export_id = ?
)
SELECT coalesce(earlier.source, later.source) AS source,
       CASE WHEN earlier.source IS NULL THEN 'appeared' ELSE 'disappeared' END AS change
FROM earlier
FULL OUTER JOIN later ON earlier.source = later.source
WHERE earlier.source IS NULL OR later.source IS NULL
ORDER BY change, source`,
};

/**
 * The saved query's description: what it answers, its parameters, and an example of them as
 * Athena wants them (the console pastes each value into the SQL as it is typed).
 */
export function namedQueryDescription(query: NamedQuery): string {
  return `${query.description} Parameters: ${query.parameters.join(", ")}. Each is an SQL literal, text in single quotes, e.g. ${query.example.join(" ")}.`;
}

export const NAMED_QUERIES: readonly NamedQuery[] = [
  OPEN_SESSIONS_OVER_TIME,
  CLOSING_IN_LATEST_SNAPSHOT,
  APPEARED_OR_DISAPPEARED,
];
