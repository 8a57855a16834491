// Draws an explanation: effect bars and the event/entity graph (Cytoscape elements JSON).
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f", "#d62728", "#2ca02c"];

function groupColour(group) {
  return group === null || group === undefined ? "#bbb" : PALETTE[group % PALETTE.length];
}

function apiUrl() {
  const symbol = location.pathname.split("/")[3];
  return `/v1/explanations/${encodeURIComponent(symbol)}${location.search}`;
}

function setStatus(state, text) {
  const el = document.getElementById("status");
  el.dataset.state = state;
  el.textContent = text || "";
}

// An effect in the answer's unit: percentage points of a probability, or a price.
function formatEffect(effect, unit) {
  const sign = effect >= 0 ? "+" : "";
  return unit === "price" ? `${sign}${effect.toFixed(2)}` : `${sign}${(effect * 100).toFixed(3)} pp`;
}

function drawEffects(events, unit) {
  const list = document.getElementById("effects");
  const maxAbs = Math.max(1e-9, ...events.map((e) => Math.abs(e.effect)));
  const sorted = [...events].sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect));
  for (const ev of sorted) {
    const li = document.createElement("li");
    li.className = "event";
    li.dataset.eventId = ev.id;
    const text = document.createElement("div");
    const dot = document.createElement("span");
    dot.className = "group-dot";
    dot.style.background = groupColour(ev.group);
    text.appendChild(dot);
    text.appendChild(document.createTextNode(`#${ev.rank ?? "?"} ${ev.headline}`));
    const tuple = document.createElement("div");
    tuple.className = "tuple";
    tuple.textContent = `(${ev.subject}, ${ev.predicate}, ${ev.object ?? "–"}) ` +
      `${formatEffect(ev.effect, unit)} · ${ev.date}`;
    text.appendChild(tuple);
    const track = document.createElement("div");
    track.className = "bar-track";
    const bar = document.createElement("div");
    bar.className = "bar " + (ev.effect >= 0 ? "up" : "down");
    bar.style.width = `${(50 * Math.abs(ev.effect)) / maxAbs}%`;
    track.appendChild(bar);
    li.appendChild(text);
    li.appendChild(track);
    list.appendChild(li);
  }
}

function drawGraph(graph) {
  const cy = cytoscape({
    container: document.getElementById("graph"),
    elements: graph.nodes.concat(graph.edges),
    style: [
      { selector: "node[kind = 'entity']", style: {
          "background-color": "#455a64", label: "data(label)", "font-size": 10,
          color: "#222", width: 18, height: 18 } },
      { selector: "node[kind = 'event']", style: {
          shape: "round-rectangle", "background-color": (n) => groupColour(n.data("group")),
          label: "data(label)", "font-size": 8, "text-wrap": "ellipsis", "text-max-width": 120,
          width: (n) => 10 + 400 * Math.min(0.05, Math.abs(n.data("effect") || 0)),
          height: 12 } },
      { selector: "edge", style: { width: 1, "line-color": "#bbb", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "target-arrow-color": "#bbb" } },
      { selector: "edge[kind = 'relation']", style: { "line-color": "#607d8b",
          "target-arrow-color": "#607d8b", label: "data(label)", "font-size": 8 } },
    ],
    layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: 8000 },
  });
  cy.ready(() => setStatus("drawn", `graph: ${cy.nodes().length} nodes, ${cy.edges().length} edges`));
  window.kdtcnGraph = cy;
}

async function main() {
  const resp = await fetch(apiUrl());
  const body = await resp.json();
  if (!resp.ok) {
    document.getElementById("summary").textContent =
      `Error ${resp.status}: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body)}`;
    setStatus("error");
    return;
  }
  const p = body.prediction;
  document.getElementById("title").textContent =
    `${body.symbol} · ${body.target} · ${p.target_date ?? body.date}`;
  const answer = p.price
    ? `predicted close ${p.price.predicted_close.toFixed(2)} ` +
      `(80% interval ${p.price.low.toFixed(2)}..${p.price.high.toFixed(2)}; ` +
      `previous close ${p.price.previous_close.toFixed(2)})`
    : `P = ${p.p.toFixed(3)} that ${p.outcome}`;
  document.getElementById("summary").textContent =
    `${answer} (call: ${p.call}) from ${p.model.name} ${p.model.version}; ` +
    `${body.events.length} events in the window.`;
  drawEffects(body.events, body.effect_unit);
  drawGraph(body.graph);
}

main().catch((err) => {
  document.getElementById("summary").textContent = `Error: ${err}`;
  setStatus("error");
});
