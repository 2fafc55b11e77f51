import { SESSION_LIFETIME_MS } from "../contract.js";
import { createCsvScanner, type FieldVisitor } from "../csv/scanner.js";
import { createTimestampReader } from "./timestamp.js";

const ONE_HOUR_MS = 3_600_000;
const FOUR_HOURS_MS = 4 * ONE_HOUR_MS;
/** How much of an unreadable timestamp a log line may show. */
const SAMPLE_CHARS = 40;

export interface SessionFigures {
  /** Every data row: Wavy is the source of truth, even for a window already past by our clock. */
  openSessions: number;
  /** Closing in (now, now + 1 h]. */
  expiringWithin1h: number;
  /** Closing in (now, now + 4 h]; includes the 1 h ones. */
  expiringWithin4h: number;
  /** Rows whose timestamp could not be read; they count as open and in no window. */
  unparseableTimestamps: number;
}

export interface SessionTally {
  /** Feed to the CSV scanner: one call per data row. */
  readonly onTimestamp: FieldVisitor;
  figures(): SessionFigures;
  /** The first unreadable timestamp, cut short, for one log line per invocation. */
  unparseableSample(): string | undefined;
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Tallies rows against the windows measured from `now`. The bounds are turned around once
 * (a close time in (now, now + 4 h] is a creation time in (now - 24 h, now - 20 h]) so each
 * row costs two comparisons after its timestamp is read.
 */
export function createSessionTally(options: { now: Date; timeZone: string }): SessionTally {
  const read = createTimestampReader(options.timeZone);
  const now = options.now.getTime();
  const stillOpenAfter = now - SESSION_LIFETIME_MS; // created > this: closes after now
  const oneHourBound = stillOpenAfter + ONE_HOUR_MS; // created <= this: closes by now + 1 h
  const fourHourBound = stillOpenAfter + FOUR_HOURS_MS;
  let open = 0;
  let within1h = 0;
  let within4h = 0;
  let unparseable = 0;
  let sample: string | undefined;

  const onTimestamp: FieldVisitor = (bytes, start, end) => {
    open++;
    const created = read(bytes, start, end);
    if (created > stillOpenAfter) {
      if (created <= fourHourBound) {
        within4h++;
        if (created <= oneHourBound) within1h++;
      }
    } else if (Number.isNaN(created)) {
      unparseable++;
      sample ??= utf8.decode(bytes.subarray(start, end)).slice(0, SAMPLE_CHARS);
    }
  };

  return {
    onTimestamp,
    figures: () => ({
      openSessions: open,
      expiringWithin1h: within1h,
      expiringWithin4h: within4h,
      unparseableTimestamps: unparseable,
    }),
    unparseableSample: () => sample,
  };
}

/**
 * Streams a sessions CSV through the scanner into a tally. Memory stays flat: chunks are
 * scanned as they arrive and nothing of a row outlives its chunk.
 */
export async function tallySessionCsv(
  source: AsyncIterable<Uint8Array>,
  options: { now: Date; timeZone: string },
): Promise<{ figures: SessionFigures; unparseableSample: string | undefined }> {
  const tally = createSessionTally(options);
  const scanner = createCsvScanner({ onTimestamp: tally.onTimestamp });
  for await (const chunk of source) scanner.write(chunk);
  scanner.finish();
  return { figures: tally.figures(), unparseableSample: tally.unparseableSample() };
}
