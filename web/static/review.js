/* Review: one suggestion at a time. Keys a (accept), x (reject), space (skip), u (undo);
   select text to add a span, click a span to relabel it, link it to the catalog or remove it;
   set an aspect's polarity. Every decision is stored by the server before the next item shows. */
"use strict";

const PALETTE = ["#ffd166", "#9ad0f5", "#b8e0a8", "#f4b6c2", "#d7c4f0", "#ffcf9e", "#a8e6e0",
  "#e6d3a3", "#c9d6df"];
const POLARITY_KEYS = [["positive", "+"], ["negative", "−"], ["neutral", "0"], ["conflict", "±"]];

const state = {
  task: new URLSearchParams(location.search).get("task"),
  tasks: [],
  item: null,     // the item as the server sent it
  spans: [],      // the spans being edited
  opinions: null, // the opinions being edited (sentiment tasks), else null
  edited: false,
  label: null,    // the label new spans get
  busy: false,
};

// ------------------------------------------------------------------ loading

async function loadTasks() {
  const { tasks, sort } = await api("/api/review/tasks");
  state.tasks = tasks;
  if (!state.task || !tasks.some((t) => t.name === state.task)) state.task = tasks[0].name;
  document.getElementById("order").textContent =
    sort === "uncertain" ? "order: least certain first" : "order: as suggested";
  renderTasks();
}

function renderTasks() {
  const box = document.getElementById("tasks");
  box.replaceChildren(...state.tasks.map((t) => el("button", {
    class: t.name === state.task ? "on" : "", dataset: { task: t.name },
    onclick: () => switchTask(t.name),
  }, `${t.name} (${t.progress.decided}/${t.progress.total})`)));
}

async function switchTask(name) {
  state.task = name;
  history.replaceState(null, "", `/review?${new URLSearchParams({ task: name })}`);
  renderTasks();
  await run(() => api(`/api/review/next?${new URLSearchParams({ task: name })}`));
}

/** Call the server (one request at a time) and show what it answers. */
async function run(request) {
  if (state.busy) return;
  state.busy = true;
  try {
    clearError();
    const answer = await request();
    if (answer.saved) {
      const saved = answer.saved;
      const label = { accept: "accepted", edit: "accepted with edits", reject: "rejected",
        ignore: "skipped" }[saved.action];
      document.getElementById("saved").textContent =
        `saved: ${label} ${saved.item_id} at ${saved.at.slice(11, 19)}`;
    } else if (answer.undone) {
      document.getElementById("saved").textContent = "undone: the item is back for a new decision";
    }
    showProgress(answer.progress);
    showItem(answer.item);
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
  }
}

function showProgress(p) {
  document.getElementById("progress-bar").style.width = p.total ? pct(p.decided / p.total) : "0";
  document.getElementById("progress-done").textContent = p.decided;
  document.getElementById("progress-remaining").textContent = p.remaining;
  document.getElementById("per-minute").textContent =
    p.per_minute === null || p.per_minute === undefined ? "–" : p.per_minute.toFixed(1);
  document.getElementById("progress-detail").textContent =
    `${p.accepted} accepted · ${p.edited} edited · ${p.rejected} rejected · ${p.ignored} skipped`;
  const task = state.tasks.find((t) => t.name === state.task);
  if (task) { task.progress = p; renderTasks(); }
}

// ------------------------------------------------------------------ the item

