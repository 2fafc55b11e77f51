import {
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";

/**
 * Issue 11, item 11: browsing the local S3 by folder, as `aws s3 ls` and the console do
 * (ListObjects with Delimiter "/"), shows the exports however deep they are filed.
 */

const BUCKET = "listing-test";
const KEYS = [
  "exports/customerId=42/subAccountId=all/date=2026-11-28/a.csv",
  "exports/customerId=42/subAccountId=all/date=2026-11-28/b.csv",
  "exports/customerId=42/subAccountId=7/date=2026-11-29/c.csv",
  "exports/customerId=1001/subAccountId=all/date=2026-11-28/d.csv",
  "manifests/a.json",
  "top.txt",
];

describe("the local S3's listing with a delimiter", () => {
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    client = new S3Client(localS3ClientConfig(s3.endpoint));
    for (const key of KEYS) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  const listV2 = async (
    Prefix: string,
    extra: { MaxKeys?: number; ContinuationToken?: string } = {},
  ) => {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix, Delimiter: "/", ...extra }),
    );
    return {
      prefixes: (page.CommonPrefixes ?? []).map((p) => p.Prefix),
      keys: (page.Contents ?? []).map((o) => o.Key),
      page,
    };
  };

  it.each([
    ["", ["exports/", "manifests/"], ["top.txt"]],
    ["exports/", ["exports/customerId=1001/", "exports/customerId=42/"], []],
    [
      "exports/customerId=42/",
      ["exports/customerId=42/subAccountId=7/", "exports/customerId=42/subAccountId=all/"],
      [],
    ],
    [
      "exports/customerId=42/subAccountId=all/date=2026-11-28/",
      [],
      [
        "exports/customerId=42/subAccountId=all/date=2026-11-28/a.csv",
        "exports/customerId=42/subAccountId=all/date=2026-11-28/b.csv",
      ],
    ],
    ["nothing-here/", [], []],
  ])("lists prefix %j one level down", async (prefix, prefixes, keys) => {
    const listed = await listV2(prefix);

    expect(listed.prefixes).toEqual(prefixes);
    expect(listed.keys).toEqual(keys);
    expect(listed.page.KeyCount).toBe(prefixes.length + keys.length);
  });

  it("pages common prefixes and keys together, max-keys at a time", async () => {
    const first = await listV2("", { MaxKeys: 2 });
    const second = await listV2("", {
      MaxKeys: 2,
      ContinuationToken: first.page.NextContinuationToken,
    });

    expect(first.prefixes).toEqual(["exports/", "manifests/"]);
    expect(first.page.IsTruncated).toBe(true);
    expect(second.keys).toEqual(["top.txt"]);
    expect(second.prefixes).toEqual([]);
    expect(second.page.IsTruncated).toBe(false);
  });

  it("answers ListObjects (V1) the same way, with a marker", async () => {
    const first = await client.send(
      new ListObjectsCommand({ Bucket: BUCKET, Prefix: "exports/", Delimiter: "/", MaxKeys: 1 }),
    );
    const second = await client.send(
      new ListObjectsCommand({
        Bucket: BUCKET,
        Prefix: "exports/",
        Delimiter: "/",
        Marker: first.NextMarker,
      }),
    );

    expect(first.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["exports/customerId=1001/"]);
    expect(first.IsTruncated).toBe(true);
    expect(second.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["exports/customerId=42/"]);
  });

  it("url-encodes what it lists when asked, as the AWS CLI asks", async () => {
    const response = await fetch(
      `${s3.endpoint}/${BUCKET}?list-type=2&prefix=exports%2F&delimiter=%2F&encoding-type=url`,
    );
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(body).toContain("<Prefix>exports%2FcustomerId%3D42%2F</Prefix>");
    expect(body).toContain("<EncodingType>url</EncodingType>");
  });

  it("still lists without a delimiter (s3rver answers those itself)", async () => {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "exports/" }),
    );
    expect(page.Contents?.map((o) => o.Key).sort()).toEqual(
      KEYS.filter((k) => k.startsWith("exports/")).sort(),
    );
  });
});
