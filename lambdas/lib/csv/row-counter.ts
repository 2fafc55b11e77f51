import { createCsvScanner } from "./scanner.js";

/**
 * Counts the data rows (header excluded) of a CSV fed chunk by chunk; chunks may split
 * anywhere. Header-only and empty files count 0. The export pipeline relies on this exact
 * signature; the dialect is the scanner's (scanner.ts). finish() throws MalformedCsvError
 * when a quote is left open.
 */
export function createRowCounter(): { write(chunk: Uint8Array): void; finish(): number } {
  return createCsvScanner();
}
