// The local console (docs/contract.md, "Local console"): three views over the user's routes.

import {
  ApiError,
  closing,
  closingList,
  listExports,
  localTargets,
  parseTarget,
  readExport,
  startExport,
  targetName,
  windowsClosing,
  windowsOf,
  windowsServed,
} from "/console/api.js";
import uPlot from "/console/vendor/uPlot.esm.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
/** Seconds between the Targets view's samples; 0 samples only on request. */
const SAMPLE_SECONDS = Number(params.get("sample") ?? 60);
/** How long a closing list of 1440 minutes answers the search before it is taken again. */
const SEARCH_LIST_TTL_MS = 60_000;
const SHOWN_ENTRIES = 200;

// What the page holds; exposed read-only for the browser test (window.consoleState).
const state = {
  targets: [],
  live: false,
  charts: new Map(), // target name → { plot, data: [xs, open, within4h, within1h] }
  windowsChart: null,
  searchList: null, // { target, at, entries }
};
window.consoleState = state;

// ---------- formatting

function mask(number) {
  const text = String(number);
  if (!/^\+?\d{5,}$/.test(text)) return text;
  return "*".repeat(text.length - 4) + text.slice(-4);
}

const shownNumber = (number) => ($("show-numbers").checked ? number : mask(number));

function bytes(n) {
  if (n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

const time = (iso) =>
  new Date(iso).toLocaleString(undefined, {
    hourCycle: "h23",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

function countdown(closesAt, now = Date.now()) {
  const left = Math.floor((Date.parse(closesAt) - now) / 1000);
  if (left <= 0) return "closed";
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

function showError(error) {
  const box = $("error");
  box.textContent = error instanceof ApiError ? error.message : String(error);
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => {
    box.hidden = true;
  }, 8000);
}

function currentTarget() {
  const target = parseTarget($("target").value);
  if (!target) throw new Error("A target is a customerId or customerId/subAccountId, e.g. 42/7");
  return target;
}

// ---------- views

const views = ["targets", "exports", "closing"];
function currentView() {
  const name = location.hash.slice(1);
  return views.includes(name) ? name : "targets";
}

function show() {
  const view = currentView();
  for (const name of views) $(`view-${name}`).hidden = name !== view;
  document.body.dataset.view = view;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.dataset.view === view);
  }
  if (view === "targets") resizeCharts();
  if (view === "exports") refreshExports().catch(showError);
  if (view === "closing" && !$("closing-list").dataset.exportId) loadClosing().catch(showError);
}

// ---------- Targets: one chart per target

const SERIES = [
  { label: "open", stroke: "#2563eb", width: 2 },
  { label: "≤ 4 h", stroke: "#d97706", width: 2 },
  { label: "≤ 1 h", stroke: "#dc2626", width: 2 },
];

/** Whole seconds at least: samples are seconds apart, and ticks of 0.5 s only crowd the axis. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200];

/** Whole numbers only: every series counts sessions or windows (no tick at 12.5 windows). */
const COUNT_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000,
  100_000, 200_000, 500_000, 1_000_000,
];

function chartWidth(holder) {
  return Math.max(240, holder.clientWidth);
}

function tickLabels(_plot, splits, _axis, _space, step) {
  const seconds = step < 60 ? "2-digit" : undefined;
  return splits.map((split) =>
    new Date(split * 1000).toLocaleTimeString([], {
      hourCycle: "h23",
      hour: "2-digit",
      minute: "2-digit",
      second: seconds,
    }),
  );
}

function makeChart(name, title, series) {
  const card = element("article", { class: "card", "data-target": name });
  const head = element("header", {}, element("h3", { text: title }));
  const figures = element("p", { class: "figures", "data-figures": name, text: "…" });
  const holder = element("div", { class: "chart" });
  card.append(head, figures, holder);
  $("charts").append(card);
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot(
    {
      width: chartWidth(holder),
      height: 200,
      // Room on the right for the last time label, centred on the plot's edge.
      padding: [12, 32, 0, 0],
      scales: { x: { time: true } },
      series: [{}, ...series.map((s) => ({ ...s, spanGaps: false, points: { size: 5 } }))],
      axes: [
        { incrs: TIME_STEPS, values: tickLabels, space: 70 },
        { size: 48, incrs: COUNT_STEPS },
      ],
      legend: { live: false },
    },
    data,
    holder,
  );
  return { card, holder, plot, data, figures };
}

function addPoint(chart, at, values) {
  const x = Math.floor(at / 1000);
  const index = chart.data[0].findIndex((t) => t > x);
  const position = index === -1 ? chart.data[0].length : index;
  chart.data[0].splice(position, 0, x);
  values.forEach((value, i) => {
    chart.data[i + 1].splice(position, 0, value);
  });
  chart.plot.setData(chart.data);
}

function resizeCharts() {
  for (const chart of [...state.charts.values(), state.windowsChart].filter(Boolean)) {
    chart.plot.setSize({ width: chartWidth(chart.holder), height: 200 });
  }
}

async function seedFromHistory(name, target) {
  const chart = state.charts.get(name);
  const exports = await listExports(target, 100);
  for (const document of exports) {
    if (document.status !== "succeeded") continue;
    addPoint(chart, Date.parse(document.createdAt), [document.rows, null, null]);
  }
}

/** One sample of one target: an export through the closing route (contract: "Local console"). */
async function sample(name, target) {
  const chart = state.charts.get(name);
  const document = await closing(target, 240);
  const entries = await closingList(document);
  const hourEnd = Date.parse(document.createdAt) + 60 * 60_000;
  const within1h = entries.filter((entry) => Date.parse(entry.closesAt) <= hourEnd).length;
  addPoint(chart, Date.parse(document.createdAt), [
    document.rows,
    document.closing.count,
    within1h,
  ]);
  chart.figures.textContent = `${document.rows} open · ${document.closing.count} closing ≤ 4 h · ${within1h} ≤ 1 h — ${time(document.createdAt)}`;
  chart.card.dataset.samples = String(Number(chart.card.dataset.samples ?? 0) + 1);
}

async function sampleWindows() {
  const origin = $("origin").value.trim();
  if (!state.live || !origin) return;
  if (!state.windowsChart) {
    state.windowsChart = makeChart("windows", "Live windows", [
      { label: "open windows", stroke: "#059669", width: 2 },
    ]);
  }
  const windows = await windowsClosing(origin, 1440);
  state.windowsChart.card.querySelector("h3").textContent = `Live windows · origin ${origin}`;
  addPoint(state.windowsChart, Date.now(), [windows.length]);
  state.windowsChart.figures.textContent = `${windows.length} open windows — ${time(new Date().toISOString())}`;
  const card = state.windowsChart.card;
  card.dataset.samples = String(Number(card.dataset.samples ?? 0) + 1);
}

let sampling = false;
async function sampleAll() {
  if (sampling) return;
  sampling = true;
  try {
    for (const target of state.targets) {
      await sample(targetName(target), target).catch(showError);
    }
    await sampleWindows().catch(showError);
  } finally {
    sampling = false;
  }
}

async function startTargets() {
  if (state.targets.length === 0) {
    $("charts").append(
      element("p", {
        class: "muted",
        text: "No target is counted locally (the sandbox's are, with the real Wavy none): the other views take any target.",
      }),
    );
  }
  for (const target of state.targets) {
    const name = targetName(target);
    const title = target.subAccountId
      ? `Customer ${target.customerId} · sub-account ${target.subAccountId}`
      : `Customer ${target.customerId}`;
    state.charts.set(name, makeChart(name, title, SERIES));
    await seedFromHistory(name, target).catch(showError);
  }
  $("sample-info").textContent =
    SAMPLE_SECONDS > 0 ? `a sample every ${SAMPLE_SECONDS} s` : "samples on request";
  await sampleAll();
  if (SAMPLE_SECONDS > 0) {
    setInterval(() => {
      if (currentView() === "targets" && !document.hidden) sampleAll();
    }, SAMPLE_SECONDS * 1000);
  }
}

// ---------- Exports

async function refreshExports() {
  const target = currentTarget();
  $("exports-target").textContent = `· ${targetName(target)}`;
  const exports = await listExports(target, 20);
  const rows = exports.map((document) =>
    element(
      "tr",
      { "data-export-id": document.exportId, "data-status": document.status },
      element("td", { class: "started", text: time(document.createdAt) }),
      element("td", { class: "id", text: document.exportId }),
      element("td", { class: "trigger", text: document.trigger }),
      element(
        "td",
        { class: "status" },
        element("span", {
          class: `badge ${document.status}`,
          text: document.status,
          title: document.error?.message,
        }),
      ),
      element("td", { class: "num rows", text: document.rows ?? "" }),
      element("td", { class: "num size", text: bytes(document.bytes) }),
      element(
        "td",
        { class: "download" },
        document.downloadUrl
          ? element("a", {
              href: document.downloadUrl,
              download: `${document.exportId}.csv`,
              "data-sha256": document.sha256,
              text: "CSV",
            })
          : document.error
            ? element("span", { class: "muted", text: document.error.code })
            : "",
      ),
    ),
  );
  $("exports-rows").replaceChildren(...rows);
  $("exports-empty").hidden = rows.length > 0;
}

function progress(text, kind = "") {
  const item = element("li", {
    class: kind,
    text: `${new Date().toLocaleTimeString([], { hourCycle: "h23" })} ${text}`,
  });
  $("export-progress").append(item);
  return item;
}

async function runExport(background) {
  const target = currentTarget();
  $("export-progress").replaceChildren();
  for (const button of [$("export-sync"), $("export-async")]) button.disabled = true;
  try {
    progress(
      `POST /exports ${JSON.stringify(target)}${background ? " · Prefer: respond-async" : ""}`,
    );
    const answer = await startExport(target, { background });
    let document = answer.document;
    progress(`${answer.status} · ${document.exportId} · ${document.status}`);
    let polls = 0;
    while (document.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      document = await readExport(answer.location);
      polls++;
      progress(`GET ${answer.location} (${polls}) · ${document.status}`);
    }
    progress(
      document.status === "succeeded"
        ? `succeeded · ${document.rows} rows · ${bytes(document.bytes)}`
        : `failed · ${document.error?.code}: ${document.error?.message}`,
      `done ${document.status}`,
    );
  } catch (error) {
    progress(error.message, "done failed");
  } finally {
    for (const button of [$("export-sync"), $("export-async")]) button.disabled = false;
    await refreshExports().catch(showError);
  }
}

// ---------- Closing soon

function closingItem(destination, closesAt) {
  return element(
    "li",
    { "data-destination": destination, "data-closes-at": closesAt },
    element("span", { class: "destination", text: shownNumber(destination) }),
    element("span", { class: "closes", text: time(closesAt) }),
    element("span", { class: "countdown", text: countdown(closesAt) }),
  );
}

async function loadClosing() {
  const target = currentTarget();
  const within = Number($("within").value);
  $("closing-summary").textContent = "…";
  const document = await closing(target, within);
  const entries = await closingList(document);
  $("closing-summary").textContent =
    `${document.closing.count} of ${document.rows} destinations of ${targetName(target)} close within ${within} min (measured ${time(document.createdAt)})` +
    (entries.length > SHOWN_ENTRIES ? `; the first ${SHOWN_ENTRIES} shown` : "");
  $("closing-list").dataset.exportId = document.exportId;
  $("closing-list").dataset.target = targetName(target);
  $("closing-list").replaceChildren(
    ...entries
      .slice(0, SHOWN_ENTRIES)
      .map((entry) => closingItem(entry.destination, entry.closesAt)),
  );
  const origin = $("origin").value.trim();
  if (state.live && origin) {
    const windows = await windowsClosing(origin, within);
    $("windows-summary").textContent =
      `· ${windows.length} of origin ${origin} within ${within} min`;
    $("windows-list").replaceChildren(
      ...windows.slice(0, SHOWN_ENTRIES).map((w) => closingItem(w.destination, w.closesAt)),
    );
  }
}

function tick() {
  const now = Date.now();
  for (const item of document.querySelectorAll("[data-closes-at]")) {
    const text = countdown(item.dataset.closesAt, now);
    const cell = item.querySelector(".countdown");
    if (cell && cell.textContent !== text) cell.textContent = text;
    item.classList.toggle("urgent", Date.parse(item.dataset.closesAt) - now < 15 * 60_000);
  }
}

async function search(destination) {
  const answer = $("search-answer");
  answer.textContent = "…";
  delete answer.dataset.open;
  if (state.live) {
    const windows = await windowsOf(destination);
    const open = windows.filter((w) => w.open);
    answer.dataset.open = open.length > 0 ? "true" : "false";
    answer.replaceChildren(
      open.length
        ? `Open: ${open.map((w) => `origin ${w.origin} until ${time(w.closesAt)} (${countdown(w.closesAt)} left)`).join("; ")}`
        : windows.length
          ? `Closed since ${time(
              windows
                .map((w) => w.closesAt)
                .sort()
                .at(-1),
            )}.`
          : "Not open: never heard from it.",
    );
    return;
  }
  // Without live windows, Wavy's list is the truth: first the list shown, then one of 1440
  // minutes, which holds every open window (a window lasts 24 h).
  const target = currentTarget();
  const name = targetName(target);
  const shown = $("closing-list").querySelector(`[data-destination="${CSS.escape(destination)}"]`);
  if (shown && $("closing-list").dataset.target === name) {
    const closesAt = shown.dataset.closesAt;
    answer.dataset.open = "true";
    answer.replaceChildren(
      `Open for ${name}: until ${time(closesAt)} (${countdown(closesAt)} left).`,
    );
    return;
  }
  if (
    !state.searchList ||
    state.searchList.target !== name ||
    Date.now() - state.searchList.at > SEARCH_LIST_TTL_MS
  ) {
    const document = await closing(target, 1440);
    state.searchList = { target: name, at: Date.now(), entries: await closingList(document) };
  }
  const entry = state.searchList.entries.find((e) => e.destination === destination);
  answer.dataset.open = entry ? "true" : "false";
  answer.replaceChildren(
    entry
      ? `Open for ${name}: until ${time(entry.closesAt)} (${countdown(entry.closesAt)} left).`
      : `Not open for ${name}: not in Wavy's list of open sessions.`,
  );
}

// ---------- start

async function detectLiveWindows() {
  state.live = await windowsServed();
  for (const node of document.querySelectorAll(".live-only")) node.hidden = !state.live;
  const note = $("live-note");
  note.hidden = state.live;
  note.textContent = state.live
    ? ""
    : "Live windows: this API does not serve GET /windows (it answered 404 NOT_FOUND), so their panels are hidden.";
}

async function main() {
  const local = await localTargets();
  state.targets = local.targets;
  $("target-list").replaceChildren(
    ...state.targets.map((t) => element("option", { value: targetName(t) })),
  );
  if (state.targets[0]) $("target").value = targetName(state.targets[0]);
  $("origin-list").replaceChildren(...local.origins.map((o) => element("option", { value: o })));
  if (local.origins[0] && !$("origin").value) $("origin").value = local.origins[0];
  await detectLiveWindows();

  window.addEventListener("hashchange", show);
  window.addEventListener("resize", resizeCharts);
  $("toolbar").addEventListener("submit", (event) => event.preventDefault());
  $("target").addEventListener("change", () => {
    if (currentView() === "exports") refreshExports().catch(showError);
  });
  $("show-numbers").addEventListener("change", () => {
    for (const item of document.querySelectorAll("[data-destination]")) {
      item.querySelector(".destination").textContent = shownNumber(item.dataset.destination);
    }
  });
  $("sample-now").addEventListener("click", () => sampleAll());
  $("exports-refresh").addEventListener("click", () => refreshExports().catch(showError));
  $("export-sync").addEventListener("click", () => runExport(false));
  $("export-async").addEventListener("click", () => runExport(true));
  $("closing-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadClosing().catch(showError);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search($("destination").value.trim()).catch(showError);
  });
  setInterval(tick, 1000);
  show();
  await startTargets();
  document.body.dataset.ready = "true";
}

main().catch(showError);
