/* The document viewer: /doc?id=ID&start=S&end=E shows the document with [S, E) highlighted. */
"use strict";

async function showDocument() {
  initHeader("");
  const params = new URLSearchParams(location.search);
  const id = params.get("id");
  const start = params.has("start") ? Number(params.get("start")) : null;
  const end = params.has("end") ? Number(params.get("end")) : null;
  if (!id) { showError("no document id in the address (/doc?id=...)"); return; }
  try {
    const doc = await api(`/api/document?${new URLSearchParams({ id })}`);
    document.getElementById("title").textContent = doc.title || `Document ${doc.id}`;
    const meta = [`id ${doc.id}`, doc.source ? `source ${doc.source}` : null,
      `${doc.text.length} characters`];
    if (start !== null) meta.push(`characters ${start}–${end} highlighted`);
    document.getElementById("meta").textContent = meta.filter(Boolean).join(" · ");
    const box = highlighted(doc.text, start, end);
    document.getElementById("doc").replaceChildren(box);
    const mark = box.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "center" });
  } catch (e) {
    showError(e);
  }
}

showDocument();
