// Draws an explanation: the answer, the top reasons up and down, each headline's Shapley
// value (its events beneath) and the graph of the most important events (Cytoscape.js).
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f", "#d62728", "#2ca02c"];
const TOP_REASONS = 3;

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

// An effect in the answer's unit: percentage points of a probability, or index points.
function formatEffect(effect, unit) {
  const sign = effect >= 0 ? "+" : "";
  return unit === "price" ? `${sign}${effect.toFixed(2)} pts` : `${sign}${(effect * 100).toFixed(2)} pp`;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawReasons(headlines, unit) {
  const up = headlines.filter((h) => h.effect > 0).sort((a, b) => b.effect - a.effect);
  const down = headlines.filter((h) => h.effect < 0).sort((a, b) => a.effect - b.effect);
  for (const [id, list] of [["reasons-up", up], ["reasons-down", down]]) {
    const ol = document.getElementById(id);
    if (!list.length) ol.appendChild(element("li", "", "none"));
    for (const h of list.slice(0, TOP_REASONS)) {
      const li = element("li");
      li.appendChild(element("span", "amount", formatEffect(h.effect, unit)));
      li.appendChild(document.createTextNode(
        h.note === undefined ? `${h.text} (${h.date}, #${h.rank ?? "?"})` : `${h.text} (${h.note})`));
      ol.appendChild(li);
    }
  }
}

// A bar for an effect, scaled to the largest |effect| of the list (half the track each way).
function barTrack(effect, maxAbs) {
  const track = element("div", "bar-track");
  const bar = element("div", "bar " + (effect >= 0 ? "up" : "down"));
  bar.style.width = `${(50 * Math.abs(effect)) / maxAbs}%`;
  track.appendChild(bar);
  return track;
}

function select(cy, headline, li) {
  document.querySelectorAll("#effects li.selected").forEach((el) => {
    if (el !== li) el.classList.remove("selected");
  });
  li.classList.toggle("selected");
  if (!cy) return;
  cy.elements().removeClass("faded highlighted");
  if (!li.classList.contains("selected")) return;
  const events = cy.collection(headline.events.map((id) => cy.getElementById(`event:${id}`)));
  if (!events.nonempty()) return;
  const entities = events.outgoers("node");
  // the entities' KG paths to the entities of other drawn events
  const paths = entities.connectedEdges("[kind = 'relation']");
  const keep = events.union(entities).union(events.connectedEdges()).union(paths)
    .union(paths.connectedNodes());
  cy.elements().difference(keep).addClass("faded");
  keep.addClass("highlighted");
}

function drawHeadlines(body, cy) {
  const list = document.getElementById("effects");
  const unit = body.effect_unit;
  const events = new Map(body.events.map((e) => [e.id, e]));
  const maxAbs = Math.max(1e-12, ...body.headlines.map((h) => Math.abs(h.effect)));
  for (const h of body.headlines) {
    const li = element("li", "headline");
    li.dataset.headlineId = h.id;
    const row = element("div", "row");
    const text = element("div");
    const first = events.get(h.events[0]);
    const dot = element("span", "group-dot");
    dot.style.background = groupColour(first ? first.group : null);
    text.appendChild(dot);
    text.appendChild(document.createTextNode(`#${h.rank ?? "?"} ${h.text}`));
    text.appendChild(element("div", "figure",
      `${formatEffect(h.effect, unit)} (Shapley) · occlusion ${formatEffect(h.occlusion, unit)}` +
      (h.attention == null ? "" : ` · attention ${(100 * h.attention).toFixed(0)}% of its day`) +
      ` · ${h.date}`));
    row.appendChild(text);
    row.appendChild(barTrack(h.effect, maxAbs));
    li.appendChild(row);
    const ul = element("ul", "events");
    for (const id of h.events) {
      const ev = events.get(id);
      if (!ev) continue;
      const names = ev.entities.map((x) => x.label || x.id).join(", ");
      ul.appendChild(element("li", "",
        `(${ev.subject}, ${ev.predicate}, ${ev.object ?? "–"}) ` +
        `${formatEffect(ev.effect, unit)} alone` +
        (ev.attention == null ? "" : ` · attention ${(100 * ev.attention).toFixed(1)}%`) +
        `${names ? " · " + names : ""}`));
    }
    li.appendChild(ul);
    li.addEventListener("click", () => select(cy, h, li));
    list.appendChild(li);
  }
}

function drawGraph(graph, layout) {
  const cy = cytoscape({
    container: document.getElementById("graph"),
    elements: graph.nodes.concat(graph.edges),
    style: [
      { selector: "node[kind = 'entity']", style: {
          "background-color": "#455a64", label: "data(label)", "font-size": 11,
          color: "#222", width: 18, height: 18 } },
      { selector: "node[kind = 'event']", style: {
          shape: "round-rectangle", "background-color": (n) => groupColour(n.data("group")),
          label: "data(label)", "font-size": 10, "text-wrap": "ellipsis", "text-max-width": 150,
          width: 22, height: 14 } },
      { selector: "edge", style: { width: 1, "line-color": "#bbb", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "target-arrow-color": "#bbb" } },
      { selector: "edge[kind = 'relation']", style: { width: 2, "line-color": "#607d8b",
          "target-arrow-color": "#607d8b" } },
      // relation names only on the paths of the selected headline: the summary stays legible
      { selector: "edge[kind = 'relation'].highlighted", style: { label: "data(label)",
          "font-size": 9, "text-background-color": "#fff", "text-background-opacity": 0.8 } },
      { selector: ".faded", style: { opacity: 0.15 } },
      { selector: "node.highlighted[kind = 'event']", style: { "border-width": 3,
          "border-color": "#222" } },
    ],
    // strong repulsion and room around labelled nodes: the UK, Great Britain and Scotland
    // no longer print over each other on the Brexit day
    maxZoom: 2.5,  // a graph of a few nodes is not blown up to fill the panel
    layout: layout || { name: "cose", animate: false, randomize: false, nodeRepulsion: 30000,
                        idealEdgeLength: 100, nodeOverlap: 20, padding: 20 },
  });
  cy.on("tap", "node[kind = 'event']", (evt) => {
    const id = Number(evt.target.id().split(":")[1]);
    const li = [...document.querySelectorAll("#effects li.headline")].find((el) =>
      window.kdtcnExplanation.headlines.find((h) => String(h.id) === el.dataset.headlineId &&
        h.events.includes(id)));
    if (li) { li.click(); li.scrollIntoView({ block: "nearest" }); }
  });
  cy.ready(() => setStatus("drawn", `graph: ${cy.nodes().length} nodes, ${cy.edges().length} edges`));
  window.kdtcnGraph = cy;
  return cy;
}

// A stock answered by a universe network: its own news and each related stock's news that
// it read, with their effects, and the chains of company facts between the stocks.
function drawUniverse(body) {
  document.getElementById("title").textContent =
    `${body.symbol} · ${body.target} · ${body.date} · universe ${body.universe}`;
  document.getElementById("summary").textContent =
    `P = ${body.p.toFixed(3)} that it rises the next trading day: call ${body.call}, from ` +
    `${body.model} ${body.version} (cut ${body.cut ?? "–"}; news ${body.news_timing}).`;
  document.getElementById("additivity").textContent =
    "Each effect is P(up) minus P(up) with that stock's items left out of the window.";
  const groups = [{ symbol: body.symbol, own: true, effect: body.own.effect, items: body.own.items }]
    .concat(body.related.map((r) => ({ ...r, own: false })));
  const label = (g) => (g.own ? `${g.symbol}'s own news` : g.symbol);
  drawReasons(groups.map((g) => ({ effect: g.effect, text: label(g), note: g.own
    ? `${g.items.length} item(s)` : `attention ${(100 * g.attention).toFixed(0)}%` })), "p");
  document.querySelector("#effects-panel h2").textContent = "Each stock's news and its effect";
  document.querySelector("#effects-panel .hint").textContent =
    "The stock's own items, then each related stock whose items the answer read (attention: " +
    "the network's mean weight on it over the window).";
  const list = document.getElementById("effects");
  const maxAbs = Math.max(1e-12, ...groups.map((g) => Math.abs(g.effect)));
  for (const g of groups) {
    const li = element("li", "headline");
    const row = element("div", "row");
    const text = element("div", "", label(g));
    const relation = g.own ? "" : Object.entries(g.relation).filter(([, v]) => v > 0)
      .map(([k, v]) => (k === "co_mentions" ? `${k} ${v.toFixed(2)}` : k)).join(", ");
    text.appendChild(element("div", "figure", `${formatEffect(g.effect, "p")}` +
      (g.own ? "" : ` · attention ${(100 * g.attention).toFixed(0)}%`) +
      (relation ? ` · ${relation}` : "")));
    row.appendChild(text);
    row.appendChild(barTrack(g.effect, maxAbs));
    li.appendChild(row);
    const ul = element("ul", "events");
    for (const item of g.items) {
      ul.appendChild(element("li", "", `${item.text} (${item.published_at ?? "–"})`));
    }
    li.appendChild(ul);
    li.addEventListener("click", () => li.classList.toggle("selected"));
    list.appendChild(li);
  }
  document.querySelector("#graph-panel h2").textContent = "How the stocks connect";
  // Stocks are the facts' `stock:SYMBOL` nodes, so the chains join them.
  const stock = (symbol) => [`stock:${symbol}`, { data: { id: `stock:${symbol}`, label: symbol,
                                                          kind: "event" } }];
  const nodes = new Map([stock(body.symbol)]);
  const edges = [];
  for (const r of body.related) {
    nodes.set(...stock(r.symbol));
    edges.push({ data: { id: `read:${r.symbol}`, source: `stock:${r.symbol}`,
                         target: `stock:${body.symbol}`, label: formatEffect(r.effect, "p"),
                         kind: "read" } });
    for (const [head, relation, tail] of r.path) {
      for (const name of [head, tail]) {
        if (!nodes.has(name)) nodes.set(name, { data: { id: name, label: name, kind: "entity" } });
      }
      edges.push({ data: { id: `${head}|${relation}|${tail}`, source: head, target: tail,
                           label: relation, kind: "relation" } });
    }
  }
  document.getElementById("graph-note").textContent =
    `${body.related.length} related stock(s) read; company facts between them`;
  const unique = [...new Map(edges.map((e) => [e.data.id, e])).values()];
  // The stock in the middle, its related stocks around it, the facts' other nodes outside.
  const ring = (n) => (n.id() === `stock:${body.symbol}` ? 3 : n.data("kind") === "event" ? 2 : 1);
  const cy = drawGraph({ nodes: [...nodes.values()], edges: unique },
                       { name: "concentric", concentric: ring, levelWidth: () => 1,
                         minNodeSpacing: 80, animate: false, padding: 30 });
  cy.edges("[kind = 'relation']").addClass("highlighted");  // a few facts: name them all
  return cy;
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
  window.kdtcnExplanation = body;
  if (body.universe) {
    drawUniverse(body);
    return;
  }
  const p = body.prediction;
  const unit = body.effect_unit;
  document.getElementById("title").textContent =
    `${body.symbol} · ${body.target} · ${p.target_date ?? body.date}`;
  const answer = p.price
    ? `Predicted close ${p.price.predicted_close.toFixed(2)} ` +
      `(80% interval ${p.price.low.toFixed(2)} to ${p.price.high.toFixed(2)}; ` +
      `previous close ${p.price.previous_close.toFixed(2)})`
    : `P = ${p.p.toFixed(3)} that ${p.outcome}`;
  document.getElementById("summary").textContent =
    `${answer}: call ${p.call}, from ${p.model.name} ${p.model.version}.`;
  if (body.attribution) {
    const a = body.attribution;
    document.getElementById("additivity").textContent =
      `The ${a.players} headlines' effects add up to ${formatEffect(body.total_effect, unit)}: ` +
      `the answer with every event minus the answer without any ` +
      `(${a.permutations ? a.permutations + " sampled permutations" : "exact"}; ` +
      `rank agreement with single-headline occlusion ${a.occlusion_rank_agreement?.toFixed(2) ?? "–"}).`;
  }
  if (body.graph_detail) {
    const g = body.graph_detail;
    document.getElementById("graph-note").textContent =
      `${g.events_drawn} of ${g.events_total} events, ${g.nodes} nodes` +
      (g.detail === "summary" ? ` (add detail=full to the address for every event)` : "");
  }
  drawReasons(body.headlines, unit);
  const cy = drawGraph(body.graph);
  drawHeadlines(body, cy);
}

main().catch((err) => {
  document.getElementById("summary").textContent = `Error: ${err}`;
  setStatus("error");
});
