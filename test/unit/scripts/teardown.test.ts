import { describe, expect, it } from "vitest";
import { type StackResource, teardownCommands } from "../../../scripts/teardown/commands.js";
import { SYNTH_TIMEOUT_MS, synth } from "../../infra/synth.js";

describe("npm run teardown: what cdk destroy keeps, and the commands that remove it", () => {
  it(
    "has a command for every retained resource of the production default, buckets first",
    () => {
      const template = synth({}, { cfnValidation: false }).template.toJSON() as {
        Resources: Record<string, { Type: string; DeletionPolicy?: string }>;
      };
      const retained = Object.entries(template.Resources).filter(
        ([, r]) => r.DeletionPolicy === "Retain",
      );
      expect(retained.length).toBeGreaterThan(0);
      const resources: StackResource[] = retained.map(([logicalId, r]) => ({
        LogicalResourceId: logicalId,
        PhysicalResourceId: `physical-${logicalId}`,
        ResourceType: r.Type,
      }));
      const lines = teardownCommands(template, resources);
      for (const [logicalId] of retained)
        expect(
          lines.some((line) => line.includes(`physical-${logicalId}`)),
          logicalId,
        ).toBe(true);
      const buckets = lines.filter((line) => line.startsWith("aws s3 rb"));
      expect(buckets).toHaveLength(2);
      expect(lines.indexOf(buckets[0] ?? "")).toBe(0);
    },
    SYNTH_TIMEOUT_MS,
  );

  it("says so for a retained resource the stack never created, and refuses an unknown type", () => {
    const template = { Resources: { Q: { Type: "AWS::SQS::Queue", DeletionPolicy: "Retain" } } };
    expect(teardownCommands(template, [])).toEqual([
      "# Q (AWS::SQS::Queue) was never created: nothing to remove",
    ]);
    expect(() =>
      teardownCommands({ Resources: { K: { Type: "AWS::KMS::Key", DeletionPolicy: "Retain" } } }, [
        { LogicalResourceId: "K", PhysicalResourceId: "k" },
      ]),
    ).toThrow(/no tear-down command known for AWS::KMS::Key/);
  });
});
