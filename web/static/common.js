/* Helpers shared by the pages. Untrusted text (documents, ids, answers) only ever enters
   the page through text nodes (el() children, textContent); no HTML string is ever parsed. */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

/** An element with attributes, listeners (onclick: fn) and children (strings become text). */
function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** JSON from the API; a failed request throws an Error with the server's message. */
async function api(path, options) {
  const init = Object.assign({ headers: {} }, options || {});
  if (init.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.json);
    delete init.json;
  }
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

/** Show an error in the page's error box (as text). */
function showError(error) {
  const box = document.getElementById("errors");
  const message = error instanceof Error ? error.message : String(error);
  if (!box) { console.error(message); return; }
  box.replaceChildren(el("div", { class: "error", role: "alert" }, message));
}

function clearError() {
  const box = document.getElementById("errors");
  if (box) box.replaceChildren();
}

/** Mark the current page in the header and say which graph the app serves. */
async function initHeader(page) {
  for (const link of document.querySelectorAll("header nav a")) {
    if (link.dataset.page === page) link.classList.add("active");
  }
  try {
    const info = await api("/api/info");
    const where = document.querySelector("header .where");
    const documents = info.nodes.Document || 0;
    const products = info.nodes.Product || 0;
    if (where) where.textContent = `${info.store} graph · ${documents} documents · ${products} products`;
  } catch (e) {
    showError(e);
  }
}

/** Link to the document viewer, with a span to highlight. */
function docHref(docId, start, end) {
  const params = new URLSearchParams({ id: docId });
  if (start !== null && start !== undefined && end !== null && end !== undefined) {
    params.set("start", start);
    params.set("end", end);
  }
  return `/doc?${params}`;
}

/** `text` with [start, end) highlighted as a <mark>: three text nodes, nothing parsed. */
function highlighted(text, start, end) {
  const box = el("div", { class: "doctext" });
  if (start === null || start === undefined || end === null || end === undefined
      || start < 0 || end > text.length || end <= start) {
    box.append(text);
    return box;
  }
  box.append(text.slice(0, start), el("mark", { class: "hl" }, text.slice(start, end)),
    text.slice(end));
  return box;
}

function pct(x) { return `${Math.round(100 * x)}%`; }
