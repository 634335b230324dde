/* Explore: product search, and a page per product: aspect × polarity chart, counts,
   representative quotes, mentions with provenance, neighbours and a small graph view. */
"use strict";

const POLARITIES = ["positive", "negative", "neutral", "conflict"];
const COLORS = { positive: "#2e8540", negative: "#c4352b", neutral: "#8a8f99", conflict: "#b7791f",
  product: "#6b4fbb", aspect: "#0f7b8a", center: "#1d2330" };

let searches = 0;

async function loadProducts(query) {
  const mine = ++searches;
  try {
    const products = await api(`/api/products?${new URLSearchParams({ q: query || "", limit: 50 })}`);
    if (mine !== searches) return products;  // a later keystroke's answer shows instead
    const list = document.getElementById("products");
    list.replaceChildren(...products.map((p) => el("div", {
      class: "product-hit", dataset: { id: p.id },
      onclick: () => openProduct(p.id),
    }, el("b", {}, p.name), " ", el("span", { class: "muted small" },
      `${p.mentions} mentions · ${p.opinions} opinions`))));
    if (!products.length) list.append(el("p", { class: "muted" }, "No product matches."));
    return products;
  } catch (e) {
    showError(e);
    return [];
  }
}

function openProduct(id) {
  const params = new URLSearchParams({ product: id });
  history.pushState({ product: id }, "", `/explore?${params}`);
  showProduct(id);
}

async function showProduct(id) {
  clearError();
  const box = document.getElementById("product");
  box.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    const p = await api(`/api/product?${new URLSearchParams({ id })}`);
    box.replaceChildren(productView(p));
  } catch (e) {
    box.replaceChildren();
    showError(e);
  }
}

function productView(p) {
  const subtitle = [p.brand, p.category, `id ${p.id}`].filter(Boolean).join(" · ");
  return el("div", { id: "product-page", dataset: { id: p.id } },
    el("div", { class: "card" },
      el("h1", { id: "product-name" }, p.name),
      el("div", { class: "muted small" }, subtitle),
      el("div", { class: "counts" },
        el("div", {}, el("b", { id: "count-mentions" }, p.mentions), "mentions"),
        el("div", {}, el("b", { id: "count-opinions" }, p.opinions), "opinions"),
        el("div", { title: "documents that name this product; its opinions may also come from documents about it that do not name it" },
          el("b", { id: "count-documents" }, p.documents), "documents naming it"))),
    el("div", { class: "card" }, el("h2", { class: "first" }, "Opinions per aspect"),
      chart(p.aspects), chartLegend()),
    el("div", { class: "explore-grid" },
      el("div", { class: "card" }, el("h2", { class: "first" }, "What reviewers like"),
        quotes(p.quotes.positive, "positive")),
      el("div", { class: "card" }, el("h2", { class: "first" }, "What reviewers dislike"),
        quotes(p.quotes.negative, "negative"))),
    el("div", { class: "card" }, el("h2", { class: "first" }, "Neighbours"),
      graphView(p), graphLegend(), neighbourList(p.neighbours)),
    el("div", { class: "card" },
      el("h2", { class: "first" }, `Mentions (${p.mention_rows.length} of ${p.mentions})`),
      mentions(p.mention_rows)));
}

