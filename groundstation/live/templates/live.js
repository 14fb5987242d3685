// The live page: draws the session's records as they arrive (server-sent events from
// /events; everything so far first, then each as it is published).
"use strict";

const UNITS = [["_mpa", "MPa"], ["_nt", "nT"], ["_cps", "counts/s"], ["_min", "min"],
               ["_v", "V"], ["_a", "A"], ["_c", "\u00b0C"]];
const LABELS = {
  battery_v: "battery voltage", battery_a: "battery current", solar_array_a: "solar array current",
  n2_pressure_a_mpa: "nitrogen bottle A", n2_pressure_b_mpa: "nitrogen bottle B",
  temp_orbital_c: "compartment temperature", temp_experiment_c: "experiment temperature",
  temp_radiator_c: "radiator temperature", attitude_mode: "attitude mode",
  command_count: "commands obeyed", onboard_time_min: "on-board clock",
  mag_x_nt: "magnetic field X", mag_y_nt: "magnetic field Y", mag_z_nt: "magnetic field Z",
  micrometeoroid_hits: "micrometeoroid hits", gas_discharge_cps: "gas-discharge counter",
  scintillation_cps: "scintillation counter",
};
const PLOTTED = ["battery_v", "temp_orbital_c", "n2_pressure_b_mpa", "mag_x_nt", "mag_y_nt",
                 "micrometeoroid_hits"];
const ATTITUDE = ["Sun-star oriented", "gyroscopes", "spinning about the Sun axis", "uncontrolled"];

const bands = {};         // band id -> {wf canvas, ctx, count element, ...}
const values = {};        // channel -> latest value
const series = {};        // channel -> [[t, v], ...]
let image = null;         // {id, lines, pixels, ctx, received}
let source = null;
let over = false;

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function unit(name) {
  for (const [suffix, u] of UNITS) if (name.endsWith(suffix)) return u;
  return "";
}

function setState(text, done) {
  const node = document.getElementById("state");
  node.textContent = text;
  node.classList.toggle("over", !!done);
}

function onSession(r) {
  if (r.title) document.getElementById("title").textContent = r.title;
  if (r.facts) {
    const facts = document.getElementById("facts");
    facts.textContent = "";
    Object.entries(r.facts).forEach(([label, value], i) => {
      if (i) facts.append(document.createTextNode(" \u00b7 "));
      facts.append(document.createTextNode(label + " "), el("b", {}, value));
    });
  }
  const box = document.getElementById("bands");
  box.textContent = "";
  for (const b of r.bands) {
    const row = el("div", {class: "band", id: "band-" + b.band});
    const left = el("div");
    left.append(el("div", {class: "name"}, b.band), el("div", {class: "what"}, b.what));
    const bar = el("div", {class: "margin"});
    const fill = el("i");
    const m = b.margin_db;
    fill.style.width = Math.max(3, Math.min(100, 50 + 2.5 * m)) + "%";
    fill.style.background = m >= 0 ? "var(--ok)" : "var(--bad)";
    bar.append(fill);
    left.append(bar, el("div", {class: "margin-text"},
                        "link margin " + (m >= 0 ? "+" : "") + m.toFixed(1) + " dB"));
    const count = el("div", {class: "count"}, b.transmitted ? "listening\u2026" : "not transmitted");
    left.append(count);
    const right = el("div");
    const canvas = el("canvas", {class: "wf", width: 128, height: 88});
    const axis = el("div", {class: "wf-axis"});
    const half = b.fs_hz / 2;
    axis.append(el("span", {}, "\u2212" + fmtHz(half)), el("span", {}, "tuned"),
                el("span", {}, "+" + fmtHz(half)));
    right.append(canvas, axis);
    row.append(left, right);
    box.append(row);
    bands[b.band] = {canvas, ctx: canvas.getContext("2d"), count, floor: null, frames: 0,
                     lines: 0};
  }
  const log = document.getElementById("log");
  for (const c of r.commands) {
    const li = el("li");
    li.append(el("span", {class: "t"}, c.sent_utc.slice(11, 19)),
              document.createTextNode(c.description + " "),
              el("span", {class: c.accepted ? "ok" : "bad"},
                 c.accepted ? "\u2713 obeyed" : "\u2717 not received"));
    log.append(li);
  }
}

