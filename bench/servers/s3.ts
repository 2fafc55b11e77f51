import { LocalS3 } from "../../dev/local-s3.js";
import { TlsFront } from "../../dev/tls-front.js";
import { benchCertificate } from "./tls.js";

/**
 * s3rver (behind the test front) in its own process, objects in a temporary folder, reachable
 * over plain HTTP and over HTTPS (a TLS front before the same server), as S3 is in production.
 */
const bucket = process.env.BENCH_BUCKET ?? "wavy-bench";
const s3 = await new LocalS3({ buckets: [bucket] }).start();
const tls = await new TlsFront(Number(new URL(s3.endpoint).port), benchCertificate()).start();
process.on(
  "disconnect",
  () => void Promise.all([tls.stop(), s3.stop()]).then(() => process.exit(0)),
);
process.send?.({ ready: true, endpoint: s3.endpoint, tlsEndpoint: tls.origin });
