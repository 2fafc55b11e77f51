import { beforeAll, describe, expect, it } from "vitest";
import { STACK_OUTPUT as OUTPUT } from "../../lambdas/lib/contract.js";
import { SYNTH_TIMEOUT_MS, type Synthesised, synth, TEST_TARGETS } from "./synth.js";

type Json = Record<string, unknown>;

let withTargets: Synthesised;
let withoutTargets: Synthesised;

beforeAll(() => {
  const options = { cfnValidation: false };
  withTargets = synth({ targets: TEST_TARGETS, stackName: "Smoked" }, options);
  withoutTargets = synth({ targets: [] }, options);
}, SYNTH_TIMEOUT_MS * 2);

const outputs = ({ template }: Synthesised) =>
  template.toJSON().Outputs as Record<string, { Value: unknown }>;

/** The counter function's logical id and environment. */
function counterFunction({ template }: Synthesised): { logicalId: string; variables: Json } {
  for (const [logicalId, fn] of Object.entries(template.findResources("AWS::Lambda::Function"))) {
    const variables = ((fn.Properties as Json).Environment as { Variables: Json }).Variables;
    if (variables.POWERTOOLS_SERVICE_NAME === "wavy-sessions-counter") {
      return { logicalId, variables };
    }
  }
  throw new Error("no counter function");
}

describe("the outputs npm run smoke reads", () => {
  it("name the API, the dead-letter queue and the counter function", () => {
    const values = outputs(withTargets);
    for (const key of [OUTPUT.apiUrl, OUTPUT.deadLetterQueueUrl, OUTPUT.counterFunctionName]) {
      expect(values).toHaveProperty(key);
    }
    expect(values[OUTPUT.counterFunctionName]?.Value).toEqual({
      Ref: counterFunction(withTargets).logicalId,
    });
  });

  it("give the namespace the counter writes its metrics to", () => {
    const { variables } = counterFunction(withTargets);
    expect(outputs(withTargets)[OUTPUT.metricsNamespace]?.Value).toBe(
      variables.POWERTOOLS_METRICS_NAMESPACE,
    );
  });

  it("give a prefix that every alarm of the stack starts with", () => {
    const prefix = outputs(withTargets)[OUTPUT.alarmNamePrefix]?.Value;
    expect(prefix).toBe("Smoked/");
    const names = Object.values(withTargets.template.findResources("AWS::CloudWatch::Alarm")).map(
      (alarm) => String((alarm.Properties as Json).AlarmName),
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !name.startsWith("Smoked/"))).toEqual([]);
  });

  it("give the first target as the counter's event, and none when no target is counted", () => {
    expect(JSON.parse(String(outputs(withTargets)[OUTPUT.firstTarget]?.Value))).toEqual(
      TEST_TARGETS[0],
    );
    expect(outputs(withoutTargets)).not.toHaveProperty(OUTPUT.firstTarget);
  });
});
