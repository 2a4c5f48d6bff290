// The Explorer page (docs/explorer.md): selects and draws what
// docs/explorer_data.py and docs/explorer_training.py computed with the real
// optimizers, schedules and callbacks. Each panel loads its own data file
// (data-src), window.EXPLORER_DATA[panel], and is marked data-ready="1" when
// drawn. Nothing here computes a step, a cost or an average: it picks the
// series the controls name and maps it onto the plot.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const NAMES = {GradientDescent: "gradient descent", Momentum: "momentum", RMSProp: "RMSProp", Adam: "Adam"};
  const SYMBOLS = {beta: "β", beta_1: "β₁", beta_2: "β₂", bias_correction: "bias correction"};
  const SCHEDULES = {
    InverseTimeEpochDecay: "inverse time: α₀ / (1 + decay_rate·e)",
    ExponentialEpochDecay: "exponential: α₀·rateᵉ",
    InverseSqrtEpochDecay: "inverse square root: α₀·k / √(e + 1)",
  };
  const COLOURS = {a: "#c62828", b: "#1565c0", grey: "#9e9e9e"};
  const $ = (id) => document.getElementById(id);
  let clips = 0;

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attributes || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // A plot: a data domain mapped onto a pixel range, both written on the
  // group (data-domain, data-range, data-yscale) so that a reader (or a
  // test) can map the drawing back to numbers. Its axes are labelled with
  // their quantities and their ends. `p.layer()` empties and returns the
  // group that a redraw fills; what `plot` draws (frame, axes, shading)
  // stays. With `clip`, what is drawn is clipped to the frame (a path may
  // leave the plot and come back).
  function plot(svg, domain, range, yscale, axes, clip, xscale = "linear") {
    svg.replaceChildren();
    const [x0, x1, y0, y1] = domain;
    const [left, right, top, bottom] = range;
    const g = el("g", {class: "plot", "data-domain": domain.join(","), "data-range": range.join(","),
      "data-yscale": yscale, "data-xscale": xscale}, svg);
    const ty = yscale === "log" ? Math.log10 : (v) => v;
    const tx = xscale === "log" ? Math.log10 : (v) => v;
    const px = (x) => left + (tx(x) - tx(x0)) / (tx(x1) - tx(x0)) * (right - left);
    const py = (y) => bottom - (ty(y) - ty(y0)) / (ty(y1) - ty(y0)) * (bottom - top);
    const background = el("g", {}, g);
    let dynamic = el("g", {}, g);
    const foreground = el("g", {}, g);  // marks that a path must not hide
    if (clip) {
      const id = `explorer-clip-${++clips}`;
      el("rect", {x: left, y: top, width: right - left, height: bottom - top}, el("clipPath", {id}, svg));
      dynamic.setAttribute("clip-path", `url(#${id})`);
    }
    el("rect", {x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#888"}, g);
    const text = (x, y, content, attributes) => {
      const t = el("text", {x, y, "font-size": 13, fill: "currentColor", "text-anchor": "middle", ...attributes}, g);
      t.textContent = content;
      return t;
    };
    const format = (v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0)) ? v.toExponential(1) : String(+v.toPrecision(3));
    text(left, bottom + 16, format(x0), {class: "tick", "text-anchor": "start"});
    text(right, bottom + 16, format(x1), {class: "tick", "text-anchor": "end"});
    text((left + right) / 2, bottom + 34, axes[0], {class: "axis-label", "data-axis": "x"});
    text(left - 6, bottom, format(y0), {class: "tick", "text-anchor": "end"});
    text(left - 6, top + 10, format(y1), {class: "tick", "text-anchor": "end"});
    text(0, 0, axes[1], {class: "axis-label", "data-axis": "y",
      transform: `translate(${left - 40},${(top + bottom) / 2}) rotate(-90)`});
    return {
      g, px, py, background, foreground,
      inside: (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1,
      layer() {
        const fresh = el("g", clip ? {"clip-path": dynamic.getAttribute("clip-path")} : {});
        g.replaceChild(fresh, dynamic);  // in its place: under the foreground
        dynamic = fresh;
        return fresh;
      },
    };
  }

  // The points as a polyline. Without a clip, a path that leaves the plot
  // is drawn up to there; with one, every point is drawn and the frame
  // clips it. Returns how many points were drawn.
  function line(p, parent, points, attributes, clipped) {
    const shown = [];
    for (const [x, y] of points) {
      if (!clipped && !p.inside(x, y)) break;
      shown.push(`${p.px(x).toFixed(2)},${p.py(y).toFixed(2)}`);
    }
    el("polyline", {points: shown.join(" "), fill: "none", "stroke-width": 1.6, ...attributes}, parent);
    return shown.length;
  }

  // Shading of a loss sampled on a grid (row i: y, column j: x) over the
  // plot's box, in ten levels of `shade(value)`.
  function shading(p, grid, box, range, shade) {
    const n = grid.length, values = grid.flat().map(shade);
    const lo = Math.min(...values), hi = Math.max(...values);
    const [left, right, top, bottom] = range;
    const w = (right - left) / n, h = (bottom - top) / n;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const level = Math.min(9, Math.floor((shade(grid[i][j]) - lo) / (hi - lo) * 10));
      el("rect", {x: left + j * w, y: bottom - (i + 1) * h, width: w + 0.5, height: h + 0.5,
        fill: `hsl(230, 25%, ${97 - level * 5}%)`}, p.background);
    }
  }

  function marks(p, start, minimum) {
    if (start) el("circle", {cx: p.px(start[0]), cy: p.py(start[1]), r: 4, fill: "#000"}, p.foreground);
    if (minimum) el("text", {x: p.px(minimum[0]), y: p.py(minimum[1]) + 5, "text-anchor": "middle",
      "font-size": 16, stroke: "#fff", "stroke-width": 0.6}, p.foreground).textContent = "★";
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

  // A slider over a grid of values (its positions are the indices): shows
  // the value beside it and in aria-valuetext, and calls `changed` while it
  // is dragged. `set(values, chosen)` gives it another grid, keeping the
  // value where the new grid has it (else `chosen`, else its last value).
  function slider(id, values, chosen, changed) {
    const input = $(id), output = $(`${id}-value`);
    const s = {input, values: []};
    const show = () => {
      output.textContent = String(s.value);
      input.setAttribute("aria-valuetext", String(s.value));
    };
    Object.defineProperty(s, "value", {get: () => s.values[Number(input.value)]});
    s.set = (grid, wanted) => {
      const current = s.values.length ? String(s.value) : null;
      s.values = grid;
      input.min = 0;
      input.max = grid.length - 1;
      input.step = 1;
      let index = grid.map(String).indexOf(current);
      if (index < 0) index = grid.map(String).indexOf(String(wanted));
      if (index < 0) index = grid.length - 1;
      input.value = index;
      input.disabled = grid.length < 2;
      show();
    };
    input.addEventListener("input", () => { show(); changed(); });
    s.set(values, chosen);
    return s;
  }

  // A step slider and a play/pause button: `draw(k)` draws the first k
  // steps. `length(n)` sets the number of steps (a slider at its end stays
  // at the end). Playing from the end starts again at step 0.
  function playback(prefix, panel, draw) {
    const input = $(`${prefix}-step`), output = $(`${prefix}-step-value`), button = $(`${prefix}-play`);
    let timer = null;
    const step = () => Number(input.value);
    const show = () => { output.textContent = `${step()} of ${input.max}`; };
    const stop = () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
      button.textContent = "play";
      button.setAttribute("aria-pressed", "false");
    };
    const tick = () => {
      if (step() >= Number(input.max)) { stop(); return; }
      input.value = step() + 1;
      show();
      draw(step());
    };
    const toggle = () => {
      if (timer !== null) { stop(); return; }
      if (step() >= Number(input.max)) { input.value = 0; show(); draw(0); }
      timer = setInterval(tick, Math.max(15, 6000 / Number(input.max)));
      button.textContent = "pause";
      button.setAttribute("aria-pressed", "true");
    };
    input.min = 0;
    input.step = 1;
    input.addEventListener("input", () => { show(); draw(step()); });
    button.addEventListener("click", toggle);
    // Space plays or pauses anywhere in the panel but on a control that
    // Space works itself (a button, a check box, a drop-down list).
    panel.addEventListener("keydown", (event) => {
      if (event.key !== " " || event.target.closest("button, select, input[type=checkbox]")) return;
      event.preventDefault();
      toggle();
    });
    stop();
    return {
      get step() { return step(); },
      length(n) {
        const atEnd = input.max === "" || step() >= Number(input.max);
        input.max = n;
        if (atEnd || step() > n) input.value = n;
        show();
      },
      stop,
    };
  }

  // ---- Mini-batches ----
  function minibatch(data, panel) {
    const optimizer = $("mb-optimizer");
    options(optimizer, data.optimizers, (v) => NAMES[v], "GradientDescent");
    const redraw = () => draw(steps.step);
    const batch = slider("mb-batch", data.batch_sizes, 1, () => { update(); });
    const alpha = slider("mb-alpha", data.alphas, 0.05, () => { update(); });
    const s = data.surface;
    const range = [56, 550, 10, 370];
    const p = plot($("mb-path"), s.box, range, "linear", ["weight w", "bias b"], true);
    shading(p, s.grid, s.box, range, (v) => Math.log10(v - s.floor + 1e-3));
    marks(p, s.start, s.minimum);
    let low = Infinity, high = -Infinity;
    for (const run of Object.values(data.runs)) for (const v of run.cost) if (v > 0) { low = Math.min(low, v); high = Math.max(high, v); }
    low = Math.max(low, s.floor / 10);
    const q = plot($("mb-cost"), [1, data.iterations, low, high], [64, 450, 10, 370], "log",
      ["iteration t", "cost J{t} of mini-batch t"], true);
    const steps = playback("mb", panel, (k) => draw(k));
    const key = () => `${optimizer.value}|${alpha.value}|${batch.value}`;
    function update() {
      steps.length(data.runs[key()].wb.length - 1);
      redraw();
    }
    function draw(k) {
      const run = data.runs[key()], layer = p.layer(), costs = q.layer();
      const shown = run.wb.slice(0, k + 1), end = shown[shown.length - 1];
      line(p, layer, [s.start, end], {stroke: "#555", "stroke-dasharray": "5 4", "stroke-width": 1, "data-role": "straight"}, true);
      line(p, layer, shown, {stroke: COLOURS.a, "data-key": key(), "data-role": "path"}, true);
      el("circle", {cx: p.px(end[0]), cy: p.py(end[1]), r: 3.5, fill: COLOURS.a, "data-role": "now"}, layer);
      line(q, costs, run.cost.slice(0, k).map((v, i) => [i + 1, v]),
        {stroke: COLOURS.grey, "stroke-width": 1, "data-key": key(), "data-role": "cost"}, true);
      line(q, costs, run.ewma.slice(0, k).map((v, i) => [i + 1, v]),
        {stroke: COLOURS.a, "data-key": key(), "data-role": "ewma"}, true);
      const perEpoch = Math.ceil(data.m / batch.value);
      const kind = batch.value === 1 ? "stochastic gradient descent" : batch.value === data.m ? "batch gradient descent" : "mini-batch gradient descent";
      const away = run.wb.length - 1 < data.iterations;
      $("mb-reading").textContent =
        `B = ${batch.value} (${kind}): ${perEpoch} iteration${perEpoch > 1 ? "s" : ""} per epoch, so ` +
        `${data.iterations} iterations are ${data.iterations / perEpoch} epoch${perEpoch < data.iterations ? "s" : ""}. ` +
        (away ? `At α = ${alpha.value} it runs away after ${run.wb.length - 1} iterations. `
          : `After ${data.iterations} iterations: whole-data cost J = ${run.final_cost} (its least: ${s.floor}); ` +
            `the path is ${run.wander} times as long as the straight line from start to end. `) +
        (run.jitter === null ? "" : `The mini-batch cost moves by ${run.jitter} from one iteration to the next (standard deviation).`);
    }
    optimizer.addEventListener("change", update);
    update();
    $("mb-grid").textContent = `Offered: ${data.optimizers.map((n) => NAMES[n]).join(", ")}; ` +
      `B ∈ {${data.batch_sizes.join(", ")}} (m = ${data.m}); α ∈ {${data.alphas.join(", ")}}; ` +
      `${data.iterations} iterations each; the average's β = ${data.ewma_beta}.`;
  }

  // ---- Averages ----
  function averages(data) {
    const corrected = $("ewma-correction");
    const beta = slider("ewma-beta", data.betas, 0.9, () => draw());
    const series = data.series;
    const all = series.concat(...Object.values(data.corrected), ...Object.values(data.uncorrected));
    const low = Math.floor(Math.min(...all) / 5) * 5, high = Math.ceil(Math.max(...all) / 5) * 5;
    const p = plot($("ewma-plot"), [1, series.length, low, high], [60, 890, 10, 290], "linear",
      ["day t", "temperature θ_t and average V_t"]);
    const days = series.map((v, i) => [i + 1, v]);
    for (const [x, y] of days) el("circle", {cx: p.px(x), cy: p.py(y), r: 1.5, fill: COLOURS.grey}, p.background);
    el("polyline", {points: days.map(([x, y]) => `${p.px(x)},${p.py(y)}`).join(" "), fill: "none",
      stroke: "none", "data-key": "series"}, p.background);
    function draw() {
      const b = String(beta.value), on = corrected.checked, layer = p.layer();
      if (on) line(p, layer, data.uncorrected[b].map((v, i) => [i + 1, v]),
        {stroke: COLOURS.b, "stroke-dasharray": "4 3", "data-key": `uncorrected|${b}`});
      line(p, layer, data[on ? "corrected" : "uncorrected"][b].map((v, i) => [i + 1, v]),
        {stroke: COLOURS.a, "data-key": `${on ? "corrected" : "uncorrected"}|${b}`});
      const periods = 1 / (1 - Number(b));
      const first = data.corrected[b][0], raw = data.uncorrected[b][0];
      $("ewma-reading").textContent =
        `β = ${b}: V_t averages over roughly the last 1/(1 − β) ≈ ${periods.toFixed(0)} days. ` +
        `Day 1: θ₁ = ${series[0]}; uncorrected V₁ = (1 − β)·θ₁ = ${raw}` +
        (on ? `; corrected V₁ / (1 − β) = ${first}, the data's level from the first day.` : ", far below the data.");
    }
    corrected.addEventListener("change", draw);
    draw();
    $("ewma-grid").textContent = `Offered: β ∈ {${data.betas.join(", ")}}, with and without bias correction; ` +
      `${series.length} days.`;
  }

  // ---- The learning-rate range test ----
  function rangeTest(data) {
    const corrected = $("rt-correction");
    const beta = slider("rt-beta", data.betas, data.beta, () => draw());
    const alpha = data.alpha, loss = data.loss;
    // Up to 1.5 times the highest cost of the test's first half: the fall is
    // drawn whole, the explosion leaves through the top (clipped).
    const high = 1.5 * Math.max(...loss.slice(0, Math.ceil(loss.length / 2)));
    const range = [60, 890, 10, 290];
    const p = plot($("rt-plot"), [data.low, data.high, 0, high], range, "linear",
      ["learning rate α (log scale)", "mini-batch cost and its average"], true, "log");
    function draw() {
      const b = String(beta.value), on = corrected.checked, layer = p.layer();  // clipped to the frame
      const kind = on ? "corrected" : "uncorrected";
      line(p, layer, alpha.map((a, i) => [a, loss[i]]), {stroke: COLOURS.grey, "stroke-width": 1, "data-key": "loss"}, true);
      if (on) line(p, layer, data.uncorrected[b].map((v, i) => [alpha[i], v]),
        {stroke: COLOURS.b, "stroke-dasharray": "4 3", "data-key": `uncorrected|${b}`}, true);
      line(p, layer, data[kind][b].map((v, i) => [alpha[i], v]), {stroke: COLOURS.a, "data-key": `${kind}|${b}`}, true);
      const suggested = data.suggestion[b];
      if (on && suggested !== null) {
        el("line", {x1: p.px(suggested), x2: p.px(suggested), y1: range[2], y2: range[3], stroke: COLOURS.b,
          "stroke-width": 1.4, "data-key": `suggestion|${b}`, "data-value": suggested}, layer);
      }
      const first = data.uncorrected[b][0], steps = Math.round(1 / (1 - Number(b)));
      $("rt-reading").textContent =
        `β = ${b}: the average of roughly the last ${steps} mini-batch costs. ` +
        (on ? (suggested === null ? "The package's rule finds no suggestion in this average. "
          : `The package's suggestion, where this average falls fastest: α = ${suggested} (blue line). `)
          : `Without bias correction it starts at (1 − β)·J₁ = ${first}, near zero, and climbs for about ` +
            `${steps} steps before it follows the costs: read uncorrected, the test's first steps look like a ` +
            "cost that rises. ") +
        `The test ran at β = ${data.beta} and stopped (${data.stopped}) after ${loss.length} of ${data.steps} steps, ` +
        `at α = ${alpha[alpha.length - 1]}.`;
    }
    corrected.addEventListener("change", draw);
    draw();
    $("rt-grid").textContent = `Offered: β ∈ {${data.betas.join(", ")}}, with and without bias correction; ` +
      `gradient descent, B = ${data.batch_size}, α from ${data.low} to ${data.high} over ${data.steps} steps.`;
  }

  // ---- Paths ----
  function pathKey(data, group) {
    const name = group.optimizer.value;
    const parts = [name, String(group.alpha.value)];
    for (const k of Object.keys(data.settings[name])) {
      parts.push(`${k}=${k === "bias_correction" ? (group.settings[k].checked ? 1 : 0) : group.settings[k].value}`);
    }
    return parts.join("|");
  }

  function controls(data, prefix, defaults, changed) {
    const group = {optimizer: $(`${prefix}-optimizer`), alpha: slider(`${prefix}-alpha`, data.alphas, defaults.alpha, changed),
      settings: {}};
    const names = Object.keys(data.settings);
    options(group.optimizer, prefix === "b" ? ["none"].concat(names) : names,
      (v) => v === "none" ? "none" : NAMES[v], defaults.optimizer);
    for (const k of Object.keys(SYMBOLS)) {
      if (k === "bias_correction") { group.settings[k] = $(`${prefix}-${k}`); continue; }
      group.settings[k] = slider(`${prefix}-${k}`, [defaults[k]], defaults[k], changed);
      group.settings[k].wanted = defaults[k];
    }
    return group;
  }

  // Shows the fields of the chosen optimizer, each slider over the values
  // that optimizer's grid has.
  function showSettings(data, group) {
    const name = group.optimizer.value;
    const active = name === "none" ? {} : data.settings[name];
    group.alpha.input.closest(".explorer-field").hidden = name === "none";
    for (const [k, control] of Object.entries(group.settings)) {
      const input = control.input || control;
      input.closest(".explorer-field").hidden = !(k in active);
      if (k in active && k !== "bias_correction") control.set(active[k], control.wanted);
    }
  }

  function describe(group, key, path, shown, k) {
    const parts = [`${NAMES[group.optimizer.value]}, α = ${group.alpha.value}`];
    for (const piece of key.split("|").slice(2)) {
      const [name, v] = piece.split("=");
      parts.push(name === "bias_correction" ? (v === "1" ? "bias-corrected" : "uncorrected") : `${SYMBOLS[name]} = ${v}`);
    }
    const xy = path.xy.slice(0, k + 1), last = xy[xy.length - 1];
    let travel = 0;
    for (let i = 1; i < xy.length; i++) travel += Math.abs(xy[i][1] - xy[i - 1][1]);
    const left = shown < xy.length ? ` It leaves the plot at step ${shown}` +
      (path.xy.length - 1 < window.EXPLORER_DATA.paths.steps ? " and runs away." : ".") : "";
    return `${parts.join(", ")}: after ${xy.length - 1} steps at (${last[0]}, ${last[1]}), loss ` +
      `${path.loss[xy.length - 1]}; vertical travel Σ|Δy| = ${travel.toFixed(2)}.${left}`;
  }

  function paths(data, panel) {
    const surface = $("paths-surface");
    options(surface, Object.keys(data.surfaces), null, "valley");
    let steps = null;
    const changed = () => update();
    const groups = {
      a: controls(data, "a", {optimizer: "GradientDescent", alpha: 0.5, beta: 0.9, beta_1: 0.9, beta_2: 0.999}, changed),
      b: controls(data, "b", {optimizer: "Momentum", alpha: 0.5, beta: 0.9, beta_1: 0.9, beta_2: 0.999}, changed),
    };
    for (const group of Object.values(groups)) {
      for (const control of Object.values(group.settings)) {
        if (control.input) control.input.addEventListener("input", () => { control.wanted = control.value; });
      }
    }
    const range = [56, 550, 10, 350], lossRange = [64, 450, 10, 350];
    let p = null, shownSurface = null;
    function chosen() {
      const drawn = [];
      for (const [prefix, group] of Object.entries(groups)) {
        showSettings(data, group);
        if (group.optimizer.value === "none") continue;
        const key = pathKey(data, group);
        drawn.push([prefix, group, key, data.paths[surface.value][key]]);
      }
      return drawn;
    }
    function update() {
      steps.length(Math.max(...chosen().map(([, , , path]) => path.xy.length - 1)));
      draw(steps.step);
    }
    function draw(k) {
      const s = data.surfaces[surface.value];
      if (shownSurface !== surface.value) {
        p = plot($("paths-plot"), s.box, range, "linear", ["x", "y"]);
        shading(p, s.grid, s.box, range, surface.value === "beale" ? (v) => Math.log10(v + 1e-3) : (v) => v);
        marks(p, s.start, s.minimum);
        shownSurface = surface.value;
      }
      const layer = p.layer();
      const drawn = chosen();
      let lossLow = Infinity, lossHigh = -Infinity;
      for (const [, , , path] of drawn) for (const v of path.loss) { lossLow = Math.min(lossLow, v); lossHigh = Math.max(lossHigh, v); }
      const log = lossLow > 0;
      if (!log && lossLow === lossHigh) { lossLow -= 1; lossHigh += 1; }
      if (log && lossLow === lossHigh) { lossLow /= 2; lossHigh *= 2; }
      const q = plot($("loss-plot"), [0, data.steps, lossLow, lossHigh], lossRange, log ? "log" : "linear",
        ["step", `loss f(x, y) (${surface.value})`]);
      const losses = q.layer();
      const readings = [];
      for (const [prefix, group, key, path] of drawn) {
        const shown = line(p, layer, path.xy.slice(0, k + 1), {stroke: COLOURS[prefix], "data-key": `${surface.value}|${key}`,
          "data-role": "path", "data-group": prefix});
        line(q, losses, path.loss.slice(0, k + 1).map((v, i) => [i, v]), {stroke: COLOURS[prefix],
          "data-key": `${surface.value}|${key}`, "data-role": "loss", "data-group": prefix});
        readings.push(describe(group, key, path, shown, k));
      }
      $("paths-reading").textContent = readings.join(" ");
    }
    steps = playback("paths", panel, (k) => draw(k));
    for (const control of panel.querySelectorAll("select, input[type=checkbox]")) control.addEventListener("change", update);
    update();
    const settings = Object.entries(data.settings).map(([name, s]) =>
      `${NAMES[name]}: ${Object.entries(s).map(([k, v]) => k === "bias_correction" ? "bias correction off or on"
        : `${SYMBOLS[k]} ∈ {${v.join(", ")}}`).join(", ") || "α only"}`);
    $("paths-grid").textContent =
      `Offered: α ∈ {${data.alphas.join(", ")}} on every optimizer; ${settings.join("; ")}; ` +
      `${data.steps} steps from the gallery's start on each surface.`;
  }

  // ---- Decay ----
  function decay(data, panel) {
    const optimizer = $("decay-optimizer"), schedule = $("decay-schedule");
    options(optimizer, data.optimizers, (v) => NAMES[v], "GradientDescent");
    options(schedule, Object.keys(data.schedules), (v) => SCHEDULES[v], "InverseTimeEpochDecay");
    const alpha = slider("decay-alpha", data.alphas, 0.1, () => update());
    const value = slider("decay-value", [0], 0, () => update());
    const s = data.surface;
    const range = [56, 550, 10, 370];
    const p = plot($("decay-path"), s.box, range, "linear", ["weight w", "bias b"], true);
    shading(p, s.grid, s.box, range, (v) => Math.log10(v - s.floor + 1e-5));
    marks(p, null, s.minimum);
    // The α axis spans the chosen schedule's rates (of every setting), so
    // that it stays put while a slider moves.
    let q = null;
    function ratesPlot() {
      let low = Infinity, high = -Infinity;
      for (const [key, run] of Object.entries(data.runs)) {
        if (key.split("|")[2] !== schedule.value) continue;
        for (const v of run.alpha) { low = Math.min(low, v); high = Math.max(high, v); }
      }
      if (low === high) { low /= 2; high *= 2; }
      q = plot($("decay-alpha-plot"), [0, data.epochs - 1, low, high], [64, 450, 10, 370], "log",
        ["epoch e", "learning rate α of the epoch"]);
    }
    const tail = data.tail_epochs * data.iterations_per_epoch;
    const steps = playback("decay", panel, (k) => draw(k));
    steps.length(tail);
    const key = (v) => `${optimizer.value}|${alpha.value}|${schedule.value}|${v}`;
    function showSchedule() {
      const spec = data.schedules[schedule.value];
      $("decay-value-label").textContent = spec.argument;
      value.values = [];  // another argument: start at its second value (a moderate decay)
      value.set(spec.values, spec.values[Math.min(1, spec.values.length - 1)]);
      ratesPlot();
    }
    function update() { draw(steps.step); }
    function draw(k) {
      const spec = data.schedules[schedule.value], base = data.baseline;
      const stillKey = `${optimizer.value}|${alpha.value}|${base.schedule}|${base.value}`;
      const run = data.runs[key(value.value)], still = data.runs[stillKey];
      const layer = p.layer(), rates = q.layer();
      const decaying = run.alpha[run.alpha.length - 1] !== run.alpha[0];
      if (decaying) line(p, layer, still.wb, {stroke: COLOURS.grey, "stroke-width": 1.2, "data-key": stillKey,
        "data-role": "baseline"}, true);
      const shown = run.wb.slice(0, k + 1), end = shown[shown.length - 1];
      line(p, layer, shown, {stroke: COLOURS.a, "data-key": key(value.value), "data-role": "path"}, true);
      el("circle", {cx: p.px(end[0]), cy: p.py(end[1]), r: 3.5, fill: COLOURS.a, "data-role": "now"}, layer);
      if (decaying) line(q, rates, still.alpha.map((v, e) => [e, v]), {stroke: COLOURS.grey, "stroke-width": 1.2,
        "data-key": stillKey, "data-role": "baseline"}, true);
      line(q, rates, run.alpha.map((v, e) => [e, v]), {stroke: COLOURS.a, "data-key": key(value.value), "data-role": "alpha"}, true);
      const epoch = data.epochs - data.tail_epochs + Math.max(0, Math.ceil(k / data.iterations_per_epoch) - 1);
      el("line", {x1: q.px(epoch), x2: q.px(epoch), y1: 10, y2: 370, stroke: "#555", "stroke-dasharray": "3 3",
        "data-role": "now"}, rates);
      const name = `${spec.argument} = ${value.value}`;
      $("decay-reading").textContent =
        `${NAMES[optimizer.value]}, α₀ = ${alpha.value}, ${SCHEDULES[schedule.value].split(":")[0]} decay, ${name}: ` +
        `α falls from ${run.alpha[0]} to ${run.alpha[run.alpha.length - 1]} in epoch ${data.epochs - 1}. ` +
        `The last epoch's ${data.iterations_per_epoch} points: spread ${run.spread}, their centre ${run.off_minimum} ` +
        `from the minimum` + (decaying ? `; without decay: spread ${still.spread}, centre ${still.off_minimum} away.`
          : " (no decay).") + ` Whole-data cost at the end: ${run.final_cost} (its least: ${s.floor}).`;
    }
    optimizer.addEventListener("change", update);
    schedule.addEventListener("change", () => { showSchedule(); update(); });
    showSchedule();
    update();
    $("decay-grid").textContent = `Offered: ${data.optimizers.map((n) => NAMES[n]).join(", ")}; α₀ ∈ {${data.alphas.join(", ")}}; ` +
      Object.entries(data.schedules).map(([n, spec]) => `${SCHEDULES[n].split(":")[0]}: ${spec.argument} ∈ {${spec.values.join(", ")}}`).join("; ") +
      `; B = ${data.batch_size} of m = ${data.m} (${data.iterations_per_epoch} iterations per epoch), ${data.epochs} epochs, ` +
      `the last ${data.tail_epochs} drawn at every step.`;
  }

  const PANELS = {minibatch, averages, paths, decay, range_test: rangeTest};

  // Each panel loads its own data file, then draws; a panel whose data
  // cannot be loaded says so and the others carry on.
  function start() {
    for (const [name, init] of Object.entries(PANELS)) {
      const panel = $(`explorer-${name}`);
      if (!panel) continue;
      const script = document.createElement("script");
      script.src = panel.dataset.src;
      script.onload = () => {
        init(window.EXPLORER_DATA[name], panel);
        panel.dataset.ready = "1";
      };
      script.onerror = () => {
        const note = document.createElement("p");
        note.textContent = `This panel's data (${panel.dataset.src}) could not be loaded.`;
        panel.prepend(note);
      };
      document.head.appendChild(script);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
