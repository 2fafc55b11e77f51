import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { MB } from "./stats.js";

/** A generated Wavy-like CSV and the figures an export of it must report. */
export interface CsvFile {
  path: string;
  bytes: number;
  rows: number;
  sha256: string;
}

const HEADER = "source;session_created_at\n";
/** `5511987654321;2026-11-28 09:15:42\n`: a Brazilian mobile and a São Paulo local time. */
const ROW_BYTES = 34;
const ROWS_PER_BLOCK = 30_000;

/**
 * A CSV of about `megabytes` MB (rows ∝ size), kept under `dir` between runs with its figures
 * beside it, so a second `npm run bench` skips the generation.
 */
export async function csvOfSize(dir: string, megabytes: number): Promise<CsvFile> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `export-${megabytes}MB.csv`);
  const figuresPath = `${path}.json`;
  if (existsSync(path) && existsSync(figuresPath)) {
    return JSON.parse(readFileSync(figuresPath, "utf8")) as CsvFile;
  }
  const rows = Math.floor((megabytes * MB - HEADER.length) / ROW_BYTES);
  const hash = createHash("sha256");
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  const write = async (chunk: Buffer) => {
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  };
  await write(Buffer.from(HEADER));
  const template = Buffer.from("5511900000000;2026-11-28 00:00:00\n");
  for (let first = 0; first < rows; first += ROWS_PER_BLOCK) {
    const count = Math.min(ROWS_PER_BLOCK, rows - first);
    const block = Buffer.allocUnsafe(count * ROW_BYTES);
    for (let i = 0; i < count; i++) {
      const row = first + i;
      const at = i * ROW_BYTES;
      template.copy(block, at);
      // Numbers spread over 55119XXXXXXXX, times over the last day (a prime stride each).
      writeDigits(block, at + 5, (row * 48_271) % 100_000_000, 8);
      const second = (row * 7919) % 86_400;
      writeDigits(block, at + 25, Math.floor(second / 3600), 2);
      writeDigits(block, at + 28, Math.floor(second / 60) % 60, 2);
      writeDigits(block, at + 31, second % 60, 2);
    }
    await write(block);
  }
  out.end();
  await once(out, "finish");
  await rename(partial, path);
  const figures: CsvFile = {
    path,
    bytes: HEADER.length + rows * ROW_BYTES,
    rows,
    sha256: hash.digest("hex"),
  };
  writeFileSync(figuresPath, JSON.stringify(figures));
  return figures;
}

function writeDigits(target: Buffer, at: number, value: number, width: number): void {
  let rest = value;
  for (let i = width - 1; i >= 0; i--) {
    target[at + i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}