function showItem(item) {
  hidePopup();
  state.item = item;
  state.edited = false;
  const text = document.getElementById("item-text");
  const meta = document.getElementById("item-meta");
  if (!item) {
    text.replaceChildren(el("p", { class: "decision", id: "all-done" },
      "All done: every item of this task has a decision."));
    meta.replaceChildren();
    document.getElementById("labelbar").replaceChildren();
    document.getElementById("aspects").classList.add("hidden");
    document.getElementById("votes").replaceChildren();
    return;
  }
  state.spans = item.spans.map((s) => ({ start: s.start, end: s.end, label: s.label,
    kb_id: s.kb_id ?? null, confidence: s.confidence ?? null }));
  state.opinions = item.opinions === null ? null
    : item.opinions.map((o) => ({ aspect: o.aspect, polarity: o.polarity, target: o.target ?? null,
      term: o.term ?? null, start: o.start ?? null, end: o.end ?? null }));
  const labels = spanLabels();
  if (!labels.includes(state.label)) state.label = labels[0];
  const parts = [`item ${item.id}`];
  if (item.confidence !== null) parts.push(`confidence ${item.confidence.toFixed(2)}`);
  if (item.conflicts) parts.push(`${item.conflicts} disputed`);
  if (item.failed) parts.push("the teacher failed on this item");
  meta.textContent = parts.join(" · ");
  const card = document.getElementById("item-card");
  card.classList.remove("flash");
  void card.offsetWidth;  // restart the animation
  card.classList.add("flash");
  renderLabels();
  renderText();
  renderAspects();
  renderVotes(item.sources);
}

function spanLabels() {
  if (state.opinions !== null) return [];  // sentiment: spans are shown, opinions are edited
  const labels = [...(state.item.labels || [])];
  for (const s of state.spans) if (!labels.includes(s.label)) labels.push(s.label);
  return labels.length ? labels : ["PRODUCT"];
}

function color(label) {
  const labels = spanLabels();
  const i = labels.indexOf(label);
  return PALETTE[(i < 0 ? label.length : i) % PALETTE.length];
}

function renderLabels() {
  const bar = document.getElementById("labelbar");
  const labels = spanLabels();
  bar.replaceChildren(...labels.map((label, i) => {
    const button = el("button", { class: label === state.label ? "on" : "", dataset: { label },
      onclick: () => { state.label = label; renderLabels(); } },
    el("span", { class: "swatch", dataset: { color: color(label) } }), label,
    i < 9 ? el("kbd", {}, String(i + 1)) : null);
    button.querySelector(".swatch").style.background = color(label);
    return button;
  }));
  if (labels.length) bar.prepend(el("span", { class: "small muted" }, "new spans:"));
}

/** The text as runs of plain text and spans; every run keeps its start offset, so a
    selection maps back to characters. Nothing is parsed as HTML. */
