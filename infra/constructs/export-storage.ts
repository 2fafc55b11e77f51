import { type CfnElement, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { S3_PREFIX, WEBHOOK_REJECTED_PREFIX } from "../../lambdas/lib/contract.js";
import { CURRENT_LAYOUT } from "../../lambdas/lib/layout.js";
import { acknowledge } from "../nag.js";

/** Closing-soon lists outlive their download URL by a day or so; they are stale by then anyway. */
const CLOSING_LIST_DAYS = 2;
/** Athena query results: kept for a week, to re-download a result without re-running it. */
const ATHENA_RESULT_DAYS = 7;
/**
 * Rejected webhook items hold phone numbers (personal data, LGPD): kept long enough to look into
 * a bad delivery, then gone (docs/contract.md, "Rejected items").
 */
const REJECTED_WEBHOOK_DAYS = 14;

export interface ExportStorageProps {
  /** Days an export CSV and its manifest are kept. */
  readonly retentionDays: number;
  /** Days server access logs are kept. */
  readonly accessLogRetentionDays: number;
  /** How long the presigned URLs a bound function mints stay valid (DOWNLOAD_URL_TTL_SECONDS). */
  readonly downloadUrlTtlSeconds: number;
  /**
   * false for a throwaway deployment: both buckets are emptied and deleted with the stack.
   * @default true
   */
  readonly retain?: boolean;
}

/** A prefix of the contract's layout a function may be bound to (docs/contract.md, "S3 layout"). */
export type StorePrefix = Exclude<keyof typeof S3_PREFIX, "athenaResults">;

/**
 * What a function does with the objects under one prefix. `write` is s3:PutObject, which also
 * covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuAndPermissions.html) and the
 * conditional writes (If-Match, If-None-Match) manifests and idempotency records use; `read` is
 * s3:GetObject, which also covers HeadObject and the presigned GETs the function's role signs.
 */
export type ObjectAccess = "read" | "write" | "delete" | "abort";

const OBJECT_ACTIONS: Record<ObjectAccess, string> = {
  read: "s3:GetObject",
  write: "s3:PutObject",
  delete: "s3:DeleteObject",
  abort: "s3:AbortMultipartUpload",
};

/** What one function may do in the store: per prefix, and on the bucket itself. */
export interface ExportStoreAccess {
  readonly objects: { readonly [prefix in StorePrefix]?: readonly ObjectAccess[] };
  /**
   * s3:ListBucket: without it S3 answers a missing key with 403 instead of NoSuchKey, and
   * ListObjectsV2 (the run history) needs it.
   * @default false
   */
  readonly list?: boolean;
  /**
   * s3:ListBucketMultipartUploads, which ListMultipartUploads needs to find a dead worker's upload
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html).
   * @default false
   */
  readonly listUploads?: boolean;
}

/** How each prefix's keys are minted, for the reasons of the suppressions below. */
const folders = CURRENT_LAYOUT.partitions.map((p) => `${p.segment}=<${p.column}>/`).join("");
const data = (prefix: string, name: string) => `${prefix}${folders}<exportId>${name}`;
const KEY_SHAPE: Record<StorePrefix, string> = {
  exports: data(S3_PREFIX.exports, ".csv"),
  sessions: data(S3_PREFIX.sessions, ".parquet"),
  closing: data(S3_PREFIX.closing, "-within-<n>m.csv"),
  manifests: `${S3_PREFIX.manifests}<exportId>.json`,
  history: `${S3_PREFIX.history}customerId=<id>/subAccountId=<id|all>/<stamp>-<exportId>.json`,
  idempotency: `${S3_PREFIX.idempotency}<sha256>.json`,
};

/**
 * The bucket the export copies and their manifests live in, and a second bucket for its server
 * access logs. Both outlive `cdk destroy` (they hold the user's data and its audit trail) unless
 * the deployment is a throwaway one (`retain: false`).
 *
 * Versioning is off on purpose: every object is written once under a fresh exportId and never
 * overwritten (the export function may delete only a CSV whose manifest failed to save), and
 * versioning would turn the retention rule's expiry into delete markers that keep the bytes (and
 * the bill) until a second rule ran.
 */
export class ExportStorage extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  readonly downloadUrlTtlSeconds: number;

  constructor(scope: Construct, id: string, props: ExportStorageProps) {
    super(scope, id);
    this.downloadUrlTtlSeconds = props.downloadUrlTtlSeconds;
    // autoDeleteObjects adds a custom resource that empties the bucket before CloudFormation
    // deletes it (a non-empty bucket cannot be deleted); it requires RemovalPolicy.DESTROY.
    // https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_s3.Bucket.html (autoDeleteObjects)
    const retain = props.retain ?? true;
    const lifetime = retain
      ? { removalPolicy: RemovalPolicy.RETAIN }
      : { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true };

    this.accessLogsBucket = new s3.Bucket(this, "AccessLogs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery supports SSE-S3 only, not SSE-KMS.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...lifetime,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogRetentionDays) }],
    });
    acknowledge(this.accessLogsBucket, [
      {
        id: "AwsSolutions-S1",
        reason:
          "This is the access-log bucket itself; logging its own access would recurse, and it receives only S3's log delivery.",
      },
    ]);

    this.bucket = new s3.Bucket(this, "Exports", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      ...lifetime,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "exports-bucket/",
      lifecycleRules: [
        {
          id: "expire-exports",
          prefix: S3_PREFIX.exports,
          expiration: Duration.days(props.retentionDays),
        },
        {
          // Each export's Parquet companion lives and goes with its CSV.
          id: "expire-sessions",
          prefix: S3_PREFIX.sessions,
          expiration: Duration.days(props.retentionDays),
        },
        {
          id: "expire-closing-lists",
          prefix: S3_PREFIX.closing,
          expiration: Duration.days(CLOSING_LIST_DAYS),
        },
        {
          id: "expire-athena-results",
          prefix: S3_PREFIX.athenaResults,
          expiration: Duration.days(ATHENA_RESULT_DAYS),
        },
        {
          id: "expire-manifests",
          prefix: S3_PREFIX.manifests,
          expiration: Duration.days(props.retentionDays),
        },
        {
          // A history entry lists its export for as long as the export is kept.
          id: "expire-history",
          prefix: S3_PREFIX.history,
          expiration: Duration.days(props.retentionDays),
        },
        {
          // Idempotency-Keys hold for 24 h (docs/contract.md); lifecycle counts whole days, so
          // the records go after two.
          id: "expire-idempotency-keys",
          prefix: S3_PREFIX.idempotency,
          expiration: Duration.days(2),
        },
        {
          id: "expire-rejected-webhooks",
          prefix: WEBHOOK_REJECTED_PREFIX,
          expiration: Duration.days(REJECTED_WEBHOOK_DAYS),
        },
        {
          // A Lambda killed mid-upload leaves parts that are billed but invisible.
          id: "abort-incomplete-uploads",
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /**
   * Binds a function to the store, as Powertools' `bindTable()` binds one to a table: the
   * environment it reads the store from (EXPORT_BUCKET, DOWNLOAD_URL_TTL_SECONDS; docs/contract.md,
   * "Configuration"), exactly the object actions it needs on each prefix, and cdk-nag's
   * AwsSolutions-IAM5 suppressed for those prefixes' wildcards and nothing else, with the reason:
   * an export's keys are minted per export, so access can only be granted per prefix.
   */
  bind(fn: lambda.Function, access: ExportStoreAccess): void {
    fn.addEnvironment("EXPORT_BUCKET", this.bucket.bucketName);
    fn.addEnvironment("DOWNLOAD_URL_TTL_SECONDS", String(this.downloadUrlTtlSeconds));

    // One statement per set of actions, over every prefix that needs exactly that set.
    const byActions = new Map<string, { actions: string[]; prefixes: string[] }>();
    const bound: StorePrefix[] = [];
    for (const [name, uses] of Object.entries(access.objects) as [StorePrefix, ObjectAccess[]][]) {
      if (uses.length === 0) continue;
      bound.push(name);
      const actions = [...new Set(uses.map((use) => OBJECT_ACTIONS[use]))].sort();
      const group = byActions.get(actions.join()) ?? { actions, prefixes: [] };
      group.prefixes.push(S3_PREFIX[name]);
      byActions.set(actions.join(), group);
    }
    for (const { actions, prefixes } of byActions.values()) {
      this.grantObjects(fn, actions, prefixes);
    }
    const bucketActions = [
      ...(access.list ? ["s3:ListBucket"] : []),
      ...(access.listUploads ? ["s3:ListBucketMultipartUploads"] : []),
    ];
    if (bucketActions.length > 0) this.grantBucket(fn, bucketActions);

    if (bound.length === 0) return;
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const names = bound.map((name) => S3_PREFIX[name].slice(0, -1));
    acknowledge(fn.role ?? fn, [
      {
        id: "AwsSolutions-IAM5",
        reason: `Keys are minted per export (${bound.map((name) => KEY_SHAPE[name]).join(", ")}), so access is granted on exactly those prefixes and nothing else in the bucket.`,
        findings: names.map((name) => `Resource::<${bucketId}.Arn>/${name}/*`),
      },
    ]);
  }

  /**
   * The grant bind() makes; a function construct calls bind(), which also sets the environment
   * and the suppression. Object actions on some of the contract's prefixes only
   * (docs/contract.md, "S3 layout"). S3's
   * s3:PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuAndPermissions.html) and the
   * conditional writes (If-Match, If-None-Match) the manifests and idempotency records use.
   */
  grantObjects(grantee: iam.IGrantable, actions: string[], prefixes: string[]): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: prefixes.map((prefix) => this.objectsArn(prefix)),
    });
  }

  /**
   * The bucket-level grant bind() makes: s3:ListBucket, without which S3 answers a missing key with 403 instead
   * of NoSuchKey and which ListObjectsV2 needs, and s3:ListBucketMultipartUploads, which
   * ListMultipartUploads needs (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html).
   */
  grantBucket(grantee: iam.IGrantable, actions: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.bucket.bucketArn] });
  }

  /** ARN pattern of the objects under one of the contract's prefixes (S3_PREFIX). */
  objectsArn(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }
}