/** Horizontal stacked bars, one per aspect, drawn as inline SVG. */
function chart(aspects) {
  if (!aspects.length) return el("p", { class: "muted" }, "No opinions on this product yet.");
  const rows = [...aspects].sort((a, b) => b.count - a.count || a.aspect.localeCompare(b.aspect));
  const max = Math.max(...rows.map((r) => r.count));
  const labelWidth = 120, barWidth = 460, rowHeight = 26, width = labelWidth + barWidth + 60;
  const chartSvg = svg("svg", { id: "aspect-chart", width, height: rows.length * rowHeight + 6,
    viewBox: `0 0 ${width} ${rows.length * rowHeight + 6}`, role: "img",
    "aria-label": "opinions per aspect and polarity" });
  rows.forEach((row, i) => {
    const y = i * rowHeight + 4;
    chartSvg.append(svg("text", { x: labelWidth - 8, y: y + 15, "text-anchor": "end",
      "font-size": 13, fill: "#1d2330" }, row.aspect));
    let x = labelWidth;
    for (const polarity of POLARITIES) {
      const n = row[polarity];
      if (!n) continue;
      const w = (n / max) * barWidth;
      chartSvg.append(svg("rect", { class: `bar bar-${polarity}`, x, y, width: w, height: 18,
        fill: COLORS[polarity], dataset: { aspect: row.aspect, polarity, count: n } },
        svg("title", {}, `${row.aspect}: ${n} ${polarity}`)));
      if (w > 18) {
        chartSvg.append(svg("text", { x: x + w / 2, y: y + 13, "text-anchor": "middle",
          "font-size": 11, fill: "#fff" }, n));
      }
      x += w;
    }
    chartSvg.append(svg("text", { x: x + 6, y: y + 14, "font-size": 11, fill: "#667085" },
      `${row.count}`));
  });
  return chartSvg;
}

function chartLegend() {
  return el("div", { class: "chart-legend" }, POLARITIES.map((p) =>
    el("span", {}, el("span", { class: `swatch sw-${p}` }), p)));
}

function quotes(list, polarity) {
  if (!list.length) return el("p", { class: "muted" }, `No ${polarity} opinion with a quote.`);
  return el("div", {}, list.map((q) => {
    const body = el("div", {});
    const hs = q.highlight_start, he = q.highlight_end;
    const whole = hs === q.char_start && he === q.char_end;  // the opinion is the sentence
    if (hs !== null && he !== null && hs >= q.char_start && he <= q.char_end && !whole) {
      const a = hs - q.char_start, b = he - q.char_start;
      body.append("“", q.text.slice(0, a), el("mark", { class: "hl" }, q.text.slice(a, b)),
        q.text.slice(b), "”");
    } else {
      body.append(`“${q.text}”`);
    }
    return el("div", { class: `quote ${polarity}` }, body,
      el("div", { class: "small muted" }, `${q.aspect} · `,
        el("a", { href: docHref(q.doc_id, hs ?? q.char_start, he ?? q.char_end),
          class: "quote-link" }, `document ${q.doc_id}`)));
  }));
}

function mentions(rows) {
  if (!rows.length) return el("p", { class: "muted" }, "No mention.");
  const fmt = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(2));
  return el("table", { id: "mentions" },
    el("thead", {}, el("tr", {}, ["document", "text", "span", "found by", "confidence",
      "linked by", "link confidence"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((m) => el("tr", {},
      el("td", {}, el("a", { href: docHref(m.doc_id, m.char_start, m.char_end) }, m.doc_id)),
      el("td", {}, m.text ?? ""),
      el("td", {}, m.char_start === null ? "–" : `${m.char_start}–${m.char_end}`),
      el("td", {}, [m.tool, m.backend].filter(Boolean).join(" / ")),
      el("td", {}, fmt(m.confidence)),
      el("td", {}, [m.link_tool, m.link_backend].filter(Boolean).join(" / ")),
      el("td", {}, fmt(m.link_confidence))))));
}

function neighbourList(neighbours) {
  const products = neighbours.filter((n) => n.kind === "product");
  if (!products.length) return el("p", { class: "muted small" }, "No other product is reviewed in the same documents.");
  return el("p", { class: "small" }, "Reviewed alongside: ", products.map((n, i) => [
    i ? ", " : "", el("a", { href: `/explore?${new URLSearchParams({ product: n.id })}`,
      onclick: (event) => { event.preventDefault(); openProduct(n.id); } }, n.name),
    ` (${n.weight} document${n.weight === 1 ? "" : "s"})`]));
}

/** A radial graph: the product in the middle, at most N neighbours on a circle, each label
    placed outward from its node; labels that would still touch are pushed further out. */
function graphView(p) {
  const nodes = p.neighbours;
  const width = 640, height = 360, cx = width / 2, cy = height / 2, radius = 120;
  const view = svg("svg", { id: "graph-view", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "the product and its nearest neighbours" });
  if (!nodes.length) {
    view.append(svg("text", { x: cx, y: cy, "text-anchor": "middle", fill: "#667085" },
      "no neighbours yet"));
    return view;
  }
  const maxWeight = Math.max(...nodes.map((n) => n.weight));
  const placed = [];
  const layer = svg("g", {});
  const labels = svg("g", {});
  nodes.forEach((n, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / nodes.length;
    const x = cx + radius * Math.cos(angle), y = cy + radius * Math.sin(angle);
    const color = n.kind === "product" ? COLORS.product : aspectColor(n.polarity);
    layer.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: "#c3cad6",
      "stroke-width": 1 + 3 * (n.weight / maxWeight) }));
    const shape = n.kind === "product"
      ? svg("rect", { x: x - 8, y: y - 8, width: 16, height: 16, rx: 3, fill: color })
      : svg("circle", { cx: x, cy: y, r: 6 + 5 * (n.weight / maxWeight), fill: color });
    shape.append(svg("title", {}, `${n.name}: ${n.weight} ${n.kind === "product" ? "shared documents" : "opinions"}`));
    layer.append(shape);
    const label = svg("text", { class: "node-label", "font-size": 12, fill: "#1d2330",
      dataset: { kind: n.kind, id: n.id } }, `${n.name} (${n.weight})`);
    labels.append(label);
    placed.push({ label, angle, x, y });
  });
  layer.append(svg("circle", { cx, cy, r: 14, fill: COLORS.center }));
  view.append(layer, labels);
  const center = svg("text", { class: "node-label", x: cx, y: cy + 32, "text-anchor": "middle",
    "font-size": 13, "font-weight": 700, fill: "#1d2330" }, p.name);
  view.append(center);
  // labels are measured once the SVG is in the page
  requestAnimationFrame(() => placeLabels(placed, center, cx, cy));
  return view;
}

