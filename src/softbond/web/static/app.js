/* softbond web dashboard: Server-Sent Events from /api/stream, charts with
 * the vendored uPlot, and (with a token) set-active / enslave / release.
 * Everything from the server goes into the page through textContent only. */
"use strict";
(function () {
  const UNITS = ["Mbit/s", "Kbit/s", "packets/s"];
  const HISTORY = 300;
  const TOKEN_HEADER = "X-Softbond-Token";
  const COLORS = ["#2456c7", "#e07b00", "#17803d", "#9b3bb5", "#c0262d", "#0f8b8d", "#7a5c00", "#d63a8a"];
  const MAX_EVENTS = 200;

  let unit = localStorage.getItem("softbond.unit");
  if (!UNITS.includes(unit)) unit = "Mbit/s";
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

  function makePlot(container, series, stacked) {
    const width = Math.max(280, container.clientWidth || 360);
    const opts = {
      width, height: stacked ? 190 : 130,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { values: (u, vals) => vals.map(fmtAxis), size: 55 }],
      series: [{ label: "time" }].concat(series),
    };
    const data = [[]].concat(series.map(() => []));
    return new uPlot(opts, data, container);
  }

  function buildCharts(rec) {
    const members = rec.members;
    for (const p of rec.plots) p.plot.destroy();
    rec.plots = [];
    const top = rec.el.bondCharts, below = rec.el.memberCharts;
    top.replaceChildren();
    below.replaceChildren();
    // Stacked bond charts: series i plots the sum of members 0..i; drawn
    // from the largest sum down so that each band shows in its member's colour.
    for (const dir of ["rx", "tx"]) {
      const box = el("div", { class: `chart chart-bond-${dir}`, "data-dir": dir, "data-latest": "" });
      const now = el("span", { class: "now" });
      box.append(el("h3", { text: dir === "rx" ? "Incoming (stacked by member)" : "Outgoing (stacked by member)" }, now));
      const plotBox = el("div", { class: "plot" });
      box.append(plotBox);
      top.append(box);
      const series = [];
      for (let i = members.length - 1; i >= 0; i--) {
        const color = COLORS[i % COLORS.length];
        const idx = i;
        series.push({
          label: members[i], stroke: color, fill: tint(color, 0.6), width: 1, points: { show: false },
          value: (u, v, sidx, didx) => (didx == null ? "–" : fmt(rec.raw[dir][idx][didx])),
        });
      }
      rec.plots.push({ kind: "bond", dir, box, now, plot: makePlot(plotBox, series, true) });
    }
    members.forEach((name, i) => {
      const box = el("div", { class: "chart chart-member", "data-member": name, "data-latest-rx": "", "data-latest-tx": "" });
      const now = el("span", { class: "now" });
      box.append(el("h3", { text: name }, now));
      const plotBox = el("div", { class: "plot" });
      box.append(plotBox);
      below.append(box);
      const series = [
        { label: "in", stroke: COLORS[0], width: 1.5, points: { show: false }, value: (u, v) => fmt(v) },
        { label: "out", stroke: COLORS[1], width: 1.5, points: { show: false }, value: (u, v) => fmt(v) },
      ];
      rec.plots.push({ kind: "member", member: name, index: i, box, now, plot: makePlot(plotBox, series, false) });
    });
  }

  function redraw(rec) {
    const times = rec.t;
    rec.raw = { rx: [], tx: [] };
    for (const dir of ["rx", "tx"]) {
      rec.raw[dir] = rec.members.map((m) => (rec.series[m] || []).map((v) => conv(v, dir)));
    }
    for (const p of rec.plots) {
      if (p.kind === "bond") {
        const raw = rec.raw[p.dir];
        const sums = [];
        let acc = times.map(() => 0);
        for (let i = 0; i < raw.length; i++) {
          acc = acc.map((a, j) => a + (raw[i][j] || 0));
          sums.push(acc);
        }
        sums.reverse();
        p.plot.setData([times].concat(sums));
        const total = times.length ? rec.bond.map((v) => conv(v, p.dir))[times.length - 1] : null;
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
      el("thead", {}, el("tr", {}, ...["Member", "State", "MII", "Speed", "Failures", "In", "Out",
        "RX bytes", "TX bytes", "Drops", "LACP partner", "LACP state", ""].map((h) => el("th", { text: h })))),
      tbody);
    const input = el("input", { type: "text", placeholder: "interface", "data-role": "enslave-iface" });
    const enslaveBtn = el("button", { type: "button", text: "Enslave", "data-action": "enslave" });
    enslaveBtn.addEventListener("click", () => act(name, "enslave", { ifaces: [input.value.trim()] }));
    const optBody = el("tbody");
    const events = el("ol", { class: "events" });
    section.append(bondCharts, memberCharts, el("div", { class: "table-wrap" }, table),
      el("div", { class: "enslave" }, input, enslaveBtn),
      el("div", { class: "lower" },
        el("div", {}, el("h3", { text: "Configuration" }), el("div", { class: "options" }, el("table", {}, optBody))),
        el("div", {}, el("h3", { text: "Events" }), events)));
    $("#bonds").append(section);
    const rec = { name, status: null, t: [], bond: [], series: {}, members: [], membersKey: "", plots: [],
      raw: { rx: [], tx: [] }, events: [], el: { section, facts, bondCharts, memberCharts, tbody, optBody, events } };
    bonds.set(name, rec);
    return rec;
  }

  function setStatus(rec, status) {
    rec.status = status;
    const members = (status.slaves || []).map((s) => s.name);
    const key = members.join(",");
    rec.members = members;
    const s = rec.el.section;
    s.dataset.active = status.active_slave || "";
    s.dataset.mode = status.mode || "";
    s.dataset.failovers = String(status.failovers || 0);
    const f = rec.el.facts;
    const mii = status.mii_status || "?";
    f.replaceChildren(
      el("span", {}, "mode ", el("b", { text: status.mode || "?" })),
      el("span", {}, "MII ", el("b", { class: miiClass(mii), text: mii })),
      el("span", { class: "active" }, "active ", el("b", { "data-role": "active-slave", text: status.active_slave || "none" })),
      el("span", {}, "failovers ", el("b", { "data-role": "failovers", text: String(status.failovers || 0) })),
      el("span", { text: (status.addresses || []).join(" ") }));
    renderOptions(rec);
    if (key !== rec.membersKey) {
      rec.membersKey = key;
      buildCharts(rec);
    }
  }

  function miiClass(m) { return m === "up" ? "mii-up" : m === "down" ? "mii-down" : "mii-other"; }

  function renderOptions(rec) {
    const opts = rec.status.options || {};
    const rows = Object.keys(opts).sort().map((k) => {
      const v = opts[k];
      return el("tr", {}, el("td", { text: k }), el("td", { text: Array.isArray(v) ? v.join(" ") : String(v) }));
    });
    rec.el.optBody.replaceChildren(...rows);
  }

  function lacpText(ad) {
    if (!ad) return ["–", "–"];
    const partner = ad.partner || {}, actor = ad.actor || {};
    const mac = partner.system_mac || "–";
    const st = (actor.port_state ?? "–") + " / " + (partner.port_state ?? "–");
    return [mac, st];
  }

  function renderTable(rec) {
    const st = rec.status;
    if (!st) return;
    const rows = (st.slaves || []).map((s, i) => {
      const series = rec.series[s.name] || [];
      const last = series.length ? series[series.length - 1] : null;
      const c = s.counters || {};
      const [partner, lstate] = lacpText(s.ad);
      const makeActive = el("button", { type: "button", text: "Make active", "data-action": "set-active" });
      makeActive.addEventListener("click", () => act(rec.name, "set-active", { iface: s.name }));
      const release = el("button", { type: "button", text: "Release", "data-action": "release" });
      release.addEventListener("click", () => act(rec.name, "release", { ifaces: [s.name] }));
      return el("tr", { "data-member": s.name, "data-state": s.state || "", "data-mii": s.mii_status || "" },
        el("td", { text: s.name }),
        el("td", { text: s.state || "" }),
        el("td", {}, el("span", { class: miiClass(s.mii_status), text: s.mii_status || "?" })),
        el("td", { class: "num", text: s.speed_mbps ? s.speed_mbps + " Mb/s" : "?" }),
        el("td", { class: "num", text: String(s.link_failure_count || 0) }),
        el("td", { class: "num", text: fmt(conv(last, "rx")) }),
        el("td", { class: "num", text: fmt(conv(last, "tx")) }),
        el("td", { class: "num", text: (c.rx_bytes || 0).toLocaleString("en") }),
        el("td", { class: "num", text: (c.tx_bytes || 0).toLocaleString("en") }),
        el("td", { class: "num", text: `${c.rx_dropped || 0} / ${c.tx_dropped || 0}` }),
        el("td", { text: partner }),
        el("td", { text: lstate }),
        el("td", {}, makeActive, " ", release));
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
    }
  }

  function applyFull(msg) {
    document.getElementById("access").dataset.readOnly = String(msg.read_only);
    document.getElementById("access").textContent = msg.read_only ? "read-only" : "changes need the token";
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
    for (const p of rec.plots) p.plot.destroy();
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
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "u" && !(ev.target instanceof HTMLInputElement)) setUnit(UNITS[(UNITS.indexOf(unit) + 1) % UNITS.length]);
    });
    const form = $("#token-form");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem("softbond.token", $("#token").value);
      $("#token").value = "";
      message("token set for this tab", true);
    });
    window.addEventListener("resize", () => {
      for (const rec of bonds.values()) for (const p of rec.plots) {
        const w = p.box.clientWidth;
        if (w > 0) p.plot.setSize({ width: w, height: p.plot.height });
      }
    });
    setUnit(unit);
    connect();
  }
  init();
})();
