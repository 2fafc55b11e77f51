import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";

/**
 * S3 has no folders, s3rver files keys in them and removed a folder when its last object was
 * deleted. A PUT into that folder racing the DELETE (the export lifecycle's running markers,
 * `manifests/running/…`, come and go so) then failed to open its file, and s3rver, which does not
 * listen for that stream's error, took the whole process down: `npm start` died with ENOENT
 * under the console's exports.
 */
describe("the local S3 with keys coming and going in one folder", () => {
  const BUCKET = "folders-test";
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

  it("stores a PUT that races the DELETE of the folder's last other object", async () => {
    const key = (i: number) => `manifests/running/${String(i).padStart(4, "0")}.json`;
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(0), Body: "0" }));
    for (let i = 1; i <= 300; i++) {
      // The only object of the folder goes while the next one arrives.
      await Promise.all([
        client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(i), Body: String(i) })),
        client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key(i - 1) })),
      ]);
    }
    const last = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key(300) }));
    expect(await last.Body?.transformToString()).toBe("300");
  });
});