function fmtHz(hz) {
  return hz >= 1000 ? (hz / 1000).toFixed(hz >= 10000 ? 0 : 1) + " kHz" : hz.toFixed(0) + " Hz";
}

function onWaterfall(r) {
  const b = bands[r.band];
  if (!b) return;
  const row = r.row;
  if (b.canvas.width !== row.length) b.canvas.width = row.length;
  const sorted = row.slice().sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)];
  b.floor = b.floor === null ? median : 0.9 * b.floor + 0.1 * median;
  const ctx = b.ctx;
  const h = b.canvas.height;
  ctx.drawImage(b.canvas, 0, 0, row.length, h - 1, 0, 1, row.length, h - 1);
  const line = ctx.createImageData(row.length, 1);
  for (let i = 0; i < row.length; i++) {
    const x = Math.max(0, Math.min(1, (row[i] - b.floor + 3) / 30));
    line.data[4 * i] = Math.round(255 * Math.min(1, 2.2 * x));
    line.data[4 * i + 1] = Math.round(255 * Math.max(0, Math.min(1, 2.2 * x - 0.6)));
    line.data[4 * i + 2] = Math.round(255 * Math.max(0, 0.5 - x) + 255 * Math.max(0, x - 0.8) * 4);
    line.data[4 * i + 3] = 255;
  }
  ctx.putImageData(line, 0, 0);
}

function onFrame(r) {
  const b = bands[r.band];
  if (b) {
    b.frames += 1;
    b.count.textContent = b.frames + " frames" + (r.parity_ok ? "" : " (last with a parity error)");
  }
  if (!r.parity_ok) return;
  for (const name of Object.keys(LABELS)) {
    const v = r[name];
    if (v === null || v === undefined) continue;
    values[name] = v;
    (series[name] = series[name] || []).push([r.t_s, v]);
  }
  drawTelemetry();
}

function drawTelemetry() {
  const body = el("tbody");
  for (const [name, label] of Object.entries(LABELS)) {
    if (!(name in values)) continue;
    let text = String(values[name]);
    if (name === "attitude_mode") text = ATTITUDE[values[name]] || text;
    else if (typeof values[name] === "number" && !Number.isInteger(values[name]))
      text = values[name].toFixed(2);
    const tr = el("tr");
    tr.append(el("td", {}, label), el("td", {class: "v"}, text + " " + unit(name)));
    body.append(tr);
  }
  const table = document.getElementById("tlm");
  table.replaceChild(body, table.tBodies[0]);
  const plots = document.getElementById("plots");
  for (const name of PLOTTED) {
    const points = series[name];
    if (!points) continue;
    let box = document.getElementById("plot-" + name);
    if (!box) {
      box = el("div", {class: "plot", id: "plot-" + name});
      box.append(el("div", {class: "label"}, LABELS[name] + (unit(name) ? " (" + unit(name) + ")" : "")),
                 el("canvas", {width: 200, height: 54}));
      plots.append(box);
    }
    drawPlot(box.querySelector("canvas"), points);
  }
}

function drawPlot(canvas, points) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const ts = points.map(p => p[0]), vs = points.map(p => p[1]);
  let lo = Math.min(...vs), hi = Math.max(...vs);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1e-9);
  ctx.strokeStyle = "#ffc857";
  ctx.fillStyle = "#ffc857";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach(([t, v], i) => {
    const x = 4 + (w - 8) * (t - t0) / (t1 - t0 || 1);
    const y = h - 6 - (h - 12) * (v - lo) / (hi - lo);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#8ea3bf";
  ctx.font = "10px sans-serif";
  ctx.fillText(String(+hi.toFixed(2)), 2, 10);
  ctx.fillText(String(+lo.toFixed(2)), 2, h - 2);
}

function showImageHeader(r) {
  const canvas = document.getElementById("image");
  canvas.width = r.pixels;
  canvas.height = r.lines;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, r.pixels, r.lines);
  image = {id: r.image_id, lines: r.lines, pixels: r.pixels, mode: r.mode, ctx, received: 0};
  document.getElementById("image-caption").textContent =
    "image " + r.image_id + ": " + r.lines + " lines of " + r.pixels + " pixels, arriving\u2026";
}

