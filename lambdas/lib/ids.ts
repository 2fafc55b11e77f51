import { z } from "zod";

/** Positive integer, 1-18 ASCII digits, no leading zero (DESIGN.md, "Ids"). */
const ID_PATTERN = /^[1-9][0-9]{0,17}$/;

const idMessage = "must be a positive integer id (1-18 digits, no leading zero)";

/** An id as a digit string or a safe JSON integer; always parsed to a string. */
export const IdSchema = z
  .union([
    z.string().regex(ID_PATTERN, idMessage),
    z
      .number()
      .int(idMessage)
      .positive(idMessage)
      .refine(Number.isSafeInteger, idMessage)
      .transform(String),
  ])
  .pipe(z.string().regex(ID_PATTERN, idMessage));

/** Who to read sessions for. `subAccountId: null` means the customer as a whole. */
export const SessionTargetSchema = z.object({
  customerId: IdSchema,
  subAccountId: IdSchema.nullish().transform((id) => id ?? null),
});

export type SessionTarget = z.output<typeof SessionTargetSchema>;

/** The value used in S3 keys and metric dimensions when no sub-account is given. */
export const ALL_SUB_ACCOUNTS = "all";

export function subAccountLabel(target: SessionTarget): string {
  return target.subAccountId ?? ALL_SUB_ACCOUNTS;
}

/** Turns zod's issues into one readable sentence for the error envelope. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
