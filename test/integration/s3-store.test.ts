import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";
import { Deadline } from "../../lambdas/lib/clock.js";
import { IF_ABSENT } from "../../lambdas/lib/exports/ports.js";
import { s3ExportStore } from "../../lambdas/lib/exports-aws/s3-store.js";

/**
 * The export store's S3 adapter over the real protocol: conditional writes and deletes as S3
 * answers them, 409 ConditionalRequestConflict retried (AWS says to), 412 a lost race.
 */
const BUCKET = "store-test";

describe("the S3 export store", () => {
  let s3: LocalS3;
  let client: S3Client;
  const signal = () => new Deadline(5_000).signal;

  beforeAll(async () => {
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    client = new S3Client(localS3ClientConfig(s3.endpoint));
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });
  afterEach(() => s3.clearFaults());

  it("retries a 409 ConditionalRequestConflict on a conditional write, and wins", async () => {
    const store = s3ExportStore(client, BUCKET);
    let conflicts = 2;
    s3.injectFault((req) =>
      req.method === "PUT" && req.headers["if-none-match"] && conflicts-- > 0 ? 409 : undefined,
    );

    const etag = await store.put("manifests/conflict.json", "{}", IF_ABSENT, signal());

    expect(etag).toMatch(/\w/);
    expect(conflicts).toBe(-1);
    expect((await store.get("manifests/conflict.json", signal()))?.etag).toBe(etag);
  });

  it("takes a 412 as a lost race, without retrying", async () => {
    const store = s3ExportStore(client, BUCKET);
    await store.put("manifests/taken.json", "{}", IF_ABSENT, signal());
    s3.requests.length = 0;

    expect(await store.put("manifests/taken.json", "{}", IF_ABSENT, signal())).toBeUndefined();
    expect(s3.requests).toHaveLength(1);
  });

  it("deletes on If-Match only the version named", async () => {
    const store = s3ExportStore(client, BUCKET);
    const first = (await store.put("idempotency/k.json", "1", undefined, signal())) ?? "";
    await store.put("idempotency/k.json", "2", undefined, signal());

    expect(await store.delete("idempotency/k.json", first, signal())).toBe(false);
    const current = await store.get("idempotency/k.json", signal());
    expect(current?.text).toBe("2");
    expect(await store.delete("idempotency/k.json", current?.etag, signal())).toBe(true);
    expect(await store.get("idempotency/k.json", signal())).toBeUndefined();
  });
});