// The image's records are drawn from a queue, a few lines at a time, so that a burst (a
// receiver that decides an image's lines together) is still seen growing, top to bottom.
const pendingImage = [];

function onImageHeader(r) { pendingImage.push(r); }
function onImage(r) { pendingImage.push(r); }

function onImageLine(r) {
  const b = bands[r.band];
  if (b) { b.lines += 1; b.count.textContent = b.lines + " image lines"; }
  pendingImage.push(r);
}

function drawLine(r) {
  if (!image || image.id !== r.image_id) return;
  const row = image.ctx.createImageData(image.pixels, 1);
  for (let i = 0; i < image.pixels && i < r.grey.length; i++) {
    const g = Math.round(r.grey[i] * 255 / 63);
    row.data[4 * i] = g; row.data[4 * i + 1] = g; row.data[4 * i + 2] = g;
    row.data[4 * i + 3] = 255;
  }
  image.ctx.putImageData(row, 0, r.line);
  image.received += 1;
  document.getElementById("image-caption").textContent =
    "image " + r.image_id + ": line " + r.line + " of " + image.lines + " (" +
    image.received + " received, SNR " + (r.snr_db === null ? "?" : r.snr_db.toFixed(1)) +
    " dB)";
  document.getElementById("image").dataset.lines = String(image.received);
}

function drawLines() {
  let lines = Math.max(1, Math.ceil(pendingImage.length / 40));
  while (lines > 0 && pendingImage.length) {
    const r = pendingImage.shift();
    if (r.kind === "image-header") showImageHeader(r);
    else if (r.kind === "image-line") { drawLine(r); lines -= 1; }
    else document.getElementById("image-caption").textContent =
      "image " + r.image_id + " complete: " + r.lines_received + " lines received, " +
      r.lines_missing + " lost";
  }
}

setInterval(drawLines, 25);

function onCarrier(r) {
  const b = bands[r.band];
  if (b) b.count.textContent = "carrier " + (r.offset_hz >= 0 ? "+" : "") +
    r.offset_hz.toFixed(1) + " Hz from the prediction";
}

function onLog(r) {
  const li = el("li");
  li.append(el("span", {class: "t"}, r.t_utc ? r.t_utc.slice(11, 19) : ""),
            document.createTextNode(r.text));
  document.getElementById("log").append(li);
}

function onEnd(r) {
  over = true;
  setState("session over", true);
  if (source) source.close();
  const footer = document.getElementById("footer");
  footer.textContent = (r.summary || "The session is over.") + " ";
  if (r.report) footer.append(el("span", {}, "Final report: " + r.report));
}

const HANDLERS = {session: onSession, waterfall: onWaterfall, frame: onFrame,
                  "image-header": onImageHeader, "image-line": onImageLine, image: onImage,
                  carrier: onCarrier, log: onLog, end: onEnd,
                  status: r => setState("live: " + r.text)};

let lastSeq = -1;

function handle(record) {
  if (record.seq <= lastSeq) return;  // a reconnection replays what is already shown
  lastSeq = record.seq;
  const f = HANDLERS[record.kind];
  if (f) f(record);
  document.body.dataset.seq = String(record.seq);
}

function start() {
  source = new EventSource("/events");
  source.onopen = () => { if (!over) setState("live"); };
  source.onmessage = event => handle(JSON.parse(event.data));
  source.onerror = () => {
    if (over) return;
    if (source.readyState === EventSource.CLOSED) {
      setState("connection lost", true);
    } else {
      setState("reconnecting…");  // the browser retries; the feed replays from the start
    }
  };
}

start();
