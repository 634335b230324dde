/* Chat: the agent's steps as they happen (Server-Sent Events over a POST), the checked
   answer with a verdict per sentence, citations that open their source, resumable threads. */
"use strict";

const NEXT_STEP = { plan: "running the tools", act: "drafting the answer",
  draft: "fact-checking every sentence", guard: "done" };
let thread = new URLSearchParams(location.search).get("thread") || "default";
let busy = false;

async function loadThreads() {
  try {
    const threads = await api("/api/threads");
    const box = document.getElementById("threads");
    const known = threads.some((t) => t.id === thread);
    const rows = known ? threads : [{ id: thread, title: "(new)", turns: 0 }, ...threads];
    box.replaceChildren(...rows.map((t) => el("div", {
      class: t.id === thread ? "thread on" : "thread", dataset: { id: t.id },
      title: t.id, onclick: () => selectThread(t.id),
    }, t.title || t.id, el("div", { class: "small muted" }, `${t.id} · ${t.turns} turn${t.turns === 1 ? "" : "s"}`))));
  } catch (e) {
    showError(e);
  }
}

async function selectThread(id) {
  thread = id;
  history.replaceState(null, "", `/chat?${new URLSearchParams({ thread: id })}`);
  document.getElementById("threadname").textContent = id;
  const conversation = document.getElementById("conversation");
  conversation.replaceChildren();
  loadThreads();
  try {
    const turns = await api(`/api/thread?${new URLSearchParams({ id })}`);
    if (thread !== id) return;  // another thread was chosen meanwhile
    // earlier turns go before anything asked while they loaded
    conversation.prepend(...turns.map((turn) => el("div", { class: `turn ${turn.role} past` },
      turn.role === "user" ? `you › ${turn.text}` : turn.text)));
    if (!conversation.childElementCount) {
      conversation.append(el("p", { class: "muted", id: "empty-hint" },
        "A new conversation: ask about the reviews. Answers cite their sources, and every "
        + "sentence is fact-checked before you see it."));
    }
  } catch (e) {
    showError(e);
  }
}

/** Parse a text/event-stream body, calling onEvent(name, data) per event. */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of chunk.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

async function ask(message) {
  if (busy) return;
  busy = true;
  clearError();
  const send = document.getElementById("send");
  send.disabled = true;
  const conversation = document.getElementById("conversation");
  document.getElementById("empty-hint")?.remove();
  const steps = el("div", { class: "steps" });
  const running = el("div", { class: "running" }, "planning: the model picks a tool");
  steps.append(running);
  const answer = el("div", { class: "turn agent" });
  conversation.append(el("div", { class: "turn user" }, `you › ${message}`), steps, answer);
  try {
    const response = await fetch("/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message, thread }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body && body.error ? body.error : `${response.status} ${response.statusText}`);
    }
    await readEvents(response, (name, data) => {
      if (name === "step") {
        steps.insertBefore(el("div", { class: "step", dataset: { node: data.node } },
          `${data.node}: ${data.detail}`), running);
        running.textContent = `${NEXT_STEP[data.node] || "working"} …`;
      } else if (name === "answer") {
        running.remove();
        answer.replaceChildren(renderAnswer(data));
      } else if (name === "error") {
        running.remove();
        showError(data.error);
      }
    });
  } catch (e) {
    running.remove();
    showError(e);
  } finally {
    busy = false;
    send.disabled = false;
    loadThreads();
  }
}

function renderAnswer(response) {
  const box = el("div", { class: "answer" });
  const byNumber = new Map(response.evidence.map((e) => [e.number, e]));
  if (response.refused || (response.policy === "remove" && response.removed)) {
    box.append(el("p", { class: "decision" }, response.answer));
  }
  if (!response.refused) {
    for (const sentence of response.sentences) {
      if (response.policy !== "flag" && !sentence.kept) continue;
      const line = el("div", { class: "sentence" }, sentence.text);
      for (const n of sentence.citations) {
        const item = byNumber.get(n);
        if (!item) continue;
        const first = item.sources[0];
        const href = first ? docHref(first.doc_id, first.char_start, first.char_end) : "#";
        line.append(" ", el("a", { class: "cite", href, dataset: { number: n },
          title: `${item.kind}: ${item.text.slice(0, 120)}`,
          onclick: (event) => { event.preventDefault(); showSource(item); } }, `[${n}]`));
      }
      line.append(verdictBadge(sentence.verdict));
      box.append(line);
    }
  }
  const seconds = (response.seconds.total || 0).toFixed(1);
  const tools = response.tool_calls.map((t) => t.name + (t.by === "router" ? " (router)" : ""));
  box.append(el("div", { class: "small muted" },
    `${seconds} s · tools: ${tools.join(", ") || "none"} · policy ${response.policy}`));
  return box;
}

function verdictBadge(verdict) {
  if (!verdict) return el("span", { class: "verdict none" }, "· not a claim");
  const confidence = Number(verdict.confidence).toFixed(2);
  if (verdict.label === "supported") {
    return el("span", { class: "verdict supported" }, `✓ supported ${confidence}`);
  }
  return el("span", { class: "verdict unsupported" },
    `⚠ ${verdict.label.replace(/_/g, " ")} ${confidence}`);
}

/** A passage: its document with the span highlighted. A graph fact: the fact and the
    documents behind it, each opening in the same panel. */
async function showSource(item) {
  const panel = document.getElementById("source");
  panel.replaceChildren(el("h3", {}, `[${item.number}] ${item.kind === "graph" ? "graph fact" : item.kind}`));
  if (item.kind === "graph" || item.sources.length !== 1) {
    panel.append(el("p", { class: "fact" }, item.text),
      el("p", { class: "small muted" }, `found by ${item.tool}; the documents behind it:`),
      el("ul", { class: "facts" }, item.sources.map((s) => el("li", {},
        el("a", { href: docHref(s.doc_id, s.char_start, s.char_end), class: "source-doc",
          onclick: (event) => { event.preventDefault(); openDocument(s, panel); } },
        s.char_start === null || s.char_start === undefined
          ? `document ${s.doc_id}` : `document ${s.doc_id}, characters ${s.char_start}–${s.char_end}`)))));
    return;
  }
  await openDocument(item.sources[0], panel);
}

async function openDocument(source, panel) {
  try {
    const doc = await api(`/api/document?${new URLSearchParams({ id: source.doc_id })}`);
    const start = source.char_start, end = source.char_end;
    const span = start === null || start === undefined ? "" : `, characters ${start}–${end}`;
    panel.querySelector(".docview")?.remove();
    const view = el("div", { class: "docview" },
      el("p", { class: "small" }, el("a", { href: docHref(doc.id, start, end), target: "_blank" },
        `document ${doc.id}${span}`), " (opens in a new tab)"),
      highlighted(doc.text, start, end));
    panel.append(view);
    view.querySelector("mark")?.scrollIntoView({ block: "nearest" });
  } catch (e) {
    showError(e);
  }
}

function start() {
  initHeader("chat");
  document.getElementById("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("message");
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    ask(message);
  });
  document.getElementById("newthread").addEventListener("click", () => {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
    selectThread(`thread-${stamp}`);
  });
  selectThread(thread);
}

start();
