/**
 * What the export's single pass over the CSV hands each consumer of its rows (the normalised
 * companion, the closing-soon list), so the CSV is scanned and its timestamps read once.
 */
export interface SessionRowSink {
  /**
   * One data row: `source` as `bytes[sourceStart, sourceEnd)`, `session_created_at` as
   * `bytes[createdStart, createdEnd)` (valid only during the call), and the latter read as epoch
   * milliseconds by the counter's parser (NaN when unreadable).
   */
  add(
    bytes: Uint8Array,
    sourceStart: number,
    sourceEnd: number,
    createdStart: number,
    createdEnd: number,
    createdAtMs: number,
  ): void;
  /** Between chunks: writes out what add() gathered past the sink's bound, with backpressure. */
  drain(): Promise<void>;
  /** After the last row: completes what the sink writes. */
  finish(): Promise<void>;
  /** After any failure, before or after finish(): leaves nothing of the sink's behind. */
  discard(): Promise<void>;
}

/** Where a sink's bytes go: an S3 object written part by part (PartUploader). */
export interface ObjectSink {
  /** Copies what it keeps: `bytes` may be reused once the promise settles. */
  write(bytes: Buffer): Promise<void>;
  finish(): Promise<void>;
  discard(): Promise<void>;
}
