/* softbond web dashboard: Server-Sent Events from /api/stream, charts with
 * the vendored uPlot, and (with a token) set-active / enslave / release.
 * Everything from the server goes into the page through textContent only. */
"use strict";
(function () {
  const UNITS = ["Mbit/s", "Kbit/s", "packets/s"];
  const HISTORY = 300;
  const TOKEN_HEADER = "X-Softbond-Token";
  // One colour per member, the same in every chart and the table; in and
  // out are told apart by line style (in solid, out dashed), never by colour.
  const COLORS = ["#2456c7", "#e07b00", "#17803d", "#9b3bb5", "#c0262d", "#0f8b8d", "#7a5c00", "#d63a8a"];
  const OUT_DASH = [6, 4];
  // The protocol classes (wire/protoclass.py), each with its colour in the by-protocol charts.
  const PROTOCOLS = ["arp", "lacp", "ipv4_tcp", "ipv4_udp", "ipv4_icmp", "ipv4_other",
    "ipv6_tcp", "ipv6_udp", "ipv6_icmp", "ipv6_other", "other"];
  const PROTOCOL_COLORS = ["#7a5c00", "#9b3bb5", "#2456c7", "#e07b00", "#c0262d", "#6b7280",
    "#0f8b8d", "#17803d", "#d63a8a", "#94a3b8", "#1f2937"];
  const DETAILS = ["members", "protocols"];
  const MAX_EVENTS = 200;
  // The smallest y scale per unit: an idle bond's few frames stay near zero
  // instead of filling the chart.
  const MIN_SCALE = { "Mbit/s": 1, "Kbit/s": 1000, "packets/s": 1000 };
  const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const AXIS_FONT = "11px system-ui, -apple-system, sans-serif";
  // 802.3ad port state bits, lowest first (IEEE 802.1AX), as the letters
  // softbond top shows (lacpview.PORT_STATE_LETTERS): a set bit is its
  // letter, a clear one "."
  const LACP_BITS = [["A", "Activity"], ["T", "Timeout"], ["G", "Aggregation"], ["S", "Synchronization"],
    ["C", "Collecting"], ["D", "Distributing"], ["F", "Defaulted"], ["E", "Expired"]];
  const LACP_LEGEND = "LACP state letters: " + LACP_BITS.map(([l, w]) => `${l} ${w}`).join(" · ");
  // the modes with one active member: /proc shows "Currently Active Slave" only there
  const ACTIVE_SLAVE_MODES = ["active-backup", "balance-tlb", "balance-alb"];
  let readOnly = true;

  let unit = localStorage.getItem("softbond.unit");
  if (!UNITS.includes(unit)) unit = "Mbit/s";
  let detail = localStorage.getItem("softbond.detail");
  if (!DETAILS.includes(detail)) detail = "members";
  const bonds = new Map();  // name -> bond record

  const $ = (sel, root) => (root || document).querySelector(sel);
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  }

  // ------------------------------------------------------------ units
  // vector from the server: [rx bytes/s, tx bytes/s, rx packets/s, tx packets/s]
  function conv(vec, dir) {
    if (!vec) return null;
    const i = dir === "rx" ? 0 : 1;
    if (unit === "packets/s") return vec[i + 2];
    return vec[i] * 8 / (unit === "Mbit/s" ? 1e6 : 1e3);
  }
  function fmt(v) {
    if (v == null || Number.isNaN(v)) return "–";
    const unitText = unit === "packets/s" ? "pps" : unit;
    if (v >= 100) return Math.round(v).toLocaleString("en") + " " + unitText;
    return (v < 10 ? v.toFixed(2) : v.toFixed(1)) + " " + unitText;
  }
  function fmtAxis(v) {
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return String(Math.round(v * 100) / 100);
  }
  function setUnit(u) {
    unit = u;
    localStorage.setItem("softbond.unit", u);
    for (const b of document.querySelectorAll("#units button")) b.setAttribute("aria-pressed", String(b.dataset.unit === u));
    document.body.dataset.unit = u;
    for (const rec of bonds.values()) redraw(rec);
  }

  // The bond charts: stacked by member (in/out) or by protocol class.
  function setDetail(d) {
    detail = d;
    localStorage.setItem("softbond.detail", d);
    for (const b of document.querySelectorAll("#details button")) b.setAttribute("aria-pressed", String(b.dataset.detail === d));
    document.body.dataset.detail = d;
    for (const rec of bonds.values()) { buildCharts(rec); redraw(rec); }
  }

  // --------------------------------------------------------- messages
  function message(text, ok) {
    const m = $("#message");
    m.hidden = false;
    m.textContent = text;
    m.dataset.ok = String(ok);
  }

  // ----------------------------------------------------------- charts
  // opaque tints: stacked bands must not blend into each other's colour
  function tint(hex, amount) {
    const n = parseInt(hex.slice(1), 16);
    const mix = (c) => Math.round(c + (255 - c) * amount);
    return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
  }

  function pad2(n) { return String(n).padStart(2, "0"); }
  // one line per tick (uPlot's default time axis adds a second line at each
  // new minute, which the short charts printed over the first)
  function timeLabels(u, splits, axisIdx, space, incr) {
    return splits.map((t) => {
      const d = new Date(t * 1000);
      const hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
      return incr % 60 === 0 ? hm : hm + ":" + pad2(d.getSeconds());
    });
  }

  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // group: "bond" (the stacked charts) or "member"; the charts of a group
  // share one y scale, so that the same height means the same rate
  function makePlot(container, series, rec, group) {
    const width = Math.max(200, container.clientWidth);
    const opts = {
      width, height: group === "bond" ? 170 : 120,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true }, y: { range: () => [0, rec.yMax[group]] } },
      // whole seconds at least: half-second ticks printed each second twice
      axes: [{ values: timeLabels, incrs: TIME_INCRS, space: 70, font: AXIS_FONT, size: 30 },
        { values: (u, vals) => vals.map(fmtAxis), size: 50, font: AXIS_FONT, space: 24 }],
      series: [{ label: "time", value: (u, t) => (t == null ? "–" : new Date(t * 1000).toLocaleTimeString("en-GB")) }]
        .concat(series),
    };
    const data = [[]].concat(series.map(() => []));
    const plot = new uPlot(opts, data, container);
    // size from the container, now and whenever the layout changes it
    const observer = new ResizeObserver(() => {
      const w = container.clientWidth;
      if (w > 0 && Math.abs(w - plot.width) >= 1) plot.setSize({ width: w, height: plot.height });
    });
    observer.observe(container);
    return { plot, observer };
  }

  function memberColor(rec, name) {
    if (!rec.colors.has(name)) {
      const used = new Set(rec.colors.values());
      const free = COLORS.find((c) => !used.has(c));
      rec.colors.set(name, free || COLORS[rec.colors.size % COLORS.length]);
    }
    return rec.colors.get(name);
  }

  function chartBox(cls, attrs, title) {
    const box = el("div", Object.assign({ class: "chart " + cls }, attrs));
    const now = el("span", { class: "now" });
    box.append(el("h3", { text: title }, now));
    const plotBox = el("div", { class: "plot" });
    box.append(plotBox);
    return { box, now, plotBox };
  }

  function buildCharts(rec) {
    const members = rec.members;
    for (const p of rec.plots) { p.observer.disconnect(); p.plot.destroy(); }
    rec.plots = [];
    const top = rec.el.bondCharts, below = rec.el.memberCharts;
    top.replaceChildren();
    below.replaceChildren();
    // Every box goes into the page first, the plots after: each then takes
    // its width from its own grid cell, not from a row that has one box yet.
    const pending = [];
    // Stacked bond charts: series i plots the sum of members 0..i; drawn
    // from the largest sum down so that each band shows in its member's colour.
    // By protocol the same, one band per protocol class.
    const byProtocol = detail === "protocols";
    const layers = byProtocol ? PROTOCOLS : members;
    for (const dir of ["rx", "tx"]) {
      const c = chartBox(`chart-bond-${dir}`, { "data-dir": dir, "data-latest": "", "data-detail": detail },
        (dir === "rx" ? "In" : "Out") + (byProtocol ? " (stacked by protocol)" : " (stacked by member)"));
      top.append(c.box);
      const series = [];
      for (let i = layers.length - 1; i >= 0; i--) {
        const color = byProtocol ? PROTOCOL_COLORS[i] : memberColor(rec, layers[i]);
        const idx = i;
        series.push({
          label: layers[i], stroke: color, fill: tint(color, 0.55), width: 1, points: { show: false },
          dash: dir === "tx" ? OUT_DASH : undefined,
          value: (u, v, sidx, didx) => (didx == null ? "–" : fmt(rec.layers[dir][idx][didx])),
        });
      }
      pending.push([{ kind: "bond", dir, box: c.box, now: c.now }, c.plotBox, series, "bond"]);
    }
    members.forEach((name, i) => {
      const c = chartBox("chart-member", { "data-member": name, "data-latest-rx": "", "data-latest-tx": "" }, name);
      c.box.style.setProperty("--member", memberColor(rec, name));
      below.append(c.box);
      const color = memberColor(rec, name);
      const series = [
        { label: "in", stroke: color, width: 1.5, points: { show: false }, value: (u, v) => fmt(v) },
        { label: "out", stroke: color, width: 1.5, dash: OUT_DASH, points: { show: false }, value: (u, v) => fmt(v) },
      ];
      pending.push([{ kind: "member", member: name, index: i, box: c.box, now: c.now }, c.plotBox, series, "member"]);
    });
    if (rec.hasPath) pending.push(pathChart(rec, below));
    for (const [p, plotBox, series, group] of pending) {
      Object.assign(p, makePlot(plotBox, series, rec, group));
      rec.plots.push(p);
    }
  }

  // path_monitor=on: each member's probe loss over the window, one line per
  // member in its colour, sampled with every status the stream brings
  function pathChart(rec, container) {
    const c = chartBox("chart-path", { "data-latest": "" }, "Path loss (path monitor, % of the window)");
    container.append(c.box);
    const series = rec.members.map((name) => ({
      label: name, stroke: memberColor(rec, name), width: 1.5, points: { show: false },
      value: (u, v) => (v == null ? "–" : v.toFixed(1) + "%"),
    }));
    return [{ kind: "path", box: c.box, now: c.now }, c.plotBox, series, "path"];
  }

  function samplePath(rec, status) {
    if (!rec.hasPath) return;
    rec.path.t.push(Date.now() / 1000);
    for (const s of status.slaves || []) {
      if (!rec.path.loss[s.name]) rec.path.loss[s.name] = Array(rec.path.t.length - 1).fill(null);
      rec.path.loss[s.name].push(s.path ? s.path.loss_pct : null);
    }
    const extra = rec.path.t.length - HISTORY;
    if (extra > 0) {
      rec.path.t.splice(0, extra);
      for (const m of Object.keys(rec.path.loss)) rec.path.loss[m].splice(0, extra);
    }
  }

  // loss above RTT, as in/out: one line each keeps the column narrow
  // enough for the member table to fit its card at 800x600
  function pathLines(path) {
    const rtt = path.rtt_ms == null ? "–" : path.rtt_ms.toFixed(2) + " ms";
    return [el("span", { "data-part": "loss", text: `${path.loss_pct}%` }),
      el("span", { "data-part": "rtt", text: rtt })];
  }

  function seriesMax(arrays) {
    let m = 0;
    for (const a of arrays) for (const v of a) if (v != null && v > m) m = v;
    return m;
  }

  function redraw(rec) {
    const times = rec.t;
    rec.raw = { rx: [], tx: [] };
    for (const dir of ["rx", "tx"]) {
      rec.raw[dir] = rec.members.map((m) => (rec.series[m] || []).map((v) => conv(v, dir)));
    }
    // the bond charts' layers: the members', or the protocol classes' rates
    rec.layers = detail === "protocols"
      ? { rx: PROTOCOLS.map((c) => (rec.proto[c] || []).map((v) => conv(v, "rx"))),
        tx: PROTOCOLS.map((c) => (rec.proto[c] || []).map((v) => conv(v, "tx"))) }
      : rec.raw;
    const stacked = {};
    for (const dir of ["rx", "tx"]) {
      const raw = rec.layers[dir];
      const sums = [];
      let acc = times.map(() => 0);
      for (let i = 0; i < raw.length; i++) {
        acc = acc.map((a, j) => a + (raw[i][j] || 0));
        sums.push(acc);
      }
      stacked[dir] = sums.reverse();
    }
    const floor = MIN_SCALE[unit];
    rec.yMax = {
      bond: niceMax(Math.max(floor, seriesMax([stacked.rx[0] || [], stacked.tx[0] || []]))),
      member: niceMax(Math.max(floor, seriesMax(rec.raw.rx.concat(rec.raw.tx)))),
      path: niceMax(Math.max(10, seriesMax(Object.values(rec.path.loss)))),
    };
    for (const p of rec.plots) {
      if (p.kind === "path") {
        const lines = rec.members.map((m) => rec.path.loss[m] || []);
        p.plot.setData([rec.path.t.slice()].concat(lines));
        const worst = seriesMax(lines.map((l) => l.slice(-1)));
        p.box.dataset.latest = rec.path.t.length ? String(worst) : "";
        p.now.textContent = rec.path.t.length ? `worst ${worst.toFixed(1)}%` : "";
      } else if (p.kind === "bond") {
        p.plot.setData([times].concat(stacked[p.dir]));
        const total = !times.length ? null : detail === "protocols" ? (stacked[p.dir][0] || [])[times.length - 1]
          : conv(rec.bond[times.length - 1], p.dir);
        p.box.dataset.latest = total == null ? "" : String(total);
        p.box.dataset.unit = unit;
        p.now.textContent = total == null ? "" : fmt(total);
      } else {
        const rx = rec.raw.rx[p.index] || [], tx = rec.raw.tx[p.index] || [];
        p.plot.setData([times, rx, tx]);
        const lrx = rx.length ? rx[rx.length - 1] : null, ltx = tx.length ? tx[tx.length - 1] : null;
        p.box.dataset.latestRx = lrx == null ? "" : String(lrx);
        p.box.dataset.latestTx = ltx == null ? "" : String(ltx);
        p.box.dataset.unit = unit;
        p.now.textContent = `in ${fmt(lrx)} · out ${fmt(ltx)}`;
      }
    }
    renderTable(rec);
  }

  // ------------------------------------------------------------ bonds
  function newBond(name) {
    const section = el("section", { class: "bond", "data-bond": name, id: "bond-" + name });
    const facts = el("span", { class: "facts" });
    section.append(el("h2", {}, el("span", { class: "name", text: name }), facts));
    const bondCharts = el("div", { class: "charts bond-charts" });
    const memberCharts = el("div", { class: "charts members" });
    const tbody = el("tbody");
    const table = el("table", { class: "members-table" },
      el("thead", {}, el("tr", {}, ...["Member", "State", "MII", "Speed", "Failures", "Path loss · RTT", "Now in / out",
        "Bytes in / out", "Drops in / out", "LACP partner, states", ""].map((h) => el("th", {
        text: h, class: h.startsWith("Path") ? "path" : h.startsWith("LACP") ? "lacp" : "" })))),
      tbody);
    const input = el("input", { type: "text", placeholder: "interface", "data-role": "enslave-iface" });
    const enslaveBtn = el("button", { type: "button", text: "Enslave", "data-action": "enslave" });
    enslaveBtn.addEventListener("click", () => act(name, "enslave", { ifaces: [input.value.trim()] }));
    const optBody = el("tbody");
    const events = el("ol", { class: "events" });
    const lacp = el("p", { class: "lacp-status", hidden: true });
    const lacpLegend = el("p", { class: "lacp-legend", hidden: true, text: LACP_LEGEND });
    section.append(lacp, bondCharts, memberCharts, el("div", { class: "table-wrap" }, table), lacpLegend,
      el("div", { class: "enslave actions" }, input, enslaveBtn),
      el("div", { class: "lower" },
        el("div", {}, el("h3", { text: "Configuration" }), el("div", { class: "options" }, el("table", {}, optBody))),
        el("div", {}, el("h3", { text: "Events" }), events)));
    $("#bonds").append(section);
    const rec = { name, status: null, t: [], bond: [], series: {}, proto: {}, members: [], membersKey: "", plots: [],
      raw: { rx: [], tx: [] }, layers: { rx: [], tx: [] }, events: [], colors: new Map(),
      yMax: { bond: 1, member: 1, path: 10 }, hasPath: false, path: { t: [], loss: {} },
      el: { section, facts, lacp, lacpLegend, bondCharts, memberCharts, tbody, optBody, events } };
    bonds.set(name, rec);
    return rec;
  }

  function setStatus(rec, status) {
    rec.status = status;
    const members = (status.slaves || []).map((s) => s.name);
    rec.hasPath = (status.slaves || []).some((s) => s.path);
    // The path column only where the path monitor runs, the LACP column
    // only in 802.3ad: the member table must fit its card at 800x600.
    rec.el.section.classList.toggle("has-path", rec.hasPath);
    rec.el.section.classList.toggle("has-lacp", (status.slaves || []).some((s) => s.ad));
    const key = members.join(",") + (rec.hasPath ? " path" : "");
    rec.members = members;
    samplePath(rec, status);
    const s = rec.el.section;
    s.dataset.active = status.active_slave || "";
    s.dataset.mode = status.mode || "";
    s.dataset.failovers = String(status.failovers || 0);
    const f = rec.el.facts;
    const mii = status.mii_status || "?";
    const active = ACTIVE_SLAVE_MODES.includes(status.mode) ? [el("span", { class: "active" }, "active ",
      el("b", { "data-role": "active-slave", text: status.active_slave || "none" }))] : [];
    f.replaceChildren(
      el("span", {}, "mode ", el("b", { text: status.mode || "?" })),
      el("span", {}, "MII ", el("b", { class: miiClass(mii), text: mii })),
      ...active,
      el("span", {}, "failovers ", el("b", { "data-role": "failovers", text: String(status.failovers || 0) })),
      el("span", { text: (status.addresses || []).join(" ") }));
    renderOptions(rec);
    renderLacpStatus(rec);
    if (key !== rec.membersKey) {
      rec.membersKey = key;
      buildCharts(rec);
    }
  }

  function miiClass(m) { return m === "up" ? "mii-up" : m === "down" ? "mii-down" : "mii-other"; }

  function renderOptions(rec) {
    const opts = rec.status.options || {};
    const rows = Object.keys(opts).sort().map((k) => {
      return el("tr", { "data-option": k }, el("td", { text: k }), el("td", { text: optionText(opts[k]) }));
    });
    rec.el.optBody.replaceChildren(...rows);
  }

  // as sysfs prints it: lists space-separated, prio as IFACE:N pairs
  function optionText(v) {
    if (v == null || v === "") return "";
    if (Array.isArray(v)) return v.map(optionText).join(" ");
    if (typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}:${optionText(x)}`).join(" ");
    return String(v);
  }

  function lacpLetters(state) {
    return LACP_BITS.map(([letter], i) => (state & (1 << i) ? letter : ".")).join("");
  }

  // "ATGSCD..", the words of the set bits in its tooltip
  function lacpCell(side, state) {
    if (typeof state !== "number") return el("span", { class: "lacp-state", text: `${side} –` });
    const words = LACP_BITS.filter((b, i) => state & (1 << i)).map((b) => b[1]);
    return el("span", { class: "lacp-state", title: `${side} port state ${state}: ${words.join(", ") || "none"}`,
      "data-side": side, "data-state": String(state) }, `${side} `, el("b", { text: lacpLetters(state) }));
  }

  // the daemon's lacp_status (negotiated, configured (no partner), off: the
  // one definition, shared with softbond top and `softbond status`), with
  // what the status shows besides
  function lacpStatus(status) {
    const state = status.lacp_status || "off";
    if (state === "off") return { state, text: "lacp_status: off" };
    const slaves = status.slaves || [];
    const distributing = slaves.filter((s) => (((s.ad || {}).actor || {}).port_state || 0) & (1 << 5));
    const agg = (status.ad_info || {}).active_aggregator || {};
    const parts = [`lacp_status: ${state}`, `${distributing.length}/${slaves.length} members distributing`];
    if (state === "negotiated" && agg.partner_mac) parts.push(`partner ${agg.partner_mac}`);
    if (agg.id != null) parts.push(`aggregator ${agg.id}`);
    // softbond's lacp_fallback while it runs, as `softbond status` words it
    const fb = (status.ad_info || {}).lacp_fallback || {};
    if (fb.active) {
      parts.push(`LACP fallback: ${fb.mode} (no LACPDU for ${Math.floor(fb.silent_for || 0)} s), ` +
                 `${fb.member || "no member"} active`);
    }
    return { state, fallback: Boolean(fb.active), text: parts.join(" · ") };
  }

  function renderLacpStatus(rec) {
    const st = lacpStatus(rec.status);
    const p = rec.el.lacp;
    p.hidden = rec.el.lacpLegend.hidden = st.state === "off";
    p.dataset.lacpStatus = st.state;
    p.dataset.lacpFallback = st.fallback ? "active" : "";
    p.textContent = st.text;
  }

  // 10000 -> "10 Gb/s": the narrower for a small screen's table
  function speedText(mbps) {
    if (!mbps) return "?";
    return mbps >= 1000 && mbps % 1000 === 0 ? `${mbps / 1000} Gb/s` : `${mbps} Mb/s`;
  }

  // 1536 -> "1.5 KB" in powers of 1000, as top's totals (a counter's
  // digits would widen the table as it grows)
  function bytesText(count) {
    let value = count;
    for (const u of ["B", "KB", "MB", "GB", "TB"]) {
      if (value < 1000 || u === "TB") return u === "B" ? `${value} B` : `${value.toFixed(1)} ${u}`;
      value /= 1000;
    }
  }

  // in above out: one column where two side by side made the table wider
  // than its card on a small screen
  function inOutCell(rx, tx) {
    return el("td", { class: "num in-out" }, el("span", { "data-dir": "rx", text: rx }),
      el("span", { "data-dir": "tx", text: tx }));
  }

  function renderTable(rec) {
    const st = rec.status;
    if (!st) return;
    const rows = (st.slaves || []).map((s, i) => {
      const series = rec.series[s.name] || [];
      const last = series.length ? series[series.length - 1] : null;
      const c = s.counters || {};
      const lacp = s.ad ? [el("span", { class: "lacp-partner", text: (s.ad.partner || {}).system_mac || "–" }),
        lacpCell("actor", (s.ad.actor || {}).port_state), lacpCell("partner", (s.ad.partner || {}).port_state)] : ["–"];
      // "Make active" only where the mode has an active member (the kernel
      // refuses active_slave elsewhere)
      const makeActive = ACTIVE_SLAVE_MODES.includes(st.mode)
        ? el("button", { type: "button", text: "Make active", "data-action": "set-active" }) : null;
      if (makeActive) makeActive.addEventListener("click", () => act(rec.name, "set-active", { iface: s.name }));
      const release = el("button", { type: "button", text: "Release", "data-action": "release" });
      release.addEventListener("click", () => act(rec.name, "release", { ifaces: [s.name] }));
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = memberColor(rec, s.name);
      return el("tr", { "data-member": s.name, "data-state": s.state || "", "data-mii": s.mii_status || "" },
        el("td", {}, swatch, el("span", { class: "member-name", text: s.name })),
        el("td", { text: s.state || "" }),
        el("td", {}, el("span", { class: miiClass(s.mii_status), text: s.mii_status || "?" })),
        el("td", { class: "num", text: speedText(s.speed_mbps) }),
        el("td", { class: "num", text: String(s.link_failure_count || 0) }),
        el("td", { class: "path", "data-path-state": s.path ? s.path.state : "",
          title: s.path ? s.path.reason || s.path.state : "path_monitor is off" },
        ...(s.path ? pathLines(s.path) : ["–"])),
        inOutCell(fmt(conv(last, "rx")), fmt(conv(last, "tx"))),
        inOutCell(bytesText(c.rx_bytes || 0), bytesText(c.tx_bytes || 0)),
        inOutCell(String(c.rx_dropped || 0), String(c.tx_dropped || 0)),
        el("td", { class: "lacp" }, ...lacp),
        el("td", { class: "actions" }, makeActive, makeActive ? " " : null, release));
    });
    rec.el.tbody.replaceChildren(...rows);
  }

  function addEvents(rec, events) {
    for (const e of events) rec.events.push(e);
    if (rec.events.length > MAX_EVENTS) rec.events.splice(0, rec.events.length - MAX_EVENTS);
    const items = rec.events.slice().reverse().map((e) => {
      const when = new Date((e.time || 0) * 1000);
      return el("li", { "data-kind": e.kind || "" },
        el("time", { text: when.toLocaleTimeString("en-GB"), dateTime: when.toISOString() }),
        el("span", { class: "kind", text: e.kind || "" }),
        el("span", { class: "text", text: e.message || "" }));
    });
    rec.el.events.replaceChildren(...items);
  }

  function trim(rec) {
    const extra = rec.t.length - HISTORY;
    if (extra > 0) {
      rec.t.splice(0, extra);
      rec.bond.splice(0, extra);
      for (const m of Object.keys(rec.series)) rec.series[m].splice(0, Math.max(0, rec.series[m].length - rec.t.length));
      for (const c of Object.keys(rec.proto)) rec.proto[c].splice(0, Math.max(0, rec.proto[c].length - rec.t.length));
    }
  }

  function setReadOnly(value) {
    readOnly = value;
    const access = $("#access");
    access.dataset.readOnly = String(value);
    access.textContent = value ? "read-only" : "changes need the token";
    document.body.dataset.readOnly = String(value);
    $("#token-form").hidden = value;
    $("#read-only-hint").hidden = !value;
  }

  // the bonds as /api/bonds has them, before the stream sends anything
  function applyStatuses(statuses) {
    for (const status of statuses) {
      if (!status || !status.bond || bonds.has(status.bond)) continue;
      const rec = newBond(status.bond);
      setStatus(rec, status);
      redraw(rec);
    }
    noBonds();
  }

  function applyFull(msg) {
    setReadOnly(msg.read_only);
    const names = new Set(msg.bonds.map((b) => b.bond));
    for (const [name, rec] of bonds) if (!names.has(name)) removeBond(name, rec);
    for (const b of msg.bonds) {
      const rec = bonds.get(b.bond) || newBond(b.bond);
      const h = b.history;
      rec.t = h.t.slice();
      rec.bond = h.bond.slice();
      rec.series = {};
      for (const [m, vecs] of Object.entries(h.members)) {
        // a member enslaved later has a shorter history: align at the end
        rec.series[m] = Array(Math.max(0, rec.t.length - vecs.length)).fill(null).concat(vecs);
      }
      rec.proto = {};
      for (const [c, vecs] of Object.entries(h.protocols || {})) {
        rec.proto[c] = Array(Math.max(0, rec.t.length - vecs.length)).fill(null).concat(vecs.slice(-rec.t.length));
      }
      setStatus(rec, b.status);
      rec.events = [];
      addEvents(rec, b.events);
      redraw(rec);
    }
    noBonds();
    unmanaged(msg.unmanaged);
  }

  function applyUpdate(msg) {
    const names = new Set(msg.bonds.map((b) => b.bond));
    for (const [name, rec] of bonds) if (!names.has(name)) removeBond(name, rec);
    for (const b of msg.bonds) {
      const rec = bonds.get(b.bond) || newBond(b.bond);
      setStatus(rec, b.status);
      if (b.point) {
        rec.t.push(b.point.t);
        rec.bond.push(b.point.bond);
        for (const m of rec.members) {
          if (!rec.series[m]) rec.series[m] = Array(rec.t.length - 1).fill(null);
          rec.series[m].push(b.point.members[m] || null);
        }
        for (const m of Object.keys(rec.series)) if (!rec.members.includes(m)) delete rec.series[m];
        for (const c of PROTOCOLS) {
          if (!rec.proto[c]) rec.proto[c] = Array(rec.t.length - 1).fill(null);
          rec.proto[c].push((b.point.protocols || {})[c] || null);
        }
        trim(rec);
      }
      if (b.events && b.events.length) addEvents(rec, b.events);
      redraw(rec);
    }
    noBonds();
    unmanaged(msg.unmanaged);
    document.body.dataset.seq = String(msg.seq);
  }

  function removeBond(name, rec) {
    for (const p of rec.plots) { p.observer.disconnect(); p.plot.destroy(); }
    rec.el.section.remove();
    bonds.delete(name);
  }

  function noBonds() { $("#no-bonds").hidden = bonds.size > 0; }

  // bonds whose process died: one line each, with what still runs
  function unmanaged(list) {
    const ul = $("#unmanaged");
    ul.replaceChildren(...(list || []).map((b) => el("li", { text: b.reason, "data-bond": b.name })));
    ul.hidden = ul.children.length === 0;
  }

  // What the page drew, for the browser tests: chart and card boxes, the
  // x-axis labels as placed, the colour of each member's series.
  function describeCharts() {
    const rect = (e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    };
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = AXIS_FONT;
    const out = [];
    for (const rec of bonds.values()) {
      for (const p of rec.plots) {
        const u = p.plot, over = u.over.getBoundingClientRect();
        const axis = u.axes[0];
        const labels = (axis._values || []).map((text, i) => {
          const x = over.left + u.valToPos(axis._splits[i], "x");
          const w = ctx.measureText(String(text)).width;
          return { text: String(text), left: x - w / 2, right: x + w / 2 };
        });
        out.push({ bond: rec.name, kind: p.kind, dir: p.dir || null, member: p.member || null, detail,
          card: rect(p.box), section: rect(rec.el.section), root: rect(u.root), canvas: rect(u.ctx.canvas),
          labels, series: u.series.slice(1).map((s) => ({ label: s.label, stroke: s._stroke || s.stroke,
            dash: s.dash || null })), yMax: u.scales.y.max });
      }
    }
    return out;
  }
  window.softbondDashboard = { describeCharts };

  // ---------------------------------------------------------- actions
  async function act(bond, action, body) {
    const token = sessionStorage.getItem("softbond.token") || "";
    let status = 0, text;
    try {
      const res = await fetch(`/api/bonds/${encodeURIComponent(bond)}/${action}`, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", [TOKEN_HEADER]: token },
        body: JSON.stringify(body),
      });
      status = res.status;
      const data = await res.json().catch(() => ({}));
      text = res.ok ? `${bond}: ${action} done` : `${res.status}: ${data.error || res.statusText}`;
    } catch (err) {
      text = `${action} failed: ${err}`;
    }
    message(text, status >= 200 && status < 300);
    $("#message").dataset.status = String(status);
  }

  // ----------------------------------------------------------- stream
  function connect() {
    const conn = $("#conn");
    const es = new EventSource("/api/stream");
    es.addEventListener("open", () => { conn.dataset.state = "live"; conn.textContent = "live"; });
    es.addEventListener("error", () => { conn.dataset.state = "error"; conn.textContent = "reconnecting…"; });
    es.addEventListener("full", (ev) => applyFull(JSON.parse(ev.data)));
    es.addEventListener("update", (ev) => applyUpdate(JSON.parse(ev.data)));
  }

  function init() {
    for (const b of document.querySelectorAll("#units button")) b.addEventListener("click", () => setUnit(b.dataset.unit));
    for (const b of document.querySelectorAll("#details button")) b.addEventListener("click", () => setDetail(b.dataset.detail));
    document.addEventListener("keydown", (ev) => {
      if (ev.target instanceof HTMLInputElement) return;
      if (ev.key === "u") setUnit(UNITS[(UNITS.indexOf(unit) + 1) % UNITS.length]);
      if (ev.key === "g") setDetail(DETAILS[(DETAILS.indexOf(detail) + 1) % DETAILS.length]);
    });
    const form = $("#token-form");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem("softbond.token", $("#token").value);
      $("#token").value = "";
      message("token set for this tab", true);
    });
    setUnit(unit);
    setDetail(detail);
    load();
  }

  // first paint from the JSON API, then the stream (which resends it all)
  async function load() {
    try {
      const get = (u) => fetch(u, { cache: "no-store", credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
      const [info, statuses] = await Promise.all([get("/api/info"), get("/api/bonds")]);
      setReadOnly(info.read_only);
      applyStatuses(statuses);
      document.body.dataset.loaded = "api";
    } catch (err) {
      $("#conn").textContent = `could not load /api/bonds (${err}); waiting for the stream…`;
    }
    connect();
  }
  init();
})();
