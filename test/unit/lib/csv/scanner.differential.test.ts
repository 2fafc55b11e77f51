import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCsvScanner, MalformedCsvError } from "../../../../lambdas/lib/csv/scanner.js";
import { type Reading, type RowReading, referenceRead, referenceRows } from "./reference.js";
import { chunked, encode, scan, scanRows } from "./support.js";

type Outcome<T = Reading> = T | { error: string };

function outcome<T>(read: () => T): Outcome<T> {
  try {
    return read();
  } catch (error) {
    return { error: error instanceof MalformedCsvError ? "malformed" : String(error) };
  }
}

function referenceOutcome(bytes: Uint8Array): Outcome {
  try {
    return referenceRead(bytes);
  } catch {
    return { error: "malformed" };
  }
}

function referenceRowsOutcome(bytes: Uint8Array): Outcome<RowReading> {
  try {
    return referenceRows(bytes);
  } catch {
    return { error: "malformed" };
  }
}

function countRows(chunks: readonly Uint8Array[]): number {
  const counter = createCsvScanner();
  for (const chunk of chunks) counter.write(chunk);
  return counter.finish();
}

// ignoreBOM: a BOM in a field is data, as it is to the reference.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

const timestamp = fc.constantFrom(
  "2026-11-28 09:15:42",
  "2026-11-28T09:15:42.123Z",
  "2019-02-16 23:30:00-0300",
  "",
  "not a date",
);
const fieldText = fc
  .array(fc.constantFrom("a", "5", " ", ";", ",", '"', "\r", "\n", "\r\n", "é", "😀", "x y"), {
    maxLength: 4,
  })
  .map((parts) => parts.join(""));

/** A field rendered the way a CSV writer would: quoted when it must be, sometimes anyway. */
function field(delimiter: string) {
  return fc
    .tuple(fc.oneof(timestamp, fieldText), fc.boolean())
    .map(([value, quoteAnyway]) =>
      quoteAnyway || /[";,\r\n]/.test(value) || value.includes(delimiter)
        ? `"${value.replaceAll('"', '""')}"`
        : value,
    );
}

const headerNames = fc.constantFrom(
  ["source", "session_created_at"],
  ["origem", "session_created_at"],
  ["session_created_at", "source"],
  [" Source ", "SESSION_CREATED_AT "],
  ["source", "created"],
  ["source"],
  ['"source"', '"session_created_at"'],
);

/** Well-formed CSVs in every dialect the scanner accepts. */
const wellFormed = fc
  .record({
    bom: fc.boolean(),
    delimiter: fc.constantFrom(";", ","),
    eol: fc.constantFrom("\n", "\r\n", "mixed"),
    finalNewline: fc.boolean(),
    header: headerNames,
    leadingBlank: fc.nat({ max: 2 }),
    rows: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.array(fc.constant(null), { minLength: 1, maxLength: 3 }) },
        { weight: 1, arbitrary: fc.constant([]) },
      ),
      { maxLength: 12 },
    ),
    seed: fc.array(fc.tuple(field(";"), field(","), fc.boolean()), {
      minLength: 40,
      maxLength: 40,
    }),
  })
  .map(({ bom, delimiter, eol, finalNewline, header, leadingBlank, rows, seed }) => {
    let next = 0;
    const take = () => seed[next++ % seed.length] ?? ["", "", false];
    const lineEnd = () => (eol === "mixed" ? (take()[2] ? "\r\n" : "\n") : eol);
    const lines = [header.join(delimiter)];
    for (const row of rows) {
      lines.push(row.map(() => take()[delimiter === ";" ? 0 : 1]).join(delimiter));
    }
    let text = "\n".repeat(leadingBlank);
    for (const [i, line] of lines.entries()) {
      text += line;
      if (i < lines.length - 1 || finalNewline) text += lineEnd();
    }
    return (bom ? "\uFEFF" : "") + text;
  });

/** Anything at all over the characters that matter, to pin down the edge cases too. */
const raw = fc
  .array(
    fc.constantFrom(
      "a",
      "1",
      " ",
      ";",
      ",",
      '"',
      "\r",
      "\n",
      "\r\n",
      "\uFEFF",
      "é",
      "session_created_at",
      "2026-11-28 09:15:42",
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));

/** `CSV_FUZZ_RUNS=20 npx vitest run test/unit/lib/csv` fuzzes 20 times longer. */
const RUNS = Math.max(1, Number(process.env.CSV_FUZZ_RUNS ?? 1));

const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 8 });

