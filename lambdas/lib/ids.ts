import * as z from "zod/mini";
import { ALL_SUB_ACCOUNTS, ID_PATTERN, WINDOW_LOOKUP } from "./contract.js";

const idMessage = "must be a positive integer id (1-18 digits, no leading zero)";
/**
 * JSON.parse turns an integer above 2^53 - 1 into the nearest double, so an 18-digit id sent as
 * a number arrives already changed: telling its sender "1-18 digits" would be no help.
 */
const unsafeIntegerMessage =
  "is a JSON number above 2^53 - 1, which JSON cannot carry exactly: send the id as a string of 1-18 digits";

const isUnsafeInteger = (input: unknown): boolean =>
  typeof input === "number" && Number.isInteger(input) && input > Number.MAX_SAFE_INTEGER;

// zod/mini carries no locale: every issue these schemas can raise has its message here.
const idDigits = z.string(idMessage).check(z.regex(ID_PATTERN, idMessage));

/** An id as a digit string or a safe JSON integer; always parsed to a string. */
export const IdSchema = z.pipe(
  z.union(
    [
      idDigits,
      z.pipe(
        z
          .number(idMessage)
          .check(z.refine((id: number) => Number.isSafeInteger(id) && id > 0, idMessage)),
        z.transform((id: number) => String(id)),
      ),
    ],
    {
      error: (issue) =>
        issue.input === undefined
          ? "is required"
          : isUnsafeInteger(issue.input)
            ? unsafeIntegerMessage
            : idMessage,
    },
  ),
  idDigits,
);

const targetShape = {
  customerId: IdSchema,
  subAccountId: z.pipe(
    z.nullish(IdSchema),
    z.transform((id: string | null | undefined) => id ?? null),
  ),
};
const notAnObject = "must be a JSON object with customerId (and optionally subAccountId)";

/** Who to read sessions for. `subAccountId: null` means the customer as a whole. */
export const SessionTargetSchema = z.object(targetShape, notAnObject);

/** A field's or parameter's name as an error quotes it: cut short, so a huge or hostile one stays readable. */
export const quotedName = (name: string) => JSON.stringify(name.slice(0, 40));

/** Unknown fields are named, each cut short and quoted. */
function unknownFieldsMessage(keys: readonly string[], takes: string): string {
  const shown = keys.slice(0, 3).map(quotedName);
  const more = keys.length > 3 ? ` and ${keys.length - 3} more` : "";
  const fields = keys.length === 1 ? "field" : "fields";
  return `unknown ${fields} ${shown.join(", ")}${more}: ${takes}`;
}

/**
 * The POST /exports body: the target and nothing else. A typo such as `subaccountId` would
 * otherwise be ignored and export the whole customer (docs/contract.md, "HTTP API").
 */
export const SessionTargetBodySchema = z.strictObject(targetShape, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? unknownFieldsMessage(issue.keys, "the body takes customerId and, optionally, subAccountId")
      : notAnObject,
});

const originsMessage = `must be a list of 1-${WINDOW_LOOKUP.maxOrigins} business numbers`;
const businessNumberMessage = `must be a string of 1-${WINDOW_LOOKUP.maxNumberLength} characters`;
const businessNumber = z
  .string(businessNumberMessage)
  .check(
    z.minLength(1, businessNumberMessage),
    z.maxLength(WINDOW_LOOKUP.maxNumberLength, businessNumberMessage),
  );

/**
 * The counter's event, as EventBridge Scheduler delivers a schedule's input: a target, and
 * `snapshot: true` to store the CSV it counts. Strict for the body's reason: a hand-written
 * `"snapshots": true` would otherwise count, store nothing, and say nothing.
 */
export const CounterEventSchema = z.strictObject(
  {
    ...targetShape,
    snapshot: z.optional(z.boolean("snapshot must be true or false")),
    // The target's business numbers, for OpenWindows (docs/contract.md, "Live windows").
    origins: z.optional(
      z
        .array(businessNumber, originsMessage)
        .check(
          z.minLength(1, originsMessage),
          z.maxLength(WINDOW_LOOKUP.maxOrigins, originsMessage),
        ),
    ),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? unknownFieldsMessage(
            issue.keys,
            "the event takes customerId and, optionally, subAccountId, snapshot and origins",
          )
        : notAnObject,
  },
);

export type SessionTarget = z.output<typeof SessionTargetSchema>;

export function subAccountLabel(target: SessionTarget): string {
  return target.subAccountId ?? ALL_SUB_ACCOUNTS;
}

/** Turns zod's issues into one readable sentence for the error envelope. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
