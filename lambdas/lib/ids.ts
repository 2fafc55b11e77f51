import * as z from "zod/mini";
import { ALL_SUB_ACCOUNTS, ID_PATTERN } from "./contract.js";

const idMessage = "must be a positive integer id (1-18 digits, no leading zero)";

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
    { error: (issue) => (issue.input === undefined ? "is required" : idMessage) },
  ),
  idDigits,
);

/** Who to read sessions for. `subAccountId: null` means the customer as a whole. */
export const SessionTargetSchema = z.object(
  {
    customerId: IdSchema,
    subAccountId: z.pipe(
      z.nullish(IdSchema),
      z.transform((id: string | null | undefined) => id ?? null),
    ),
  },
  "must be a JSON object with customerId (and optionally subAccountId)",
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
