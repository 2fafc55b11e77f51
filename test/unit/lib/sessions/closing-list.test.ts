import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_LIFETIME_MS } from "../../../../lambdas/lib/contract.js";
import { createClosingList } from "../../../../lambdas/lib/sessions/closing-list.js";

const FROM = Date.UTC(2026, 10, 28, 12);
const MINUTE = 60_000;

/** An ObjectSink that keeps what it is given, and says whether it was finished or discarded. */
function memorySink() {
  const chunks: Buffer[] = [];
  const state = { finished: false, discarded: false };
  return {
    state,
    text: () => Buffer.concat(chunks).toString("utf8"),
    sink: {
      write: async (bytes: Buffer) => {
        chunks.push(Buffer.from(bytes));
      },
      finish: async () => {
        state.finished = true;
      },
      discard: async () => {
        state.discarded = true;
      },
    },
  };
}

const encoder = new TextEncoder();

/** Feeds rows as the export's pass does: add() per row, drain() after each "chunk". */
async function feed(
  list: ReturnType<typeof createClosingList>,
  rows: readonly [source: string, createdAtMs: number][],
  chunkRows: number,
) {
  for (const [i, [source, createdAt]] of rows.entries()) {
    const bytes = encoder.encode(`${source}|ignored`);
    list.add(bytes, 0, encoder.encode(source).length, 0, 0, createdAt);
    if ((i + 1) % chunkRows === 0) await list.drain();
  }
  await list.drain();
}

/** The answer written as simply as possible: filter, sort, print. */
function reference(
  rows: readonly [string, number][],
  withinMinutes: number,
): { text: string; count: number } {
  const lines = rows
    .map(([source, created]) => [source, created + SESSION_LIFETIME_MS] as const)
    .filter(([, closes]) => closes > FROM && closes <= FROM + withinMinutes * MINUTE)
    .sort(([sa, a], [sb, b]) => a - b || (sa < sb ? -1 : sa > sb ? 1 : 0))
    .map(([source, closes]) => {
      const field = /[;"\r\n]/.test(source) ? `"${source.replaceAll('"', '""')}"` : source;
      return `${field};${new Date(closes).toISOString()}\n`;
    });
  return { text: `source;closes_at\n${lines.join("")}`, count: lines.length };
}

describe("the closing-soon list", () => {
  let spillDir: string;
  beforeAll(async () => {
    spillDir = await mkdtemp(join(tmpdir(), "closing-list-test-"));
  });
  afterAll(() => rm(spillDir, { recursive: true, force: true }));

  const source = fc.oneof(
    fc.stringMatching(/^55[0-9]{11}$/),
    fc.constantFrom("", "a;b", 'q"q', "é😀", "line\nbreak"),
  );
  // Creation times around the window's edges (closing = created + 24 h), some unreadable.
  const createdAt = fc.oneof(
    fc.integer({ min: -2 * 60, max: 26 * 60 }).map((m) => FROM - SESSION_LIFETIME_MS + m * MINUTE),
    fc.constantFrom(
      FROM - SESSION_LIFETIME_MS,
      FROM - SESSION_LIFETIME_MS + 1,
      FROM - SESSION_LIFETIME_MS + 90 * MINUTE,
      FROM - SESSION_LIFETIME_MS + 90 * MINUTE + 1,
      Number.NaN,
    ),
  );

  it("is every row closing in (from, from + window], soonest first, however it spills", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(source, createdAt), { maxLength: 300 }),
        fc.integer({ min: 1, max: 1440 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        async (rows, withinMinutes, runRows, chunkRows) => {
          const out = memorySink();
          const list = createClosingList({
            fromMs: FROM,
            withinMinutes,
            sink: out.sink,
            runRows,
            spillDir,
          });
          await feed(list, rows, chunkRows);
          await list.finish();
          const expected = reference(rows, withinMinutes);
          expect(out.text()).toBe(expected.text);
          expect(list.count()).toBe(expected.count);
          expect(out.state.finished).toBe(true);
          // The spill file is gone once the list is written.
          expect(await readdir(spillDir)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("spills to disk beyond one run, and leaves nothing there when discarded", async () => {
    const out = memorySink();
    const list = createClosingList({
      fromMs: FROM,
      withinMinutes: 60,
      sink: out.sink,
      runRows: 10,
      spillDir,
    });
    const rows = Array.from(
      { length: 100 },
      (_, i) => [`55${i}`, FROM - SESSION_LIFETIME_MS + (i % 50) * MINUTE] as [string, number],
    );
    await feed(list, rows, 7);
    expect(await readdir(spillDir)).toHaveLength(1);
    await list.discard();
    expect(await readdir(spillDir)).toEqual([]);
    expect(out.state).toEqual({ finished: false, discarded: true });
  });

  it("merges several default-sized runs: 300 000 candidates in runs of 65 536", async () => {
    const out = memorySink();
    const list = createClosingList({ fromMs: FROM, withinMinutes: 1440, sink: out.sink, spillDir });
    const start = FROM - SESSION_LIFETIME_MS;
    const total = 300_000;
    const bytes = encoder.encode("5511900000000");
    for (let i = 0; i < total; i++) {
      // A permutation of the day's milliseconds, so the runs interleave.
      list.add(bytes, 0, bytes.length, 0, 0, start + 1 + ((i * 7919) % total) * 280);
      if (i % 2000 === 1999) await list.drain();
    }
    await list.finish();
    const lines = out.text().split("\n");
    expect(lines).toHaveLength(total + 2);
    expect(list.count()).toBe(total);
    let sorted = true;
    for (let i = 2; i <= total; i++) {
      if ((lines[i] as string).slice(14) < (lines[i - 1] as string).slice(14)) sorted = false;
    }
    expect(sorted).toBe(true);
    expect(new Set(lines.slice(1, -1)).size).toBe(total);
  }, 60_000);
});
