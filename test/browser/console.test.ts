import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_ORIGIN, SANDBOX_TARGETS } from "../../dev/wavy-sandbox.js";
import { type StartedStack, startLocalStack } from "./local-stack.js";

/**
 * The local console (docs/contract.md, "Local console") driven in Debian's Chromium against
 * `npm start`'s stack: nothing downloads a browser, so where none is installed the suite skips.
 */
const CHROMIUM = "/usr/bin/chromium";

// The callbacks given to page.evaluate run in the page; the project compiles without the DOM's
// types, so the little they touch is declared here, for this module only.
interface PageElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}
declare const location: { hash: string };
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
};
interface PageChart {
  plot: { data: (number | null)[][] };
}
declare const window: {
  consoleState: { charts: Map<string, PageChart>; windowsChart: PageChart | null };
};
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `test:browser skipped: no browser at ${CHROMIUM} (Debian: apt-get install -y chromium)`,
  );
}

const OUTPUT_DIR = join(import.meta.dirname, ".output");
const WIDTHS = [
  { name: "laptop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

interface ExportDocument {
  exportId: string;
  status: string;
  rows: number;
  bytes: number;
  sha256: string;
  createdAt: string;
  closing?: { count: number; downloadUrl: string };
}

/** A window as `GET /windows?origin=…` lists it (docs/contract.md, "Lookups"). */
interface ListedWindow {
  destination: string;
  origin: string;
  open: boolean;
  closesAt: string;
  minutesLeft: number;
}

const HOUR = 3_600_000;

/** The pixels of one colour on every canvas of the card: a drawn series, not just axes. */
async function seriesPixels(page: Page, card: string, rgb: [number, number, number]) {
  return page.$eval(
    `article[data-target="${card}"] canvas`,
    (canvas, [r, g, b]) => {
      const context = (canvas as unknown as PageCanvas).getContext("2d");
      if (!context) return 0;
      const { width, height } = canvas as unknown as PageCanvas;
      const { data } = context.getImageData(0, 0, width, height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        const near =
          Math.abs((data[i] ?? 0) - r) < 40 &&
          Math.abs((data[i + 1] ?? 0) - g) < 40 &&
          Math.abs((data[i + 2] ?? 0) - b) < 40 &&
          (data[i + 3] ?? 0) > 200;
        if (near) count++;
      }
      return count;
    },
    rgb,
  );
}

function seconds(countdown: string): number {
  const [h, m, s] = countdown.split(":").map(Number);
  return (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
}

describe.skipIf(!hasChromium)("the local console in Chromium", () => {
  let stack: StartedStack;
  let context: BrowserContext;
  let profile = "";

  beforeAll(async () => {
    await mkdir(OUTPUT_DIR, { recursive: true });
    stack = await startLocalStack();
    profile = await mkdtemp(join(tmpdir(), "wavy-chromium-"));
    // A persistent context is how a fresh --user-data-dir of our own is given to Playwright.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 90_000);

  // A page a failed test left open would go on sampling (exports every 2 s) under the next tests.
  const opened = new Set<Page>();

  // A failing test shows what the stack printed: its crash, its rejected promises.
  afterEach(async ({ task }) => {
    for (const page of opened) await page.close().catch(() => undefined);
    opened.clear();
    if (task.result?.state === "fail") console.error(`npm start's output:\n${stack?.output()}`);
  });

  afterAll(async () => {
    await context?.close();
    await stack?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** A page of the given width; `done` screenshots it and fails on a request off loopback or an error. */
  async function openPage(
    width: (typeof WIDTHS)[number],
    path: string,
    prepare?: (page: Page) => Promise<void>,
  ): Promise<{ page: Page; done: (view: string) => Promise<void> }> {
    const page = await context.newPage();
    opened.add(page);
    await prepare?.(page);
    await page.setViewportSize({ width: width.width, height: width.height });
    const outside: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (
        url.protocol !== "data:" &&
        url.hostname !== "127.0.0.1" &&
        url.hostname !== "localhost"
      ) {
        outside.push(request.url());
      }
    });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${stack.apiUrl}${path}`);
    return {
      page,
      done: async (view) => {
        await page.screenshot({
          path: join(OUTPUT_DIR, `${view}-${width.name}.png`),
          fullPage: true,
        });
        await page.close();
        expect(outside, "requests off loopback").toEqual([]);
        expect(errors, "errors in the page").toEqual([]);
      },
    };
  }

  async function api<T>(path: string): Promise<T> {
    const answer = await fetch(`${stack.apiUrl}${path}`);
    expect(answer.status, path).toBe(200);
    return (await answer.json()) as T;
  }

  /** Every page of `GET /windows?origin=…&closingWithinMinutes=N`, as the API orders them. */
  async function liveWindows(within: number): Promise<ListedWindow[]> {
    const windows: ListedWindow[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({
        origin: SANDBOX_ORIGIN,
        closingWithinMinutes: String(within),
        limit: "500",
        ...(cursor && { cursor }),
      });
      const page: { windows: ListedWindow[]; nextCursor: string | null } = await api(
        `/windows?${query}`,
      );
      windows.push(...page.windows);
      cursor = page.nextCursor;
    } while (cursor);
    return windows;
  }

  /**
   * Wavy's MO webhook as Wavy calls it: one bulk of MOs to the sandbox's business number, each
   * received `ago` ms before now; resolves once the queue's processor has applied them all.
   */
  async function postMos(mos: { source: string; ago: number }[]): Promise<void> {
    const now = Date.now();
    const body = {
      total: mos.length,
      data: mos.map(({ source, ago }, i) => ({
        id: `browser-${now}-${i}`,
        source,
        origin: SANDBOX_ORIGIN,
        receivedAt: now - ago,
      })),
    };
    const answer = await fetch(`${stack.apiUrl}/hooks/wavy/${stack.webhookToken}/mo`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(200);
    for (const { source, ago } of mos) {
      const closesAt = new Date(now - ago + 24 * HOUR).toISOString();
      await expect
        .poll(
          async () =>
            (await api<{ windows: ListedWindow[] }>(`/windows/${source}`)).windows[0]?.closesAt,
          { timeout: 10_000 },
        )
        .toBe(closesAt);
    }
  }

  for (const width of WIDTHS) {
    describe(`at ${width.width} px (${width.name})`, () => {
      it("charts every target's figures from samples the page took, open windows beside them", async () => {
        // Windows only open (within a test's time nobody's closes): the chart's count lies
        // between the API's counts before the page opened and after it sampled.
        // The sandbox posts an MO bulk every 5 s: the chart has windows to show.
        await expect
          .poll(async () => (await liveWindows(1440)).length, { timeout: 15_000 })
          .toBeGreaterThan(0);
        const before = (await liveWindows(1440)).length;
        const { page, done } = await openPage(width, "/?sample=2#targets");
        await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
        // Two samples per target: the lines need two points to be lines.
        for (const target of SANDBOX_TARGETS) {
          const name = target.subAccountId
            ? `${target.customerId}/${target.subAccountId}`
            : target.customerId;
          await page.waitForSelector(`article[data-target="${name}"][data-samples="2"]`, {
            timeout: 60_000,
          });
          const data = await page.evaluate(
            (key) => window.consoleState.charts.get(key)?.plot.data,
            name,
          );
          const [xs, open, within4h, within1h] = data ?? [];
          expect(xs?.length).toBeGreaterThanOrEqual(2);
          // The sandbox serves a fixed number of sessions per target, all opened in the last day.
          expect(open?.filter((v) => v !== null).at(-1)).toBe(target.sessions);
          const last4h = within4h?.at(-1) ?? -1;
          const last1h = within1h?.at(-1) ?? -1;
          expect(last4h).toBeGreaterThan(0);
          expect(last1h).toBeGreaterThanOrEqual(0);
          expect(last1h).toBeLessThanOrEqual(last4h);
          expect(last4h).toBeLessThanOrEqual(target.sessions);
          // uPlot drew the "open" series (#2563eb) and the "≤ 4 h" series (#d97706).
          expect(await seriesPixels(page, name, [37, 99, 235])).toBeGreaterThan(20);
          expect(await seriesPixels(page, name, [217, 119, 6])).toBeGreaterThan(10);
        }
        // The live windows' panels show, on the business number the sandbox's MOs reach.
        expect(await page.locator("#live-note").isVisible()).toBe(false);
        expect(await page.locator("#origin").inputValue()).toBe(SANDBOX_ORIGIN);
        await page.waitForSelector('article[data-target="windows"][data-samples="2"]', {
          timeout: 60_000,
        });
        const counts = await page.evaluate(() => window.consoleState.windowsChart?.plot.data[1]);
        const after = (await liveWindows(1440)).length;
        expect(counts?.length).toBeGreaterThanOrEqual(2);
        for (const count of counts ?? []) {
          expect(count).toBeGreaterThanOrEqual(before);
          expect(count).toBeLessThanOrEqual(after);
        }
        expect(counts).toEqual([...(counts ?? [])].sort((a, b) => (a ?? 0) - (b ?? 0)));
        expect(await page.locator('[data-figures="windows"]').textContent()).toMatch(
          new RegExp(`^${counts?.at(-1)} open windows — `),
        );
        // uPlot drew the "open windows" series (#059669).
        expect(await seriesPixels(page, "windows", [5, 150, 105])).toBeGreaterThan(20);
        await done("targets");
      });

      it("starts an export in the background, shows the polling, and links the right bytes", async () => {
        const { page, done } = await openPage(width, "/?sample=0#exports");
        await page.waitForSelector("body[data-ready]");
        await page.fill("#target", "42/7");
        await page.dispatchEvent("#target", "change");
        // The synchronous button first: 201 and the new export listed, succeeded.
        await page.click("#export-sync");
        await page.locator("#export-progress li.done.succeeded").waitFor({ timeout: 60_000 });
        expect(await page.locator("#export-progress li").nth(1).textContent()).toContain(" 201 · ");

        await page.click("#export-async");
        const finished = page.locator("#export-progress li.done");
        await finished.waitFor({ timeout: 60_000 });
        expect(await finished.getAttribute("class")).toContain("succeeded");
        const lines = await page.locator("#export-progress li").allTextContents();
        expect(lines.some((line) => line.includes("202"))).toBe(true);
        expect(lines.some((line) => /GET \/exports\/\S+ \(1\)/.test(line))).toBe(true);

        const exportId = /202 · (\S+) · running/.exec(lines.join("\n"))?.[1] ?? "";
        expect(exportId).not.toBe("");
        const row = page.locator(`tr[data-export-id="${exportId}"]`);
        await row.waitFor();
        expect(await row.getAttribute("data-status")).toBe("succeeded");
        const href = (await row.locator("a").getAttribute("href")) ?? "";
        const document = await api<ExportDocument>(`/exports/${exportId}`);
        const csv = Buffer.from(await (await fetch(href)).arrayBuffer());
        expect(csv.length).toBe(document.bytes);
        expect(createHash("sha256").update(csv).digest("hex")).toBe(document.sha256);
        expect(await row.locator("td.rows").textContent()).toBe(String(document.rows));

        await done("exports");
      });

      it("lists what the closing route and the live windows answered, soonest first, with countdowns that run", async () => {
        // Contacts who wrote 22-23.5 h ago: their windows close within 120 minutes, the
        // sandbox's own MOs (received now) 24 h from now.
        const heard = (width.name === "laptop" ? [25, 50, 115] : [30, 55, 110]).map((minutes) => ({
          source: `551199900${String(minutes).padStart(4, "0")}`,
          ago: 24 * HOUR - minutes * 60_000,
        }));
        await postMos(heard);
        const { page, done } = await openPage(width, "/?sample=0#closing");
        await page.waitForSelector("body[data-ready]");
        await page.waitForSelector("#closing-list li");
        await page.fill("#target", "1001");
        await page.fill("#within", "120");
        const answered = page.waitForResponse((response) =>
          response.url().includes("/sessions/closing?customerId=1001&withinMinutes=120"),
        );
        await page.click("#closing-form button");
        const answer = (await (await answered).json()) as ExportDocument;
        await page.waitForFunction(
          (id) => document.getElementById("closing-list")?.dataset.exportId === id,
          answer.exportId,
        );

        // The API's own list behind the answer, entry for entry, in its order.
        const listed = (await (await fetch(answer.closing?.downloadUrl ?? "")).text())
          .trim()
          .split("\n")
          .slice(1)
          .map((line) => line.split(";"));
        const shown = await page.$$eval("#closing-list li", (items) =>
          items.map((item) => [
            (item as unknown as PageElement).dataset.destination,
            (item as unknown as PageElement).dataset.closesAt,
          ]),
        );
        expect(listed.length).toBe(answer.closing?.count);
        expect(shown).toEqual(listed.slice(0, 200));
        expect(await page.locator("#closing-summary").textContent()).toContain(
          `${answer.closing?.count} of 1200 destinations`,
        );

        // Masked by default: all but the last 4 digits.
        const first = listed[0]?.[0] ?? "";
        const firstShown = page.locator("#closing-list li .destination").first();
        expect(await firstShown.textContent()).toBe(
          `${"*".repeat(first.length - 4)}${first.slice(-4)}`,
        );

        const countdown = page.locator("#closing-list li .countdown").first();
        const before = seconds((await countdown.textContent()) ?? "");
        await page.waitForTimeout(2_200);
        const after = seconds((await countdown.textContent()) ?? "");
        expect(before).toBeGreaterThan(0);
        expect(after).toBeLessThan(before);
        expect(before - after).toBeLessThanOrEqual(4);

        // The live windows of the origin closing within the same 120 minutes: the API's list,
        // entry for entry, in its order (soonest first), the contacts heard above among them.
        await page.waitForFunction(() =>
          document.getElementById("windows-summary")?.textContent?.includes("within 120"),
        );
        const live = await liveWindows(120);
        const liveShown = await page.$$eval("#windows-list li", (items) =>
          items.map((item) => [
            (item as unknown as PageElement).dataset.destination,
            (item as unknown as PageElement).dataset.closesAt,
          ]),
        );
        expect(liveShown).toEqual(live.slice(0, 200).map((w) => [w.destination, w.closesAt]));
        const closes = live.map((w) => w.closesAt);
        expect(closes).toEqual([...closes].sort());
        for (const { source } of heard) {
          expect(live.map((w) => w.destination)).toContain(source);
        }
        expect(await page.locator("#windows-summary").textContent()).toBe(
          `· ${live.length} of origin ${SANDBOX_ORIGIN} within 120 min`,
        );

        // "Open? Until when?" from GET /windows/{destination}: a contact heard above is open...
        const asked = heard[1]?.source ?? "";
        const [heardWindow] = (await api<{ windows: ListedWindow[] }>(`/windows/${asked}`)).windows;
        expect(heardWindow?.open).toBe(true);
        await page.fill("#destination", asked);
        await page.click("#search-form button");
        const search = page.locator("#search-answer");
        await page.waitForFunction(() => document.getElementById("search-answer")?.dataset.open);
        expect(await search.getAttribute("data-open")).toBe("true");
        expect(await search.textContent()).toMatch(
          new RegExp(`^Open: origin ${SANDBOX_ORIGIN} until .+ \\(0:[45]\\d:\\d\\d left\\)$`),
        );
        // ... and one never heard from is not.
        await page.fill("#destination", "5531900000000");
        await page.click("#search-form button");
        await page.waitForFunction(
          () => document.getElementById("search-answer")?.dataset.open === "false",
        );
        expect(await search.textContent()).toBe("Not open: never heard from it.");

        await done("closing");
      });
    });
  }

  it("leaves every other path to the API: / is the console, /exports still the API", async () => {
    const page = await fetch(`${stack.apiUrl}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    const unknown = await fetch(`${stack.apiUrl}/console/package.json`);
    expect(unknown.status).toBe(404);
    const post = await fetch(`${stack.apiUrl}/`, { method: "POST" });
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});
