import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";
import { PartUploader } from "../../lambdas/lib/s3/part-uploader.js";

/**
 * Issue 19: a committed object is write-once. The CSV's commit (its one PutObject) carries
 * `If-None-Match: *`, so an object already at the key is refused, never overwritten.
 */
const BUCKET = "write-once";

describe("the CSV's commit", () => {
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    client = new S3Client(localS3ClientConfig(s3.endpoint));
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  const upload = (key: string) =>
    new PartUploader({ s3: client, bucket: BUCKET, key, contentType: "text/csv" });

  it("refuses to overwrite an object already at the key (412), keeping it", async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "taken.csv", Body: "first" }));
    const second = upload("taken.csv");
    await second.write(Buffer.from("second"));

    await expect(second.finish()).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const kept = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "taken.csv" }));
    expect(await kept.Body?.transformToString()).toBe("first");
  });

  it("commits to a fresh key (control)", async () => {
    const fresh = upload("fresh.csv");
    await fresh.write(Buffer.from("rows"));
    await expect(fresh.finish()).resolves.toBeUndefined();
  });
});
