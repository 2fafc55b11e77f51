import { Arn, ArnFormat, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { SECRET_PLACEHOLDER } from "../../lambdas/lib/contract.js";
import type { SecretSource } from "../config.js";
import { acknowledge } from "../nag.js";

export interface WavySecretProps {
  readonly source: SecretSource;
}

/**
 * The Wavy credentials (`{"userName", "authenticationToken"}`): a new secret holding a
 * placeholder the operator overwrites with put-secret-value, or an existing one by name or ARN.
 */
export class WavySecret extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** What the handlers get as WAVY_SECRET_ID. */
  readonly secretId: string;
  /** The one resource GetSecretValue is granted on. */
  private readonly policyResource: string;
  /** The customer-managed key an imported secret is encrypted with, if any. */
  private readonly kmsKeyArn?: string;
  /** The region whose Secrets Manager endpoint the functions call for the secret. */
  private readonly secretRegion: string;

  constructor(scope: Construct, id: string, props: WavySecretProps) {
    super(scope, id);
    const { source } = props;
    this.kmsKeyArn = source.kind === "create" ? undefined : source.kmsKeyArn;
    this.secretRegion =
      source.kind === "arn"
        ? (Arn.split(source.secretArn, ArnFormat.COLON_RESOURCE_NAME).region ??
          Stack.of(this).region)
        : Stack.of(this).region;
    switch (source.kind) {
      case "create": {
        const secret = new secretsmanager.Secret(this, "Secret", {
          description:
            'Wavy Messaging credentials for wavy-sessions: {"userName": "...", "authenticationToken": "..."}',
          // Not credentials: the contract's placeholder, which the functions recognise as "not
          // configured yet" (the counter records NotConfigured instead of failing), so the
          // first deploy neither dead-letters nor alarms before the operator puts the value.
          secretObjectValue: Object.fromEntries(
            Object.entries(SECRET_PLACEHOLDER).map(([field, value]) => [
              field,
              SecretValue.unsafePlainText(value),
            ]),
          ),
          // The value the operator put in must survive a teardown.
          removalPolicy: RemovalPolicy.RETAIN,
        });
        acknowledge(secret, [
          {
            id: "AwsSolutions-SMG4",
            reason:
              "Wavy issues the token; it offers no API a rotation Lambda could call. Operators rotate by put-secret-value, and the handlers re-read the secret once on a Wavy 401.",
          },
        ]);
        this.secret = secret;
        this.secretId = secret.secretArn;
        this.policyResource = secret.secretArn;
        break;
      }
      case "arn": {
        this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, "Secret", source.secretArn);
        this.secretId = source.secretArn;
        this.policyResource = source.secretArn;
        break;
      }
      case "name": {
        this.secret = secretsmanager.Secret.fromSecretNameV2(this, "Secret", source.secretName);
        this.secretId = source.secretName;
        // The ARN ends in a random 6-character suffix unknown at synth; `??????` matches exactly it.
        this.policyResource = `${this.secret.secretArn}-??????`;
        break;
      }
    }
  }

  /** secretsmanager:GetSecretValue on this secret alone (no DescribeSecret: nobody calls it). */
  grantRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [this.policyResource],
      }),
    );
    if (!this.kmsKeyArn) return;
    // To answer GetSecretValue, Secrets Manager calls kms:Decrypt with the caller's
    // permissions (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html#security-encryption-authz).
    // kms:ViaService keeps the grant to requests Secrets Manager makes on the function's behalf:
    // the function cannot use the key directly
    // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
    // The key's own policy must also let the account's IAM policies grant it (the default key
    // policy does); docs/deploying.md says so.
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt"],
        resources: [this.kmsKeyArn],
        conditions: {
          StringEquals: {
            "kms:ViaService": `secretsmanager.${this.secretRegion}.amazonaws.com`,
          },
        },
      }),
    );
  }
}
