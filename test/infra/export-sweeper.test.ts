import { beforeAll, describe, expect, it } from "vitest";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth, TEST_TARGETS } from "./synth.js";
import { listOf, logicalIdOf, resourcesOf, type Statement, statementsOfRole } from "./template.js";

let synthesised: Synthesised;
beforeAll(() => {
  synthesised = synth({ targets: TEST_TARGETS }, { cfnValidation: false });
}, SYNTH_TIMEOUT_MS);

describe("the export sweeper (issue 19)", () => {
  const sweeps = () =>
    Object.entries(resourcesOf(synthesised.template, "AWS::Scheduler::Schedule")).filter(
      ([, schedule]) => schedule.Properties.GroupName === "WavySessions-sweeper",
    );

  it("invokes the worker with {sweep: true} every 5 minutes, dead-lettering, never retrying", () => {
    const [sweep, ...others] = sweeps();
    expect(others).toEqual([]);
    const properties = sweep?.[1].Properties ?? {};
    const target = properties.Target as {
      Arn: unknown;
      Input: string;
      RetryPolicy: unknown;
      DeadLetterConfig: unknown;
    };
    expect(properties.ScheduleExpression).toBe("rate(5 minutes)");
    expect(JSON.parse(target.Input)).toEqual({ sweep: true });
    expect(logicalIdOf(target.Arn)).toBe(
      logicalIdOf(synthesised.stack.resolve(synthesised.stack.worker.function.functionArn)),
    );
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 0 });
    expect(target.DeadLetterConfig).toBeDefined();
  });

  it("lets the worker take back running-index entries and find a dead run's upload", () => {
    const role = logicalIdOf(
      synthesised.stack.resolve(
        (synthesised.stack.worker.function.role as { roleArn: string }).roleArn,
      ),
    );
    const statements: Statement[] = statementsOfRole(synthesised.template, role ?? "");
    const allows = (action: string) => statements.filter((s) => listOf(s.Action).includes(action));
    expect(allows("s3:ListBucketMultipartUploads")).toHaveLength(1);
    expect(
      allows("s3:DeleteObject").some((s) => JSON.stringify(s.Resource).includes("/manifests/*")),
    ).toBe(true);
  });
});
