// The Explorer page (docs/explorer.md): selects and draws what
// docs/explorer_data.py computed with the real optimizers and the EWMA
// callback (window.EXPLORER_DATA). Nothing here computes a step or an
// average: it picks the series the controls name and maps it onto the plot.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const NAMES = {GradientDescent: "gradient descent", Momentum: "momentum", RMSProp: "RMSProp", Adam: "Adam"};
  const SYMBOLS = {beta: "β", beta_1: "β₁", beta_2: "β₂", bias_correction: "bias correction"};
  const COLOURS = {a: "#c62828", b: "#1565c0"};

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attributes || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // A plot: a data domain mapped onto a pixel range, both written on the
  // group (data-domain, data-range, data-yscale) so that a reader (or a
  // test) can map the drawing back to numbers.
  function plot(svg, domain, range, yscale) {
    svg.replaceChildren();
    const [x0, x1, y0, y1] = domain;
    const [left, right, top, bottom] = range;
    const g = el("g", {class: "plot", "data-domain": domain.join(","), "data-range": range.join(","),
      "data-yscale": yscale}, svg);
    const ty = yscale === "log" ? Math.log10 : (v) => v;
    const px = (x) => left + (x - x0) / (x1 - x0) * (right - left);
    const py = (y) => bottom - (ty(y) - ty(y0)) / (ty(y1) - ty(y0)) * (bottom - top);
    el("rect", {x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#888"}, g);
    return {g, px, py, inside: (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1};
  }

  function line(p, points, attributes) {
    const shown = [];
    for (const [x, y] of points) {
      if (!p.inside(x, y)) break;  // a path that leaves the plot is drawn up to there
      shown.push(`${p.px(x).toFixed(2)},${p.py(y).toFixed(2)}`);
    }
    el("polyline", {points: shown.join(" "), fill: "none", "stroke-width": 1.6, ...attributes}, p.g);
    return shown.length;
  }

  function label(p, x, y, text, anchor) {
    const t = el("text", {x, y, "font-size": 11, "text-anchor": anchor || "middle", fill: "currentColor"}, p.g);
    t.textContent = text;
  }

  function options(select, values, shown, chosen) {
    select.replaceChildren();
    for (const v of values) {
      const option = document.createElement("option");
      option.value = String(v);
      option.textContent = shown ? shown(v) : String(v);
      if (String(v) === String(chosen)) option.selected = true;
      select.appendChild(option);
    }
  }

  // ---- Averages ----
  function averages(data) {
    const beta = document.getElementById("ewma-beta");
    const corrected = document.getElementById("ewma-correction");
    options(beta, data.betas, null, 0.9);
    const svg = document.getElementById("ewma-plot");
    const series = data.series;
    const all = series.concat(...Object.values(data.corrected), ...Object.values(data.uncorrected));
    const low = Math.floor(Math.min(...all) / 5) * 5, high = Math.ceil(Math.max(...all) / 5) * 5;
    function draw() {
      const b = beta.value, on = corrected.checked;
      const p = plot(svg, [1, series.length, low, high], [40, 630, 10, 270], "linear");
      const days = series.map((v, i) => [i + 1, v]);
      for (const [x, y] of days) el("circle", {cx: p.px(x), cy: p.py(y), r: 1.3, fill: "#9e9e9e"}, p.g);
      el("polyline", {points: days.map(([x, y]) => `${p.px(x)},${p.py(y)}`).join(" "), fill: "none",
        stroke: "none", "data-key": "series"}, p.g);
      if (on) line(p, data.uncorrected[b].map((v, i) => [i + 1, v]),
        {stroke: COLOURS.b, "stroke-dasharray": "4 3", "data-key": `uncorrected|${b}`});
      line(p, data[on ? "corrected" : "uncorrected"][b].map((v, i) => [i + 1, v]),
        {stroke: COLOURS.a, "data-key": `${on ? "corrected" : "uncorrected"}|${b}`});
      label(p, 335, 295, "day t");
      label(p, 34, 14, String(high), "end");
      label(p, 34, 270, String(low), "end");
      const periods = 1 / (1 - Number(b));
      const first = data.corrected[b][0], raw = data.uncorrected[b][0];
      document.getElementById("ewma-reading").textContent =
        `β = ${b}: V_t averages over roughly the last 1/(1 − β) ≈ ${periods.toFixed(0)} days. ` +
        `Day 1: θ₁ = ${series[0]}; uncorrected V₁ = (1 − β)·θ₁ = ${raw}` +
        (on ? `; corrected V₁ / (1 − β) = ${first}, the data's level from the first day.` : ", far below the data.");
    }
    beta.addEventListener("change", draw);
    corrected.addEventListener("change", draw);
    draw();
  }

  // ---- Paths ----
  function pathKey(data, group) {
    const name = group.optimizer.value;
    const parts = [name, group.alpha.value];
    for (const k of Object.keys(data.settings[name])) {
      parts.push(`${k}=${k === "bias_correction" ? (group.settings[k].checked ? 1 : 0) : group.settings[k].value}`);
    }
    return parts.join("|");
  }

  function controls(data, prefix, defaults) {
    const group = {optimizer: document.getElementById(`${prefix}-optimizer`),
      alpha: document.getElementById(`${prefix}-alpha`), settings: {}};
    const names = Object.keys(data.settings);
    options(group.optimizer, prefix === "b" ? ["none"].concat(names) : names,
      (v) => v === "none" ? "none" : NAMES[v], defaults.optimizer);
    options(group.alpha, data.alphas, null, defaults.alpha);
    for (const k of Object.keys(SYMBOLS)) {
      const control = document.getElementById(`${prefix}-${k}`);
      group.settings[k] = control;
      if (k === "bias_correction") continue;
      const values = new Set();
      for (const s of Object.values(data.settings)) for (const v of s[k] || []) values.add(v);
      options(control, [...values], null, defaults[k]);
    }
    return group;
  }

  function showSettings(data, group) {
    const name = group.optimizer.value;
    const active = name === "none" ? {} : data.settings[name];
    group.alpha.closest(".explorer-field").hidden = name === "none";
    for (const [k, control] of Object.entries(group.settings)) {
      control.closest(".explorer-field").hidden = !(k in active);
      if (k in active && k !== "bias_correction") {
        // Only the values this optimizer's grid has.
        for (const option of control.options) option.hidden = option.disabled = !active[k].map(String).includes(option.value);
        if (control.selectedOptions[0].disabled) control.value = String(active[k][active[k].length - 1]);
      }
    }
  }

  function describe(group, key, path, shown) {
    const name = group.optimizer.value;
    const parts = [`${NAMES[name]}, α = ${group.alpha.value}`];
    for (const piece of key.split("|").slice(2)) {
      const [k, v] = piece.split("=");
      parts.push(k === "bias_correction" ? (v === "1" ? "bias-corrected" : "uncorrected") : `${SYMBOLS[k]} = ${v}`);
    }
    const xy = path.xy, last = xy[xy.length - 1];
    let travel = 0;
    for (let i = 1; i < xy.length; i++) travel += Math.abs(xy[i][1] - xy[i - 1][1]);
    const left = shown < xy.length ? ` It leaves the plot at step ${shown}` +
      (xy.length - 1 < window.EXPLORER_DATA.steps ? " and runs away." : ".") : "";
    return `${parts.join(", ")}: after ${xy.length - 1} steps at (${last[0]}, ${last[1]}), loss ` +
      `${path.loss[path.loss.length - 1]}; vertical travel Σ|Δy| = ${travel.toFixed(2)}.${left}`;
  }

  function paths(data) {
    const surface = document.getElementById("paths-surface");
    options(surface, Object.keys(data.surfaces), null, "valley");
    const groups = {
      a: controls(data, "a", {optimizer: "GradientDescent", alpha: 0.5, beta: 0.9, beta_1: 0.9, beta_2: 0.999}),
      b: controls(data, "b", {optimizer: "Momentum", alpha: 0.5, beta: 0.9, beta_1: 0.9, beta_2: 0.999}),
    };
    const left = document.getElementById("paths-plot"), right = document.getElementById("loss-plot");
    function draw() {
      const s = data.surfaces[surface.value];
      const [x0, x1, y0, y1] = s.box;
      const p = plot(left, s.box, [40, 470, 10, 290], "linear");
      // The loss on a grid, in ten shades (log of the loss on Beale's, which spans five decades).
      const n = s.grid.length, values = s.grid.flat();
      const shade = surface.value === "beale" ? (v) => Math.log10(v + 1e-3) : (v) => v;
      const lo = Math.min(...values.map(shade)), hi = Math.max(...values.map(shade));
      const w = (470 - 40) / n, h = (290 - 10) / n;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const level = Math.min(9, Math.floor((shade(s.grid[i][j]) - lo) / (hi - lo) * 10));
        el("rect", {x: 40 + j * w, y: 290 - (i + 1) * h, width: w + 0.5, height: h + 0.5,
          fill: `hsl(230, 25%, ${97 - level * 5}%)`}, p.g);
      }
      el("circle", {cx: p.px(s.start[0]), cy: p.py(s.start[1]), r: 4, fill: "#000"}, p.g);
      if (s.minimum) el("text", {x: p.px(s.minimum[0]), y: p.py(s.minimum[1]) + 5, "text-anchor": "middle",
        "font-size": 16}, p.g).textContent = "★";
      label(p, 255, 305, `x (${x0} … ${x1}), y (${y0} … ${y1})`);
      const drawn = [];
      for (const [prefix, group] of Object.entries(groups)) {
        showSettings(data, group);
        if (group.optimizer.value === "none") continue;
        const key = pathKey(data, group);
        drawn.push([prefix, group, key, data.paths[surface.value][key]]);
      }
      let lossLow = Infinity, lossHigh = -Infinity;
      for (const [, , , path] of drawn) for (const v of path.loss) { lossLow = Math.min(lossLow, v); lossHigh = Math.max(lossHigh, v); }
      const log = lossLow > 0;
      if (!log && lossLow === lossHigh) { lossLow -= 1; lossHigh += 1; }
      if (log && lossLow === lossHigh) { lossLow /= 2; lossHigh *= 2; }
      const q = plot(right, [0, data.steps, lossLow, lossHigh], [50, 330, 10, 290], log ? "log" : "linear");
      label(q, 190, 305, "step");
      label(q, 46, 14, lossHigh.toPrecision(3), "end");
      label(q, 46, 290, lossLow.toPrecision(3), "end");
      const readings = [];
      for (const [prefix, group, key, path] of drawn) {
        const shown = line(p, path.xy, {stroke: COLOURS[prefix], "data-key": `${surface.value}|${key}`,
          "data-role": "path", "data-group": prefix});
        line(q, path.loss.map((v, i) => [i, v]), {stroke: COLOURS[prefix], "data-key": `${surface.value}|${key}`,
          "data-role": "loss", "data-group": prefix});
        readings.push(describe(group, key, path, shown));
      }
      document.getElementById("paths-reading").textContent = readings.join(" ");
    }
    for (const control of document.querySelectorAll("#explorer-paths select, #explorer-paths input")) {
      control.addEventListener("change", draw);
    }
    draw();
    const settings = Object.entries(data.settings).map(([name, s]) =>
      `${NAMES[name]}: ${Object.entries(s).map(([k, v]) => k === "bias_correction" ? "bias correction off or on"
        : `${SYMBOLS[k]} ∈ {${v.join(", ")}}`).join(", ") || "α only"}`);
    document.getElementById("paths-grid").textContent =
      `Offered: α ∈ {${data.alphas.join(", ")}} on every optimizer; ${settings.join("; ")}; ` +
      `${data.steps} steps from the gallery's start on each surface.`;
  }

  function start() {
    const data = window.EXPLORER_DATA;
    if (!data || !document.getElementById("explorer-paths")) return;
    averages(data.averages);
    paths(data);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
