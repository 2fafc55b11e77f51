import { pathToFileURL } from "node:url";

/** `node init-probe.mjs <bundle>`: how long a fresh Node takes to import() the bundle. */
const bundle = process.argv[2] ?? "";
const started = performance.now();
await import(pathToFileURL(bundle).href);
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ ms })}\n`);
process.exit(0);
