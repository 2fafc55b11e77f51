import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../../lambdas/lib/contract.js";
import { createCsvScanner, MalformedCsvError } from "../../../../lambdas/lib/csv/scanner.js";
import { chunked } from "./support.js";

const CAP = LIMITS.maxCsvRecordBytes;
const HEADER = "source;session_created_at\n";
const ROW = "5511987654321;2026-11-28 09:15:42\n";

type Outcome = { rows: number; timestamps: number } | { error: "malformed" };

function scanOutcome(chunks: readonly Uint8Array[]): Outcome {
  let timestamps = 0;
  const scanner = createCsvScanner({ onTimestamp: () => timestamps++ });
  try {
    for (const chunk of chunks) scanner.write(chunk);
    return { rows: scanner.finish(), timestamps };
  } catch (error) {
    if (error instanceof MalformedCsvError) return { error: "malformed" };
    throw error;
  }
}

/**
 * Feeds `head`, then `filler` 64 KiB at a time up to `limit` bytes, as a host that never ends
 * the line would; answers how many bytes had been offered when the scanner refused them.
 */
function bytesAcceptedBeforeRefusal(head: string, filler: string, limit: number): number {
  const scanner = createCsvScanner({ onTimestamp: () => {} });
  const piece = Buffer.from(filler.repeat(Math.ceil(65_536 / filler.length)).slice(0, 65_536));
  let written = 0;
  try {
    written += head.length;
    scanner.write(Buffer.from(head));
    while (written < limit) {
      written += piece.length;
      scanner.write(piece);
    }
    scanner.finish();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedCsvError);
    expect((error as Error).message).toMatch(/longer than 1048576 bytes|Max Record Size/);
    return written;
  }
  throw new Error(`accepted ${limit} bytes of a line that never ended`);
}

describe("the CSV scanner's record cap", () => {
  it.each([
    ["a data row that never ends", HEADER + ROW, "5"],
    ["a header that never ends", "", "source;"],
    ["an open quote", `${HEADER}"`, "5511;"],
    ["a quoted record of bare delimiters across lines", `${HEADER}"a\n`, 'b";;;;;;;"c\n'],
    ["a line of bare delimiters after a quote", `${HEADER}"quoted";x\n`, ";"],
  ])("refuses %s once it passes 1 MiB, not at the end of the file", (_name, head, filler) => {
    // 16 MiB offered; refused within a write of the cap, so memory never holds more.
    const accepted = bytesAcceptedBeforeRefusal(head, filler, 16 * CAP);
    expect(accepted).toBeGreaterThan(CAP);
    expect(accepted).toBeLessThanOrEqual(CAP + 2 * 65_536 + head.length);
  });

  it.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["the end of the file", ""],
  ])("accepts a line of exactly 1 MiB ended by %s, and refuses one byte more", (_name, eol) => {
    const line = (length: number) => `5511987654321;${"9".repeat(length - 14)}`;
    // The CR of a CRLF belongs to the line: the fast path caps the bytes before the LF.
    const fitting = HEADER + line(CAP - (eol === "\r\n" ? 1 : 0)) + eol;
    const over = HEADER + line(CAP + 1 - (eol === "\r\n" ? 1 : 0)) + eol;

    expect(scanOutcome([Buffer.from(fitting)])).toEqual({ rows: 1, timestamps: 1 });
    expect(scanOutcome([Buffer.from(over)])).toEqual({ error: "malformed" });
  });

  it("gives the same answer around the cap however the bytes are chunked", () => {
    const text = fc
      .record({
        header: fc.constantFrom(HEADER, "source,session_created_at\r\n"),
        before: fc.nat({ max: 3 }),
        longLength: fc.integer({ min: CAP - 40, max: CAP + 40 }),
        longKind: fc.constantFrom("plain", "quoted", "delimiters"),
        after: fc.nat({ max: 3 }),
        finalNewline: fc.boolean(),
      })
      .map(({ header, before, longLength, longKind, after, finalNewline }) => {
        const long =
          longKind === "plain"
            ? `5511;${"7".repeat(longLength - 5)}`
            : longKind === "quoted"
              ? `"${"q".repeat(longLength - 2)}"`
              : ";".repeat(longLength);
        const body = [...Array(before).fill(ROW.trim()), long, ...Array(after).fill(ROW.trim())];
        return Buffer.from(header + body.join("\n") + (finalNewline ? "\n" : ""));
      });
    const cuts = fc.array(fc.nat({ max: CAP + 400 }), { maxLength: 12 });

    fc.assert(
      fc.property(text, cuts, (bytes, points) => {
        expect(scanOutcome(chunked(bytes, points))).toEqual(scanOutcome([bytes]));
      }),
      { numRuns: 40 },
    );
  });
});
