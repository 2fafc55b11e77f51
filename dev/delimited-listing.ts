import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";

/**
 * ListObjects (V1 and V2) with a delimiter, for the local S3 front. s3rver prunes the folders it
 * walks below the first delimiter and so only finds objects one level down: with exports at
 * `exports/customerId=42/subAccountId=all/date=…/…csv`, `aws s3 ls s3://<bucket>/exports/`
 * listed nothing. Its listing without a delimiter is right, so the front asks for that and rolls
 * keys up into common prefixes itself, as S3 does
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html): sorted by key, each
 * common prefix counting once towards max-keys, keys url-encoded when `encoding-type=url`.
 */

interface Entry {
  /** The key, or the common prefix it rolls up into: what sorting and paging go by. */
  name: string;
  object?: { size: number; etag: string; lastModified: string };
}

/** The bucket, when the front should answer this request itself: a listing with a delimiter. */
export function delimitedListingBucket(method: string | undefined, url: URL): string | undefined {
  if (method !== "GET" || !url.searchParams.get("delimiter")) return undefined;
  const match = /^\/([^/]+)\/?$/.exec(url.pathname);
  // Other GETs on a bucket (?uploads, ?versions, ?location...) carry no delimiter to fix.
  if (!match || url.searchParams.has("uploads") || url.searchParams.has("versions")) return;
  return decodeURIComponent(match[1] ?? "");
}

export async function delimitedListing(
  backend: S3Client,
  bucket: string,
  query: URLSearchParams,
): Promise<string> {
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const v2 = query.get("list-type") === "2";
  const maxKeys = Math.min(
    1000,
    Math.max(0, Number.parseInt(query.get("max-keys") ?? "1000", 10) || 0),
  );
  const token = query.get("continuation-token");
  const after = v2
    ? token
      ? Buffer.from(token, "base64url").toString("utf8")
      : (query.get("start-after") ?? "")
    : (query.get("marker") ?? "");

  const entries: Entry[] = [];
  for await (const page of paginateListObjectsV2(
    { client: backend },
    { Bucket: bucket, Prefix: prefix },
  )) {
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? "";
      const cut = key.indexOf(delimiter, prefix.length);
      if (cut !== -1) {
        const common = key.slice(0, cut + delimiter.length);
        // Keys sharing a prefix are adjacent in key order: one entry for the run.
        if (entries.at(-1)?.name !== common) entries.push({ name: common });
        continue;
      }
      entries.push({
        name: key,
        object: {
          size: object.Size ?? 0,
          etag: object.ETag ?? "",
          lastModified: (object.LastModified ?? new Date(0)).toISOString(),
        },
      });
    }
  }
  const remaining = entries.filter((entry) => entry.name > after);
  const page = remaining.slice(0, maxKeys);
  const truncated = remaining.length > page.length;
  const last = page.at(-1)?.name;

  const encode = query.get("encoding-type") === "url";
  const text = (value: string) => xml(encode ? encodeURIComponent(value) : value);
  const element = (name: string, value: string | number | undefined) =>
    value === undefined ? "" : `<${name}>${value}</${name}>`;
  const body = [
    element("Name", xml(bucket)),
    element("Prefix", text(prefix)),
    ...(v2
      ? [
          element("KeyCount", page.length),
          token ? element("ContinuationToken", xml(token)) : "",
          truncated && last !== undefined
            ? element("NextContinuationToken", Buffer.from(last).toString("base64url"))
            : "",
          query.has("start-after") ? element("StartAfter", text(after)) : "",
        ]
      : [
          element("Marker", text(after)),
          truncated && last !== undefined ? element("NextMarker", text(last)) : "",
        ]),
    element("MaxKeys", maxKeys),
    element("Delimiter", text(delimiter)),
    element("IsTruncated", String(truncated)),
    encode ? element("EncodingType", "url") : "",
    ...page
      .filter((entry) => entry.object)
      .map(({ name, object }) =>
        element(
          "Contents",
          element("Key", text(name)) +
            element("LastModified", object?.lastModified) +
            element("ETag", xml(object?.etag ?? "")) +
            element("Size", object?.size) +
            element("StorageClass", "STANDARD"),
        ),
      ),
    ...page
      .filter((entry) => !entry.object)
      .map(({ name }) => element("CommonPrefixes", element("Prefix", text(name)))),
  ].join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</ListBucketResult>`;
}

function xml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}
