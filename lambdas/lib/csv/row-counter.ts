import { Parser } from "csv-parse";

/**
 * Counts the data rows (header excluded) of a CSV fed chunk by chunk; chunks may split
 * anywhere. A provisional csv-parse implementation: the signature is the contract the export
 * pipeline relies on, the fast scanner replaces the body.
 */
export function createRowCounter(): { write(chunk: Uint8Array): void; finish(): number } {
  let records = 0;
  let failure: Error | undefined;
  const parser = new Parser({
    bom: true,
    delimiter: [";", ","],
    record_delimiter: ["\r\n", "\n"],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    on_record: () => {
      records++;
      return null;
    },
  });
  parser.on("error", (error) => {
    failure = error;
  });
  return {
    write(chunk) {
      parser.write(chunk);
    },
    finish() {
      parser.end();
      const error = failure ?? parser.errored;
      if (error) throw error;
      return Math.max(0, records - 1);
    },
  };
}
