// Dashboard: polls the REST API once a second; charts with uPlot; the mode change needs a token
// from /api/login, kept for this browser tab only.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "scc-token";
const PHASE_COLORS = ["#8e5a2b", "#222222", "#6b7b8c"];
const REPORTED_COLORS = ["#e67e22", "#7f8c8d", "#3498db"];
const history = { time: [], grid: [[], [], []], reported: [[], [], []], power: [], quarter: [] };
let lastTime = 0;
let capKw = null;
let charts = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  if (response.status === 401 && token()) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  }
  return response;
}

function amps(value) { return value == null ? "–" : value.toFixed(2) + " A"; }
function watts(value) {
  if (value == null) return "–";
  return Math.abs(value) >= 1000 ? (value / 1000).toFixed(2) + " kW" : value.toFixed(0) + " W";
}

function showLogin() {
  $("login-form").hidden = !!token();
  $("mode-form").hidden = !token();
  if (!token()) {
    const closed = document.body.dataset.readOpen === "no";
    $("mode-message").textContent = closed
      ? "This device shows its values only after login."
      : "Log in to change the mode.";
  }
}

function makeCharts() {
  const width = Math.max(260, $("chart-current").clientWidth);
  const axes = (unit) => [{}, { label: unit, size: 52 }];
  const series = [{}];
  for (let i = 0; i < 3; i++) series.push({ label: "grid L" + (i + 1), stroke: PHASE_COLORS[i], width: 1.5 });
  for (let i = 0; i < 3; i++) series.push({ label: "reported L" + (i + 1), stroke: REPORTED_COLORS[i], width: 1, dash: [4, 3] });
  // Labels only: a live legend shows "--" for every series until the pointer is on the chart.
  const legend = { live: false };
  const current = new uPlot({ width, height: 190, series, axes: axes("A"), legend },
    [[], [], [], [], [], [], []], $("chart-current"));
  const power = new uPlot({ width, height: 190, axes: axes("kW"), legend, series: [{},
    { label: "grid power", stroke: "#0b6e4f", width: 1.5, fill: "rgba(11,110,79,0.08)" },
    { label: "quarter average", stroke: "#c0392b", width: 2 }] }, [[], [], []], $("chart-power"));
  return { current, power };
}

function appendHistory(columns) {
  const n = columns.time.length;
  for (let k = 0; k < n; k++) {
    history.time.push(columns.time[k]);
    for (let i = 0; i < 3; i++) {
      history.grid[i].push(columns["grid_l" + (i + 1) + "_a"][k]);
      history.reported[i].push(columns["reported_l" + (i + 1) + "_a"][k]);
    }
    const w = columns.grid_w[k];
    const q = columns.quarter_avg_w[k];
    history.power.push(w == null ? null : w / 1000);
    history.quarter.push(q == null ? null : q / 1000);
  }
  if (n) lastTime = columns.time[n - 1];
  const excess = history.time.length - 3600;
  if (excess > 0) {
    history.time.splice(0, excess);
    history.power.splice(0, excess);
    history.quarter.splice(0, excess);
    for (let i = 0; i < 3; i++) { history.grid[i].splice(0, excess); history.reported[i].splice(0, excess); }
  }
  charts.current.setData([history.time, ...history.grid, ...history.reported]);
  charts.power.setData([history.time, history.power, history.quarter]);
}

async function refreshMode() {
  const response = await api("/api/mode");
  if (!response.ok) return;
  const mode = await response.json();
  $("mode-label").textContent = mode.label;
  const select = $("mode-select");
  if (document.activeElement !== select) {
    select.replaceChildren(...mode.available.map((m) => {
      const option = new Option(m.label, m.mode, false, m.mode === mode.mode);
      return option;
    }));
  }
  const match = /^capacity:(\d+)$/.exec(mode.mode);
  capKw = match ? Number(match[1]) : null;
}

async function refreshNow() {
  const [readings, reported, control, health] = await Promise.all(
    ["/api/readings", "/api/reported", "/api/control", "/api/health"].map((p) => api(p)));
  if (readings.ok) {
    const r = await readings.json();
    r.phases.forEach((p, i) => {
      const cell = $("grid-a-" + (i + 1));
      cell.textContent = amps(p.signed_current_a);
      cell.classList.toggle("export", p.signed_current_a < 0);
      $("grid-w-" + (i + 1)).textContent = watts(p.power_w);
    });
    $("grid-total").textContent = watts(r.total_power_w);
    $("grid-hz").textContent = r.frequency_hz == null ? "–" : r.frequency_hz.toFixed(2) + " Hz";
  }
  if (reported.ok) {
    const rep = await reported.json();
    rep.phases.forEach((p, i) => { $("rep-a-" + (i + 1)).textContent = amps(p.current_a); });
    $("failsafe").hidden = !rep.failsafe;
  }
  if (control.ok) {
    const c = await control.json();
    const charging = c.ev_current_a != null && c.ev_current_a > 0 && c.ev_phases;
    $("ev-a").textContent = amps(c.ev_current_a) + (charging ? " × " + c.ev_phases : "");
    $("control-reason").textContent = c.reason || "";
    const showQuarter = capKw != null && c.quarter_average_w != null;
    $("quarter").hidden = !showQuarter;
    if (showQuarter) {
      $("quarter-avg").textContent = watts(c.quarter_average_w);
      $("quarter-cap").textContent = capKw + " kW";
      const share = Math.min(100, c.quarter_average_w / (capKw * 10));
      $("quarter-bar").style.width = Math.max(0, share) + "%";
      $("quarter-bar").classList.toggle("over", share >= 100);
    }
  }
  if (health.ok) {
    const h = await health.json();
    $("health").textContent = h.status;
    $("health").className = "pill " + h.status;
  }
}

async function refreshDevice() {
  const leds = await api("/api/leds");
  if (leds.ok) {
    const states = await leds.json();
    for (const name of ["pwr", "cs", "p1"]) $("led-" + name).classList.toggle("on", states[name]);
  }
  // Fetched with the token (an <img> cannot send one) and shown as a data: URL, which the
  // page's content security policy allows for images.
  const image = await api("/api/panel.png");
  if (image.ok) $("oled").src = await dataUrl(await image.blob());
}

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function tick() {
  try {
    const response = await api("/api/history?since=" + lastTime);
    if (response.ok) appendHistory(await response.json());
    await Promise.all([refreshNow(), refreshDevice()]);
  } catch (error) {
    $("health").textContent = "offline";
    $("health").className = "pill degraded";
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password: $("password").value }),
  });
  const body = await response.json();
  $("password").value = "";
  if (response.ok) sessionStorage.setItem(TOKEN_KEY, body.token);
  showLogin();
  $("mode-message").textContent = response.ok ? "" : body.error;
  if (response.ok) tick();
});

$("mode-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await api("/api/mode", {
    method: "PUT", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ mode: $("mode-select").value }),
  });
  const body = await response.json();
  $("mode-message").textContent = response.ok ? "Mode changed to " + body.label + "." : body.error;
  await refreshMode();
});

charts = makeCharts();
showLogin();
refreshMode();
tick();
setInterval(tick, 1000);
setInterval(refreshMode, 5000);
window.addEventListener("resize", () => {
  const width = Math.max(260, $("chart-current").clientWidth);
  charts.current.setSize({ width, height: 190 });
  charts.power.setSize({ width, height: 190 });
});
