import { Readable } from "node:stream";
import { type MockInstance, vi } from "vitest";

/** A byte stream of `text` in small chunks, so rows and characters straddle chunk ends. */
export function csvStream(text: string | Buffer, chunkBytes = 7): Readable {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.subarray(i, i + chunkBytes));
  return Readable.from(chunks);
}

/** A stream that yields `head`, then fails as a cut-off download would. */
export function failingStream(head: string, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(head);
      throw error;
    })(),
  );
}

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** The Embedded Metric Format documents Powertools printed through `console.log`. */
export function emfDocuments(spy: MockInstance<typeof console.log>): EmfDocument[] {
  const documents: EmfDocument[] = [];
  for (const [first] of spy.mock.calls) {
    if (typeof first !== "string") continue;
    try {
      const parsed = JSON.parse(first) as Partial<EmfDocument>;
      if (parsed._aws?.CloudWatchMetrics) documents.push(parsed as EmfDocument);
    } catch {
      // not JSON: another log line
    }
  }
  return documents;
}

/** Metric name -> { value, unit } across the documents, checking each is declared once. */
export function metricValues(
  documents: EmfDocument[],
): Map<string, { value: unknown; unit: string }> {
  const values = new Map<string, { value: unknown; unit: string }>();
  for (const document of documents) {
    for (const directive of document._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        values.set(metric.Name, { value: document[metric.Name], unit: metric.Unit });
      }
    }
  }
  return values;
}

/** console.log, spied afresh: setup.ts's spy lives on across tests and keeps their calls. */
export function spyOnConsoleLog(): MockInstance<typeof console.log> {
  const spy = vi.spyOn(console, "log").mockImplementation(() => {});
  spy.mockClear();
  return spy;
}
