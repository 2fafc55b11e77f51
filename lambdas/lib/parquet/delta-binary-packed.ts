import { writeVarint, zigzag } from "./varint.js";

/**
 * Parquet's DELTA_BINARY_PACKED encoding of integers
 * (https://parquet.apache.org/docs/file-format/data-pages/encodings/#delta-encoding-delta_binary_packed--5):
 * a header (block size, miniblocks per block, value count, first value), then per block of 128
 * deltas their minimum and four miniblocks of 32 deltas, each bit-packed at the width its
 * largest (delta − minimum) needs. A day of session timestamps in milliseconds differs by
 * under 2^27 from one row to the next, so each value takes ~27 bits instead of PLAIN's 64,
 * without a compressor's CPU.
 *
 * Values are JavaScript numbers: integers of magnitude below 2^49 (years 0000-9999 in epoch
 * milliseconds), so every delta and every offset from a block's minimum is exact.
 */
const BLOCK = 128;
const MINIBLOCKS = 4;
const MINIBLOCK = BLOCK / MINIBLOCKS;

/** The most bytes `count` values can take: header, and per block its minimum, widths, bits. */
export function deltaBinaryPackedBound(count: number): number {
  const blocks = Math.ceil(count / BLOCK);
  return 4 * 10 + blocks * (10 + MINIBLOCKS + BLOCK * 8);
}

/**
 * The encoding's header for `count` values starting at `first`, into `out` from `offset`;
 * returns the offset past it. The blocks (encodeDeltaBlocks) follow it: they hold only the
 * differences, so a column that is another plus a constant (closes_at: created_at + 24 h) has
 * the same blocks behind a header of its own.
 */
export function writeDeltaHeader(
  out: Uint8Array,
  offset: number,
  count: number,
  first: number,
): number {
  const writer = new BitWriter(out, offset);
  writer.varint(BLOCK);
  writer.varint(MINIBLOCKS);
  writer.varint(count);
  writer.varint(zigzag(count > 0 ? first : 0));
  return writer.offset;
}

/** The blocks of `values[0, count)`, into `out` from `offset`; returns the offset past them. */
export function encodeDeltaBlocks(
  values: Float64Array,
  count: number,
  out: Uint8Array,
  offset: number,
): number {
  const writer = new BitWriter(out, offset);
  const deltas = new Float64Array(BLOCK);
  const widths = new Uint8Array(MINIBLOCKS);
  for (let first = 1; first < count; first += BLOCK) {
    const size = Math.min(BLOCK, count - first);
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < size; i++) {
      const delta = (values[first + i] as number) - (values[first + i - 1] as number);
      deltas[i] = delta;
      if (delta < min) min = delta;
    }
    writer.varint(zigzag(min));
    widths.fill(0);
    for (let m = 0; m * MINIBLOCK < size; m++) {
      let max = 0;
      const end = Math.min(size, (m + 1) * MINIBLOCK);
      for (let i = m * MINIBLOCK; i < end; i++) {
        deltas[i] = (deltas[i] as number) - min;
        if ((deltas[i] as number) > max) max = deltas[i] as number;
      }
      widths[m] = bitWidth(max);
    }
    // Every miniblock's width is written; an unused one is 0 and has no bits.
    for (const width of widths) writer.byte(width);
    for (let m = 0; m * MINIBLOCK < size; m++) {
      const width = widths[m] as number;
      // A used miniblock is always 32 values wide: past the last delta it is padded with zeros.
      for (let i = m * MINIBLOCK; i < (m + 1) * MINIBLOCK; i++) {
        writer.bits(i < size ? (deltas[i] as number) : 0, width);
      }
      writer.align();
    }
  }
  return writer.offset;
}

/** LSB-first bit packing, as Parquet's bit-packed runs and miniblocks store values. */
class BitWriter {
  private pending = 0;
  private pendingBits = 0;

  constructor(
    private readonly out: Uint8Array,
    public offset: number,
  ) {}

  byte(value: number): void {
    this.out[this.offset++] = value;
  }

  varint(value: number): void {
    this.offset = writeVarint(this.out, this.offset, value);
  }

  /**
   * `value` (an integer in [0, 2^width)) in `width` bits; wide values 24 bits at a time, split
   * with a multiplication rather than `%` (a double's remainder is a slow call in V8).
   */
  bits(value: number, width: number): void {
    let rest = value;
    let left = width;
    while (left > 24) {
      const high = Math.floor(rest / 0x100_0000);
      this.narrow(rest - high * 0x100_0000, 24);
      rest = high;
      left -= 24;
    }
    this.narrow(rest, left);
  }

  /** Pads the last byte with zeros: each miniblock starts on a byte. */
  align(): void {
    if (this.pendingBits > 0) this.out[this.offset++] = this.pending & 0xff;
    this.pending = 0;
    this.pendingBits = 0;
  }

  // At most 7 pending bits plus 24 new ones: the sum stays a 31-bit integer.
  private narrow(value: number, width: number): void {
    this.pending |= value << this.pendingBits;
    this.pendingBits += width;
    while (this.pendingBits >= 8) {
      this.out[this.offset++] = this.pending & 0xff;
      this.pending >>>= 8;
      this.pendingBits -= 8;
    }
  }
}

/** Bits needed for a non-negative integer below 2^53. */
function bitWidth(max: number): number {
  if (max < 0x8000_0000) return 32 - Math.clz32(max);
  return 64 - Math.clz32(Math.floor(max / 0x1_0000_0000));
}