describe("the CSV scanner against a plain csv-parse reading", () => {
  it(
    "gives the same rows and timestamps on well-formed CSVs, however they are chunked",
    () => {
      fc.assert(
        fc.property(wellFormed, cuts, (text, points) => {
          // Prepare
          const bytes = encode(text);
          const expected = referenceOutcome(bytes);
          // Act
          const actual = outcome(() => scan(chunked(bytes, points)));
          // Assess
          expect(actual).toEqual(expected);
        }),
        { numRuns: 1500 * RUNS },
      );
    },
    30_000 * RUNS,
  );

  it(
    "gives the same figures, or fails alike, on arbitrary input",
    () => {
      fc.assert(
        fc.property(raw, cuts, (text, points) => {
          const bytes = encode(text);
          const expected = referenceOutcome(bytes);
          const actual = outcome(() => scan(chunked(bytes, points)));
          expect(actual).toEqual(expected);
        }),
        { numRuns: 3000 * RUNS },
      );
    },
    30_000 * RUNS,
  );

  it(
    "hands over the same source and session_created_at per row, on any input and chunking",
    () => {
      fc.assert(
        fc.property(fc.oneof(wellFormed, raw), cuts, (text, points) => {
          const bytes = encode(text);
          const expected = referenceRowsOutcome(bytes);
          const actual = outcome(() => scanRows(chunked(bytes, points)));
          expect(actual).toEqual(expected);
        }),
        { numRuns: 3000 * RUNS },
      );
    },
    30_000 * RUNS,
  );

  it(
    "counts exactly the rows the reference reads, byte by byte as well",
    () => {
      fc.assert(
        fc.property(fc.oneof(wellFormed, raw), fc.boolean(), cuts, (text, bytewise, points) => {
          const bytes = encode(text);
          const expected = referenceOutcome(bytes);
          const chunks = bytewise ? chunked(bytes, [...bytes.keys()]) : chunked(bytes, points);
          const actual = outcome(() => ({ rows: countRows(chunks), timestamps: [] }));
          expect(actual).toEqual("error" in expected ? expected : { ...expected, timestamps: [] });
        }),
        { numRuns: 1000 * RUNS },
      );
    },
    30_000 * RUNS,
  );

  it(
    "reads the same when the producer reuses one buffer for every chunk",
    () => {
      // A line split across chunks outlives the chunk it began in: the scanner must keep a
      // copy of it, not a view of a buffer the producer fills again.
      const longRow = fc
        .nat({ max: 5000 })
        .map((length) => `source;session_created_at\n${"5".repeat(length)};2026-11-28 09:15:42\n`);
      fc.assert(
        fc.property(fc.oneof(wellFormed, raw, longRow), cuts, (text, points) => {
          const bytes = encode(text);
          const shared = new Uint8Array(bytes.length);
          const actual = outcome(() => {
            const timestamps: string[] = [];
            const scanner = createCsvScanner({
              onTimestamp: (field, start, end) =>
                timestamps.push(utf8.decode(field.subarray(start, end))),
            });
            for (const chunk of chunked(bytes, points)) {
              shared.set(chunk);
              scanner.write(shared.subarray(0, chunk.length));
              shared.fill(0x3b);
            }
            return { rows: scanner.finish(), timestamps };
          });
          expect(actual).toEqual(referenceOutcome(bytes));
        }),
        { numRuns: 1000 * RUNS },
      );
    },
    30_000 * RUNS,
  );

  it(
    "reads a header line past 64 KiB the same however the network chunks it",
    () => {
      // Headers whose first 64 KiB lean to one delimiter and whose whole line leans to the
      // other: picking the delimiter before the line had ended made the counter read the
      // timestamp column empty when the header came in 16 KiB pieces.
      const longHeader = fc
        .record({
          first: fc.constantFrom(";", ","),
          named: fc.constantFrom("session_created_at", "created"),
          firstCount: fc.integer({ min: 20_000, max: 70_000 }),
          secondCount: fc.integer({ min: 0, max: 140_000 }),
          rowDelimiter: fc.constantFrom(";", ","),
          rows: fc.nat({ max: 4 }),
          eol: fc.constantFrom("\n", "\r\n"),
        })
        .map(({ first, named, firstCount, secondCount, rowDelimiter, rows, eol }) => {
          const second = first === ";" ? "," : ";";
          const header = `source${first}${named}${first.repeat(firstCount)}${second.repeat(secondCount)}`;
          const row = `5511987654321${rowDelimiter}2026-11-28 09:15:42`;
          return encode([header, ...Array<string>(rows).fill(row)].join(eol) + eol);
        });
      const chunking = fc.oneof(
        fc.constantFrom(1024, 16 * 1024, 64 * 1024).map((size) => ({ size })),
        fc.array(fc.nat({ max: 220_000 }), { maxLength: 8 }).map((points) => ({ points })),
      );

      fc.assert(
        fc.property(longHeader, chunking, (bytes, how) => {
          const points =
            "size" in how
              ? Array.from({ length: Math.ceil(bytes.length / how.size) }, (_, i) => i * how.size)
              : how.points;
          expect(outcome(() => scan(chunked(bytes, points)))).toEqual(referenceOutcome(bytes));
        }),
        { numRuns: 60 * RUNS },
      );
    },
    60_000 * RUNS,
  );
});
