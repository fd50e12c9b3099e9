// ionq-backends serve: the live page. Vanilla JS, no dependencies.
//
// Every string from the server reaches the page through textContent or a DOM attribute of our
// choosing, never through innerHTML: a backend may be named anything. Numbers drawn into SVG
// are computed here from parsed JSON numbers.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const RANGES = { "1h": 3600, "24h": 86400, "7d": 604800 };
  const HISTORY_REFRESH_MS = 60000;
  const HISTORY_AFTER_ROUND_MS = 2000; // a round may bring events: reload, at most this often
  const TIMELINE_MAX = 60;
  const LABELS = {
    name: "Backend", status: "Status", qubits: "Qubits", queue: "Queue", degraded: "Degraded",
    age: "Data age", fidelity: "2q fidelity", calibrated: "Calibrated", error: "Last error",
  };
  const base = new URL(".", document.baseURI); // works when mounted under a prefix too

  const rows = new Map(); // backend name -> its table cells
  const cards = new Map(); // backend name -> its plot card
  let fleet = null;
  let clockOffset = 0; // server time minus browser time, in ms
  let range = RANGES[location.hash.slice(1)] ? location.hash.slice(1) : "24h";
  let historyTimer = 0;
  let historyLoading = false;
  let historyLoadedAt = 0;

  // Formatting

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    let s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${s}s`;
    return `${s}s`;
  }

  function now() {
    return Date.now() + clockOffset;
  }

  function ageOf(iso) {
    if (!iso) return null;
    const at = Date.parse(iso);
    return isNaN(at) ? null : (now() - at) / 1000;
  }

  function age(seconds) {
    if (seconds === null) return "–";
    const s = Math.max(0, seconds);
    if (s < 60) return `${Math.floor(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 86400)} d`;
  }

  function statusClass(status) {
    switch (status) {
      case "available": case "running": return "st-ok";
      case "reserved": case "calibrating": return "st-warn";
      case "unavailable": case "offline": return "st-down";
      case "retired": return "st-retired";
      default: return "st-unknown";
    }
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function timeLabel(unixSeconds, span) {
    const t = new Date(unixSeconds * 1000);
    const hm = `${pad(t.getHours())}:${pad(t.getMinutes())}`;
    return span > 3 * 3600 ? `${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${hm}` : hm;
  }

  // The browser's time zone, as every time on the page is in it: "UTC+01:00 (Europe/Paris)".
  function timeZone() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "-" : "+";
    const offset = `UTC${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone ? `${offset} (${zone})` : offset;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }

  // The table

  function rowFor(name) {
    let row = rows.get(name);
    if (row) return row;
    const tr = el("tr");
    const cell = (className) => tr.appendChild(el("td", className));
    // Each cell names its column, for the phone layout (one card per backend).
    row = {
      tr,
      name: cell("name"),
      status: cell(""),
      qubits: cell("num"),
      queue: cell("num"),
      degraded: cell(""),
      age: cell("num"),
      fidelity: cell("num"),
      calibrated: cell("num"),
      error: cell("error"),
    };
    for (const [key, label] of Object.entries(LABELS)) row[key].dataset.label = label;
    row.pill = row.status.appendChild(el("span", "pill"));
    row.note = row.status.appendChild(el("span", "note"));
    row.name.textContent = name;
    document.querySelector("#fleet tbody").appendChild(tr);
    rows.set(name, row);
    return row;
  }

  function renderTable() {
    for (const b of fleet.backends) {
      const row = rowFor(b.name);
      // A backend the monitor cannot read now keeps its last known status, greyed and marked.
      const stale = Boolean(b.stale && b.status !== null);
      row.tr.dataset.status = b.status === null ? "" : String(b.status);
      row.tr.classList.toggle("is-stale", stale);
      row.pill.textContent = b.status === null ? "no data" : String(b.status);
      row.pill.className = "pill " + (b.status === null ? "st-unknown" : stale ? "st-stale" : statusClass(b.status));
      row.qubits.textContent = b.qubits === null ? "–" : String(b.qubits);
      // No queue to speak of where no job runs (unavailable, retired).
      row.queue.textContent = b.runs_jobs ? duration(b.queue_seconds) : "–";
      row.degraded.textContent = b.degraded === null ? "–" : b.degraded ? "yes" : "no";
      row.degraded.className = b.degraded ? "yes" : "";
      const f2q = b.characterization && b.characterization.fidelity["2q"];
      row.fidelity.textContent = typeof f2q === "number" ? f2q.toFixed(4) : "–";
      if (b.error) {
        row.error.textContent = `${b.error.type}: ${b.error.message}`;
        row.error.className = "error failing";
        row.error.title = b.error.message;
      } else if (b.last_error) {
        row.error.textContent = `recovered from ${b.last_error.type}`;
        row.error.className = "error recovered";
        row.error.title = `${b.last_error.at}: ${b.last_error.message}`;
      } else {
        row.error.textContent = "–";
        row.error.className = "error muted";
        row.error.removeAttribute("title");
      }
    }
    renderAges();
  }

  // Ages move every second without a server event.
  function renderAges() {
    if (!fleet) return;
    for (const b of fleet.backends) {
      const row = rows.get(b.name);
      if (!row) continue;
      const seen = ageOf(b.seen_at);
      row.age.textContent = age(seen);
      row.age.className = "num" + (b.stale ? " stale" : "");
      row.note.textContent = b.stale && b.status !== null ? ` stale · ${age(seen)} old` : "";
      const c = b.characterization;
      row.calibrated.textContent = c && c.date ? age(ageOf(c.date)) + " ago" : "–";
    }
    const total = fleet.backends.length;
    const up = fleet.backends.filter((b) => b.available).length;
    const failing = fleet.backends.filter((b) => b.error).length;
    const stale = fleet.backends.filter((b) => b.stale).length;
    const ended = ageOf(fleet.last_round.ended);
    let text = `${up} of ${total} available`;
    if (failing) text += ` · ${failing} failing to poll`;
    if (stale) text += ` · ${stale} stale`;
    const every = fleet.interval < 10 ? `${fleet.interval} s` : duration(fleet.interval);
    text += ` · last round ${age(ended)} ago · every ${every}`;
    document.getElementById("summary").textContent = text;
  }

  // The plots

  function cardFor(name) {
    let card = cards.get(name);
    if (card) return card;
    const root = el("div", "card");
    const title = root.appendChild(el("h3", "", name));
    title.title = name;
    card = { root, body: root.appendChild(el("div")) };
    document.getElementById("plots").appendChild(root);
    cards.set(name, card);
    return card;
  }

  function drawQueue(columns, since, until, step) {
    const W = 320, H = 92, left = 46, right = 312, top = 8, bottom = 74;
    const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plot queue", role: "img" });
    const x = (t) => left + ((t - since) / (until - since)) * (right - left);
    const values = columns.queue_seconds.filter((v) => v !== null);
    const peak = Math.max(60, ...values) * 1.1;
    const y = (v) => bottom - (v / peak) * (bottom - top);
    plot.appendChild(svg("line", { class: "axis", x1: left, y1: bottom, x2: right, y2: bottom }));
    plot.appendChild(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: bottom }));
    const label = (text, attrs) => {
      const node = plot.appendChild(svg("text", { class: "label", ...attrs }));
      node.textContent = text;
    };
    label(duration(peak), { x: left - 4, y: top + 8, "text-anchor": "end" });
    label("0", { x: left - 4, y: bottom, "text-anchor": "end" });
    // Three time ticks (start, middle, end), each anchored inside the plot so none is clipped.
    const middle = (since + until) / 2;
    for (const [t, anchor] of [[since, "start"], [middle, "middle"], [until, "end"]]) {
      plot.appendChild(svg("line", { class: "axis", x1: x(t), y1: bottom, x2: x(t), y2: bottom + 3 }));
      label(timeLabel(t, until - since), { x: x(t), y: H - 4, "text-anchor": anchor });
    }
    // One path per run of known values: a gap in the data is a gap in the line.
    let line = "", area = "", run = [], points = 0;
    const flush = () => {
      if (!run.length) return;
      if (run.length === 1) run.push([run[0][0] + Math.max(1, x(since + step) - x(since)), run[0][1]]);
      line += run.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
      area += `M${run[0][0].toFixed(1)},${bottom}` +
        run.map(([px, py]) => `L${px.toFixed(1)},${py.toFixed(1)}`).join("") +
        `L${run[run.length - 1][0].toFixed(1)},${bottom}Z`;
      run = [];
    };
    columns.t.forEach((t, i) => {
      const v = columns.queue_seconds[i];
      if (v === null) { flush(); return; }
      run.push([x(t + step / 2), y(v)]);
      points += 1;
    });
    flush();
    plot.appendChild(svg("path", { class: "area", d: area || "M0,0" }));
    plot.appendChild(svg("path", { class: "line", d: line || "M0,0" }));
    plot.dataset.points = String(points);
    const title = plot.appendChild(svg("title"));
    title.textContent = `queue time, ${points} points`;
    return plot;
  }

  function drawAvailability(columns, since, until, step) {
    const W = 320, H = 20, left = 46, right = 312;
    const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plot availability", role: "img" });
    const x = (t) => left + ((t - since) / (until - since)) * (right - left);
    const width = Math.max(1, x(since + step) - x(since));
    plot.appendChild(svg("rect", { class: "gap", x: left, y: 15, width: right - left, height: 1 }));
    const label = plot.appendChild(svg("text", { class: "label", x: left - 4, y: 13, "text-anchor": "end" }));
    label.textContent = "up";
    columns.t.forEach((t, i) => {
      const up = columns.availability[i];
      const failed = columns.errors[i];
      const x0 = Math.max(left, x(t));
      const w = Math.min(right, x0 + width) - x0;
      if (w <= 0) return;
      if (up !== null && up > 0) {
        const h = 14 * up;
        plot.appendChild(svg("rect", { class: "up", x: x0, y: 15 - h, width: w, height: h }));
      }
      if (failed > 0 && up === null) {
        plot.appendChild(svg("rect", { class: "down", x: x0, y: 16, width: w, height: 4 }));
      }
    });
    const title = plot.appendChild(svg("title"));
    title.textContent = "availability";
    return plot;
  }

  function renderHistory(data) {
    // A Map, never a plain object: a backend may be named `__proto__`, `constructor`, `toString`.
    const series = new Map(Object.entries(data.series));
    const names = fleet ? fleet.backends.map((b) => b.name) : [];
    for (const name of series.keys()) if (!names.includes(name)) names.push(name);
    for (const name of names) {
      const card = cardFor(name);
      const columns = series.get(name);
      card.body.replaceChildren();
      if (!columns || !columns.t.length) {
        card.body.appendChild(el("p", "empty", "no history in this range yet"));
        continue;
      }
      card.body.appendChild(drawQueue(columns, data.since, data.until, data.step));
      card.body.appendChild(drawAvailability(columns, data.since, data.until, data.step));
    }
    const status = document.getElementById("history-status");
    status.textContent = `${duration(data.until - data.since)} to now, one point per ` +
      `${duration(data.step)}; times in ${timeZone()}`;
    renderTimeline(data.events);
    document.body.dataset.history = "ready";
  }

  // The timeline: what changed, newest first ("seen" events only say a backend was there).

  function describe(event) {
    const detail = event.detail || {};
    switch (event.kind) {
      case "error": return [`poll failing: ${detail.type}: ${detail.message}`, "ev-down"];
      case "recovered": return ["polled again", "ev-ok"];
      case "gone": return ["left the fleet", "ev-muted"];
      default: break;
    }
    const parts = [];
    let tone = "";
    for (const field of event.changed_fields) {
      const [before, after] = detail[field] || [null, null];
      if (field === "status") {
        parts.push(`status ${before} → ${after}`);
        if (["unavailable", "offline", "retired"].includes(after)) tone = "ev-down";
        else if (["available", "running"].includes(after)) tone = "ev-ok";
      } else if (field === "characterization_id") {
        parts.push("new calibration");
      } else if (field === "degraded") {
        parts.push(after ? "degraded" : "no longer degraded");
        if (after) tone = tone || "ev-warn";
      } else {
        parts.push(`${field} ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      }
    }
    return [parts.join(", "), tone];
  }

  function renderTimeline(events) {
    const list = document.getElementById("timeline");
    const shown = events.filter((e) => e.kind !== "seen").sort((a, b) => b.ts - a.ts).slice(0, TIMELINE_MAX);
    list.replaceChildren();
    for (const event of shown) {
      const [text, tone] = describe(event);
      const item = list.appendChild(el("li", tone));
      const at = item.appendChild(el("time", "at", timeLabel(event.ts, 86400)));
      at.dateTime = event.at;
      item.appendChild(el("span", "name", event.backend));
      item.appendChild(el("span", "what", text));
    }
    if (!shown.length) list.appendChild(el("li", "ev-muted", "no changes in this range"));
  }

  async function loadHistory() {
    if (historyLoading) return;
    historyLoading = true;
    historyLoadedAt = Date.now();
    clearTimeout(historyTimer);
    try {
      const url = new URL("api/history", base);
      url.searchParams.set("since", range);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (!response.ok) throw new Error(data.message || response.statusText);
      renderHistory(data);
    } catch (error) {
      document.getElementById("history-status").textContent = `history unavailable: ${error.message}`;
    } finally {
      historyLoading = false;
      historyTimer = setTimeout(loadHistory, HISTORY_REFRESH_MS);
    }
  }

  function setRange(next) {
    range = next;
    for (const button of document.querySelectorAll(".ranges button")) {
      button.setAttribute("aria-pressed", String(button.dataset.range === range));
    }
    history.replaceState(null, "", "#" + range);
    loadHistory();
  }

  // Live updates

  function connect() {
    const connection = document.getElementById("connection");
    const events = new EventSource(new URL("events", base));
    let first = true;
    events.addEventListener("open", () => {
      connection.textContent = "live";
      connection.className = "connection live";
    });
    events.addEventListener("error", () => {
      connection.textContent = "reconnecting…";
      connection.className = "connection connecting";
    });
    events.addEventListener("fleet", (event) => {
      fleet = JSON.parse(event.data);
      clockOffset = Date.parse(fleet.now) - Date.now();
      renderTable();
      document.body.dataset.rounds = String(fleet.rounds); // a finite readiness signal
      if (first || Date.now() - historyLoadedAt >= HISTORY_AFTER_ROUND_MS) {
        first = false;
        loadHistory();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll(".ranges button")) {
      button.addEventListener("click", () => setRange(button.dataset.range));
    }
    for (const button of document.querySelectorAll(".ranges button")) {
      button.setAttribute("aria-pressed", String(button.dataset.range === range));
    }
    connect();
    setInterval(renderAges, 1000);
  });
})();
