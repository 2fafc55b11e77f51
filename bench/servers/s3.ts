import { LocalS3 } from "../../dev/local-s3.js";

/** s3rver (behind the test front) in its own process, objects in a temporary folder. */
const bucket = process.env.BENCH_BUCKET ?? "wavy-bench";
const s3 = await new LocalS3({ buckets: [bucket] }).start();
process.on("disconnect", () => void s3.stop().then(() => process.exit(0)));
process.send?.({ ready: true, endpoint: s3.endpoint });
