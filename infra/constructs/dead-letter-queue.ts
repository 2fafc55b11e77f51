import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { acknowledge } from "../nag.js";

export interface DeadLetterQueueProps {
  /** Whose failures the queue receives, for the operator and the cdk-nag reasons. */
  readonly receives: string;
  /**
   * The CloudFormation logical id to keep, when the queue was created elsewhere in the tree
   * before: a new id would make CloudFormation create a second queue and, the queue being
   * retained, leave the first one behind with whatever messages it held.
   * @default the id this construct's path gives
   */
  readonly logicalId?: string;
}

/**
 * The stack's dead-letter queue, its own resource: composed by the stack and handed to every
 * construct whose failures end in it (the counter's schedules and async invocations, the export
 * worker's async invocations), and watched by Observability's DeadLetters alarm. Kept on
 * `cdk destroy` (the failures are the operator's to read), SQS-managed encryption, TLS only.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's maximum: time to look at a failure before it is gone.
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (props.logicalId !== undefined) {
      (this.queue.node.defaultChild as sqs.CfnQueue).overrideLogicalId(props.logicalId);
    }
    const reason = `This queue is itself the dead-letter queue of ${props.receives}.`;
    acknowledge(this.queue, [
      { id: "AwsSolutions-SQS3", reason },
      { id: "Serverless-SQSRedrivePolicy", reason },
    ]);
  }
}
