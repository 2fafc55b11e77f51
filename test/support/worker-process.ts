/**
 * Runs the worker's real handler in a process of its own, configured from the environment as in
 * Lambda, so a test can kill it mid-copy (SIGKILL: no cleanup code runs, as when Lambda times a
 * function out or it runs out of memory). The event is argv[2]; the remaining time argv[3].
 */
import { lambdaContext } from "../../dev/lambda-context.js";

const event = JSON.parse(process.argv[2] ?? "{}");
const remainingMs = Number(process.argv[3] ?? 60_000);
const { handler } = await import("../../lambdas/export-worker/handler.js");
await handler(event, lambdaContext("export-worker", remainingMs));
