/**
 * The variable-length integers Parquet uses in three places (Thrift's compact protocol, RLE run
 * headers, DELTA_BINARY_PACKED headers): unsigned LEB128, and zigzag for signed values.
 * Numbers, not bigints: every Parquet count, offset and epoch-ms value here is below 2^53.
 */

/** Writes `value` (a non-negative integer below 2^53) at `offset`; returns the offset past it. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  let at = offset;
  let rest = value;
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}

/** Zigzag keeps small negative numbers short: 0, -1, 1, -2 … → 0, 1, 2, 3 … */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}
