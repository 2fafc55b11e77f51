import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { RejectedItemDocument, RejectedItemSink } from "./webhook-message.js";

/**
 * Rejected webhook items kept in the export bucket under `webhooks/rejected/`
 * (docs/contract.md, "Live windows", "Rejected items"): one small JSON object each, PutObject
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html), overwritten as it is by
 * a redelivery of the same message.
 */
export class S3RejectedItemSink implements RejectedItemSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async keep(key: string, document: RejectedItemDocument): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(document),
        ContentType: "application/json",
      }),
    );
  }
}