function placeLabels(placed, center, cx, cy) {
  const boxes = [boxOf(center)];
  for (const item of placed) {
    const cos = Math.cos(item.angle), sin = Math.sin(item.angle);
    const anchor = Math.abs(cos) < 0.3 ? "middle" : cos > 0 ? "start" : "end";
    item.label.setAttribute("text-anchor", anchor);
    for (let push = 16; push < 200; push += 6) {
      const lx = item.x + push * cos, ly = item.y + push * sin + 4;
      item.label.setAttribute("x", lx.toFixed(1));
      item.label.setAttribute("y", ly.toFixed(1));
      const box = boxOf(item.label);
      if (!boxes.some((b) => overlaps(b, box))) { boxes.push(box); break; }
    }
  }
}

function boxOf(node) {
  const b = node.getBBox();
  return { x: b.x - 2, y: b.y - 1, w: b.width + 4, h: b.height + 2 };
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function aspectColor(polarity) {
  if (polarity === null || polarity === undefined) return COLORS.aspect;
  if (polarity > 0.2) return COLORS.positive;
  if (polarity < -0.2) return COLORS.negative;
  return COLORS.neutral;
}

function graphLegend() {
  const item = (cls, text) => el("span", {}, el("span", { class: `swatch ${cls}` }), text);
  return el("div", { class: "graph-legend" },
    item("round sw-center", "this product"),
    item("round sw-positive", "aspect, mostly positive"),
    item("round sw-negative", "aspect, mostly negative"),
    item("round sw-neutral", "aspect, mixed"),
    item("sw-product", "product reviewed alongside"),
    el("span", {}, "(n): opinions or shared documents; thicker line: more"));
}

function start() {
  initHeader("explore");
  const form = document.getElementById("search");
  const input = document.getElementById("q");
  form.addEventListener("submit", (event) => { event.preventDefault(); loadProducts(input.value); });
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => loadProducts(input.value), 120);
  });
  const product = new URLSearchParams(location.search).get("product");
  loadProducts("").then((products) => {
    if (product) showProduct(product);
    else if (products.length) showProduct(products[0].id);
  });
  window.addEventListener("popstate", () => {
    const id = new URLSearchParams(location.search).get("product");
    if (id) showProduct(id);
  });
}

start();
