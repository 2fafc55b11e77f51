import { RemovalPolicy, SecretValue } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { NagSuppressions } from "cdk-nag";
import { Construct } from "constructs";
import type { SecretSource } from "../config.js";

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

  constructor(scope: Construct, id: string, props: WavySecretProps) {
    super(scope, id);
    const { source } = props;
    switch (source.kind) {
      case "create": {
        const secret = new secretsmanager.Secret(this, "Secret", {
          description:
            'Wavy Messaging credentials for wavy-sessions: {"userName": "...", "authenticationToken": "..."}',
          // Placeholders, not credentials: the handlers refuse empty values with a clear log line.
          secretObjectValue: {
            userName: SecretValue.unsafePlainText(""),
            authenticationToken: SecretValue.unsafePlainText(""),
          },
          // The value the operator put in must survive a teardown.
          removalPolicy: RemovalPolicy.RETAIN,
        });
        NagSuppressions.addResourceSuppressions(secret, [
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
  }
}
