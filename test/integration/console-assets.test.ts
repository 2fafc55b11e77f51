import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer } from "../../dev/api-gateway.js";
import { allowConsoleReads, withConsole } from "../../dev/console-assets.js";
import { LocalS3, localS3ClientConfig } from "../../dev/local-s3.js";

const BUCKET = "console-assets";

/** The console's static route in the local stand-in (docs/contract.md, "Local console"). */
describe("the console's files beside the API handler", () => {
  const handled: APIGatewayProxyEvent[] = [];
  let s3: LocalS3;
  let api: Awaited<ReturnType<typeof startApiServer>>;

  beforeAll(async () => {
    s3 = await new LocalS3({ buckets: [BUCKET] }).start();
    api = await startApiServer(
      withConsole(
        async (event) => {
          handled.push(event);
          return { statusCode: 404, body: '{"error":{"code":"NOT_FOUND","message":"handler"}}' };
        },
        {
          targets: [{ customerId: "42", subAccountId: "7" }],
          origins: ["5511999990000"],
          s3Endpoint: s3.endpoint,
        },
      ),
    );
    await allowConsoleReads(s3.endpoint, BUCKET, api.url);
  });

  afterAll(async () => {
    await api?.close();
    await s3?.stop();
  });

  it("serves the page at / with a policy that lets it reach this API and the local S3 only", async () => {
    const answer = await fetch(`${api.url}/`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(answer.headers.get("content-security-policy")).toContain(
      `connect-src 'self' ${s3.endpoint};`,
    );
    expect(await answer.text()).toContain('<script type="module" src="/console/console.js">');
  });

  it("serves every file the page and its modules ask for, uPlot byte for byte from node_modules", async () => {
    const html = await (await fetch(`${api.url}/`)).text();
    const script = await (await fetch(`${api.url}/console/console.js`)).text();
    const asked = new Set(
      [...`${html}\n${script}`.matchAll(/["'](\/console\/[^"']+)["']/g)].map((m) => m[1] ?? ""),
    );
    expect(asked.size).toBeGreaterThanOrEqual(5);
    for (const path of asked) {
      const answer = await fetch(`${api.url}${path}`);
      expect(answer.status, path).toBe(200);
    }
    const served = Buffer.from(
      await (await fetch(`${api.url}/console/vendor/uPlot.esm.js`)).arrayBuffer(),
    );
    expect(served.equals(await readFile("node_modules/uplot/dist/uPlot.esm.js"))).toBe(true);
  });

  it("lists the local counter's targets and the webhook's origins for the page to open on", async () => {
    const answer = await fetch(`${api.url}/console/targets.json`);

    expect(await answer.json()).toEqual({
      targets: [{ customerId: "42", subAccountId: "7" }],
      origins: ["5511999990000"],
    });
  });

  it("leaves every other path and method to the API handler, escapes included", async () => {
    handled.length = 0;
    await fetch(`${api.url}/console/package.json`);
    await fetch(`${api.url}/`, { method: "POST", body: "{}" });
    // A raw path, as fetch would normalise "..": nothing outside the fixed list reaches the disk.
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(api.url);
      request({ host: url.hostname, port: url.port, path: "/console/../package.json" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });

    expect(status).toBe(404);
    expect(handled.map((event) => `${event.httpMethod} ${event.path}`)).toEqual([
      "GET /console/package.json",
      "POST /",
      // The stand-in resolves dot segments as a URL does; what is left is no console file.
      "GET /package.json",
    ]);
  });

  it("lets the console's origin, and no other, read a presigned URL of the bucket", async () => {
    const client = new S3Client(localS3ClientConfig(s3.endpoint));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "closing/list.csv", Body: "x" }));
    const url = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: BUCKET, Key: "closing/list.csv" }),
    );
    client.destroy();
    const port = new URL(api.url).port;

    const own = await fetch(url, { headers: { origin: `http://localhost:${port}` } });
    const other = await fetch(url, { headers: { origin: "http://127.0.0.1:1" } });

    expect(own.headers.get("access-control-allow-origin")).toBe(`http://localhost:${port}`);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