function renderText() {
  const text = state.item.text;
  const box = document.getElementById("item-text");
  const spans = state.spans.map((s, i) => ({ ...s, i }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const nodes = [];
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue;  // overlapping: shown once
    if (s.start > at) nodes.push(el("span", { class: "seg", dataset: { start: at } }, text.slice(at, s.start)));
    const tag = s.kb_id ? `${s.label} → ${s.kb_id}` : s.label;
    const node = el("span", { class: "span", dataset: { i: s.i, label: s.label, start: s.start, end: s.end,
      kb: s.kb_id || "" }, title: s.confidence === null ? tag : `${tag} (confidence ${s.confidence})`,
      onclick: (event) => { event.stopPropagation(); openSpan(s.i, node); } },
    el("span", { class: "span-text", dataset: { start: s.start } }, text.slice(s.start, s.end)),
    el("span", { class: "lab" }, tag));
    node.style.background = color(s.label);
    nodes.push(node);
    at = s.end;
  }
  if (at < text.length) nodes.push(el("span", { class: "seg", dataset: { start: at } }, text.slice(at)));
  box.replaceChildren(...nodes);
}

function renderAspects() {
  const box = document.getElementById("aspects");
  if (state.opinions === null) { box.classList.add("hidden"); return; }
  box.classList.remove("hidden");
  const rows = state.opinions.map((o, i) => el("div", { class: "aspect", dataset: { aspect: o.aspect } },
    el("span", { class: "name" }, o.aspect),
    POLARITY_KEYS.map(([polarity, sign]) => el("button", {
      class: `${polarity}${o.polarity === polarity ? " on" : ""}`, title: polarity,
      dataset: { polarity }, onclick: () => setPolarity(i, polarity),
    }, `${sign} ${polarity}`)),
    el("button", { title: "remove this opinion", class: "remove", onclick: () => removeOpinion(i) }, "×"),
    el("span", { class: "small muted" }, [o.target ? `about ${o.target}` : null,
      o.term ? `“${o.term}”` : null].filter(Boolean).join(" · "))));
  const aspects = (state.item.labels || []).filter((a) => !state.opinions.some((o) => o.aspect === a));
  const select = el("select", { id: "new-aspect" }, aspects.map((a) => el("option", { value: a }, a)));
  const add = el("div", { class: "aspect" }, el("span", { class: "name muted" }, "add an aspect"), select,
    el("button", { onclick: () => addOpinion(select.value) }, "add"));
  box.replaceChildren(el("h2", { class: "first" }, "Aspects"),
    ...(rows.length ? rows : [el("p", { class: "muted small" }, "No opinion suggested.")]),
    ...(aspects.length ? [add] : []));
}

function renderVotes(sources) {
  const box = document.getElementById("votes");
  const names = Object.keys(sources || {});
  if (!names.length) { box.replaceChildren(); return; }
  box.replaceChildren("suggested by: ", names.map((name, i) => {
    const source = sources[name];
    const what = source.failed ? "failed" : source.accuracy !== undefined
      ? `accuracy ${Number(source.accuracy).toFixed(2)}` : "";
    return `${i ? ", " : ""}${name}${what ? ` (${what})` : ""}`;
  }).join(""));
}

// ------------------------------------------------------------------ editing

function changed() {
  state.edited = true;
  renderText();
  renderAspects();
}

function setPolarity(i, polarity) { state.opinions[i].polarity = polarity; changed(); }
function removeOpinion(i) { state.opinions.splice(i, 1); changed(); }

function addOpinion(aspect) {
  if (!aspect) return;
  const target = state.opinions.find((o) => o.target)?.target
    ?? state.spans.find((s) => s.kb_id)?.kb_id ?? null;
  state.opinions.push({ aspect, polarity: "positive", target, term: null, start: null, end: null });
  changed();
}

/** A text selection → a new span with the current label, snapped to whole words. */
function addSpanFromSelection() {
  if (state.opinions !== null || !state.item) return;
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || !selection.rangeCount) return;
  const range = selection.getRangeAt(0);
  const box = document.getElementById("item-text");
  if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
  let start = offsetOf(range.startContainer, range.startOffset);
  let end = offsetOf(range.endContainer, range.endOffset);
  selection.removeAllRanges();
  if (start === null || end === null) return;
  if (end < start) [start, end] = [end, start];
  const text = state.item.text;
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  while (start > 0 && /\w/.test(text[start - 1]) && /\w/.test(text[start])) start--;
  while (end < text.length && /\w/.test(text[end]) && /\w/.test(text[end - 1])) end++;
  if (end <= start) return;
  state.spans = state.spans.filter((s) => s.end <= start || s.start >= end);
  state.spans.push({ start, end, label: state.label, kb_id: null, confidence: null });
  changed();
}

function offsetOf(node, offset) {
  const holder = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
  if (holder.classList.contains("lab")) {
    const span = holder.closest(".span");
    return span ? Number(span.dataset.end) : null;
  }
  if (holder.dataset.start !== undefined && node.nodeType === Node.TEXT_NODE) {
    return Number(holder.dataset.start) + offset;
  }
  if (holder.classList.contains("span")) {
    return Number(offset === 0 ? holder.dataset.start : holder.dataset.end);
  }
  if (holder.id === "item-text") {  // between runs: the start of the run at `offset`
    const run = holder.childNodes[offset];
    if (!run) return state.item.text.length;
    return Number(run.dataset.start);
  }
  return null;
}

