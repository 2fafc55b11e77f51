import { describe, expect, it } from "vitest";
import { CFN_VARIANTS } from "../../scripts/cfn-variants.js";
import { nagFindings, SYNTH_TIMEOUT_MS, synth } from "./synth.js";

// The deployments npm run lint:cfn lints (cfn-lint is not part of npm test): each switches on
// other constructs, grants and policies, so each gets its own cdk-nag pass.
describe.each(Object.entries(CFN_VARIANTS))("the %s deployment", (_name, context) => {
  it(
    "has no unsuppressed cdk-nag finding",
    () => {
      const { stack } = synth(context, { cfnValidation: false });
      expect(nagFindings(stack)).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );
});