function openSpan(i, anchor) {
  if (state.opinions !== null) return;
  const span = state.spans[i];
  const popup = document.getElementById("popup");
  const hits = el("div", { class: "hits" });
  const search = el("input", { type: "search", id: "catalog-search", placeholder: "search the catalog",
    autocomplete: "off", value: state.item.text.slice(span.start, span.end) });
  let asked = 0;
  const lookup = async () => {
    const mine = ++asked;
    try {
      const found = await api(`/api/catalog?${new URLSearchParams({ q: search.value, limit: 8 })}`);
      if (mine !== asked) return;  // a later keystroke's answer will show instead
      hits.replaceChildren(...found.map((hit) => el("div", { class: "hit", dataset: { id: hit.id },
        onclick: () => { span.kb_id = hit.id; hidePopup(); changed(); } },
      el("b", {}, hit.name), " ", el("span", { class: "small muted" }, hit.id))));
      if (!found.length) hits.append(el("div", { class: "muted small" }, "no match"));
    } catch (e) {
      hits.replaceChildren(el("div", { class: "muted small" }, e.message));
    }
  };
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(lookup, 120); });
  popup.replaceChildren(
    el("div", { class: "small muted" }, `“${state.item.text.slice(span.start, span.end)}” (${span.start}–${span.end})`),
    el("div", { class: "row" }, spanLabels().map((label) => el("button", {
      class: label === span.label ? "on" : "", dataset: { label },
      onclick: () => { span.label = label; hidePopup(); changed(); } }, label))),
    el("div", { class: "row" },
      el("button", { id: "remove-span", onclick: () => { state.spans.splice(i, 1); hidePopup(); changed(); } },
        "remove span"),
      span.kb_id ? el("button", { onclick: () => { span.kb_id = null; hidePopup(); changed(); } },
        `unlink ${span.kb_id}`) : null),
    el("div", { class: "small muted" }, "catalog entry:"), search, hits);
  const box = anchor.getBoundingClientRect();
  popup.style.left = `${window.scrollX + box.left}px`;
  popup.style.top = `${window.scrollY + box.bottom + 6}px`;
  popup.classList.remove("hidden");
  lookup();
}

function hidePopup() { document.getElementById("popup").classList.add("hidden"); }

// ------------------------------------------------------------------ decisions

function decide(action) {
  if (!state.item) return;
  const body = { item: state.item.id, action };
  if (action === "accept" && state.edited) {
    if (state.opinions !== null) body.opinions = state.opinions.map(clean);
    else body.spans = state.spans.map(({ start, end, label, kb_id }) => clean({ start, end, label, kb_id }));
  }
  return run(() => api(`/api/review/decide?${new URLSearchParams({ task: state.task })}`, { json: body }));
}

function undo() {
  return run(() => api(`/api/review/undo?${new URLSearchParams({ task: state.task })}`, { method: "POST" }));
}

function clean(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined));
}

function onKey(event) {
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement
      || target instanceof HTMLTextAreaElement) {
    if (event.key === "Escape") { hidePopup(); target.blur(); }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (key === "a") decide("accept");
  else if (key === "x") decide("reject");
  else if (key === " ") { event.preventDefault(); decide("skip"); }
  else if (key === "u") undo();
  else if (key === "escape") hidePopup();
  else if (/^[1-9]$/.test(key)) {
    const label = spanLabels()[Number(key) - 1];
    if (label) { state.label = label; renderLabels(); }
  } else return;
  event.preventDefault();
}

async function start() {
  initHeader("review");
  document.addEventListener("keydown", onKey);
  document.getElementById("item-text").addEventListener("mouseup", addSpanFromSelection);
  document.addEventListener("click", (event) => {
    if (!document.getElementById("popup").contains(event.target)) hidePopup();
  });
  document.getElementById("accept").addEventListener("click", () => decide("accept"));
  document.getElementById("reject").addEventListener("click", () => decide("reject"));
  document.getElementById("skip").addEventListener("click", () => decide("skip"));
  document.getElementById("undo").addEventListener("click", () => undo());
  for (const button of document.querySelectorAll(".card .row button")) {
    // the keys stay with the page: a clicked button must not take the focus (space would press it)
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("keydown", (event) => { if (event.key === " ") event.preventDefault(); });
  }
  try {
    await loadTasks();
    await switchTask(state.task);
  } catch (e) {
    showError(e);
  }
}

start();
