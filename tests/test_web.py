"""The web app's server side, in-process (FastAPI's TestClient): the JSON API of the three
pages, its errors, its guards, and the review adapter. The browser tests are in
test_web_browser.py."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.serve_world import scripted_llm
from browser.world import REVIEWS, build_world, facts, suggestions
from fake_embedding import fake_embed
from fastapi.testclient import TestClient

from distill.config import Config, GraphConfig
from distill.web import create_app
from distill.web.review import ReviewService, add_suggestions
from distill.workflow.review import ReviewStore

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return build_world(tmp_path_factory.mktemp("web"))


@pytest.fixture
def review(world: Config, tmp_path: Path) -> Iterator[ReviewService]:
    db = tmp_path / "review.sqlite"
    add_suggestions(db, [suggestions(tmp_path / "suggestions.jsonl")])
    service = ReviewService(db)
    yield service
    service.close()


@pytest.fixture
def client(
    world: Config, review: ReviewService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from agent_world import word_checker

    import distill.ingest.index
    from distill.agent.chat import Agent

    monkeypatch.setattr(distill.ingest.index, "default_embedder", fake_embed)

    def agent() -> Agent:
        return Agent(world, chat_model=scripted_llm(), checker=word_checker)

    app = create_app(world, review=review, agent_factory=agent)
    with TestClient(app, base_url="http://127.0.0.1:8765") as test_client:
        yield test_client


# explore


def test_product_page_holds_chart_quotes_mentions_and_neighbours(client: TestClient) -> None:
    page = client.get("/api/product", params={"id": "aster-a1"}).json()
    assert (page["name"], page["brand"], page["category"]) == ("Aster A1", "Aster", "phone")
    counts = {row["aspect"]: (row["positive"], row["negative"]) for row in page["aspects"]}
    assert counts == {"battery": (0, 2), "camera": (2, 0), "price": (1, 0), "screen": (1, 0)}
    [negative] = page["quotes"]["negative"]
    assert negative["doc_id"] in ("d1", "d2")
    text = REVIEWS[negative["doc_id"]]
    assert text[negative["char_start"] : negative["char_end"]] == negative["text"]
    assert "battery" in text[negative["highlight_start"] : negative["highlight_end"]]
    positive = page["quotes"]["positive"]
    assert len(positive) == 3 and len({q["doc_id"] for q in positive}) == 3
    assert {q["aspect"] for q in positive} == {"camera", "price", "screen"}
    mention = page["mention_rows"][0]
    assert (mention["tool"], mention["backend"], mention["confidence"]) == ("ner", "trained", 0.97)
    assert mention["link_tool"] == "linker" and mention["link_confidence"] == 0.9
    neighbours = {(n["kind"], n["id"]): n["weight"] for n in page["neighbours"]}
    assert neighbours[("product", "aster-a2")] == 1  # reviewed together in d5
    assert neighbours[("aspect", "battery")] == 2


def test_neighbours_are_capped(client: TestClient) -> None:
    page = client.get("/api/product", params={"id": "aster-a1", "neighbours": 2}).json()
    assert [(n["kind"], n["id"]) for n in page["neighbours"]] == [
        ("aspect", "battery"),
        ("product", "aster-a2"),
    ]


def test_a_catalog_entry_without_reviews_has_an_empty_page(world: Config, tmp_path: Path) -> None:
    import json as json_

    from distill.web.explore import Explorer

    catalog = Path(world.catalog.path or "")
    extended = tmp_path / "catalog.jsonl"
    extra = {"id": "cirro-9", "name": "Cirro 9", "brand": "Cirro", "category": "tablet"}
    extended.write_text(catalog.read_text() + json_.dumps(extra) + "\n")
    settings = world.catalog.model_copy(update={"path": str(extended)})
    explorer = Explorer(world.model_copy(update={"catalog": settings}))
    try:
        page = explorer.product("cirro-9")
    finally:
        explorer.close()
    assert (page.name, page.mentions, page.aspects, page.neighbours) == ("Cirro 9", 0, [], [])


def test_product_search_and_catalog_search(client: TestClient) -> None:
    hits = client.get("/api/products", params={"q": "brio book"}).json()
    assert hits[0]["id"] == "brio-14"
    # each name is scored alone: a short form the user knows finds the product surely
    # ("Sony T610" for the "Sony Ericsson T610 phone" found nothing when all a product's
    # names were joined into one string)
    short = client.get("/api/products", params={"q": "A2"}).json()
    assert short[0]["id"] == "aster-a2" and short[0]["score"] >= 90
    everything = client.get("/api/products").json()
    assert everything[0]["id"] == "aster-a1"  # most mentioned first
    catalog = client.get("/api/catalog", params={"q": "aster a2"}).json()
    assert catalog[0]["id"] == "aster-a2"


def test_documents_come_from_the_index_as_json(client: TestClient) -> None:
    doc = client.get("/api/document", params={"id": "d6"}).json()
    assert doc["text"] == REVIEWS["d6"]  # JSON: the page inserts it as text
    missing = client.get("/api/document", params={"id": "nope"})
    assert missing.status_code == 404
    assert "no document 'nope'" in missing.json()["error"]


@pytest.mark.parametrize("store", ["networkx", pytest.param("ladybug", marks=pytest.mark.real)])
def test_the_product_queries_run_on_each_store(store: str, tmp_path: Path) -> None:
    from distill.graph import open_store
    from distill.web.explore import Explorer

    config = build_world(tmp_path)
    if store != "networkx":
        config = config.model_copy(
            update={"graph": GraphConfig(store=store, path=str(tmp_path / store))}
        )
        with open_store(config.graph) as graph:
            for doc_id in REVIEWS:
                graph.write_document(facts(doc_id))
    explorer = Explorer(config)
    try:
        page = explorer.product("aster-a1")
    finally:
        explorer.close()
    assert page.opinions == 6 and page.mentions == 6
    assert ("product", "aster-a2") in {(n.kind, n.id) for n in page.neighbours}


# chat


def events(body: str) -> list[tuple[str, Any]]:
    found = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        name = re.search(r"^event: (.*)$", chunk, flags=re.M)
        data = re.search(r"^data: (.*)$", chunk, flags=re.M)
        if name and data:
            found.append((name.group(1), json.loads(data.group(1))))
    return found


def test_chat_streams_steps_then_the_checked_answer(client: TestClient) -> None:
    question = {"message": "What do people say about the Aster A1 camera?", "thread": "t-1"}
    response = client.post("/api/chat", json=question)
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response.text)
    assert [name for name, _ in stream] == ["status", "step", "step", "step", "step", "answer"]
    assert [data["node"] for name, data in stream if name == "step"] == [
        "plan",
        "act",
        "draft",
        "guard",
    ]
    answer = stream[-1][1]
    quoted = next(s for s in answer["sentences"] if "lovely" in s["text"])
    assert quoted["verdict"]["label"] == "supported"
    [cited] = [e for e in answer["evidence"] if e["number"] == quoted["citations"][0]]
    source = cited["sources"][0]
    assert "lovely" in REVIEWS[source["doc_id"]][source["char_start"] : source["char_end"]]
    threads = client.get("/api/threads").json()
    assert threads[0]["id"] == "t-1" and threads[0]["turns"] == 1
    turns = client.get("/api/thread", params={"id": "t-1"}).json()
    assert [t["role"] for t in turns] == ["user", "agent"]


def test_an_agent_error_is_an_event_not_a_hang(world: Config, tmp_path: Path) -> None:
    from distill.errors import DistillError

    def broken() -> Any:
        raise DistillError("the fact-checker could not start: run `distill demo`")

    app = create_app(world, agent_factory=broken)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        stream = events(test_client.post("/api/chat", json={"message": "hi"}).text)
    assert stream[-1] == (
        "error",
        {"error": "the fact-checker could not start: run `distill demo`"},
    )


# review


def decide(client: TestClient, task: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/review/decide", params={"task": task}, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_review_decisions_edits_and_undo_reach_the_store(
    client: TestClient, review: ReviewService
) -> None:
    tasks = client.get("/api/review/tasks").json()["tasks"]
    assert {t["name"]: t["progress"]["total"] for t in tasks} == {"ner": 6, "sentiment": 2}
    first = client.get("/api/review/next", params={"task": "ner"}).json()["item"]
    assert first["id"] == "n1" and first["spans"][0]["label"] == "PRODUCT"

    answer = decide(client, "ner", item="n1", action="accept")
    assert answer["saved"]["action"] == "accept" and answer["item"]["id"] == "n2"
    span = {"start": 15, "end": 27, "label": "PRODUCT", "kb_id": "brio-14"}
    answer = decide(client, "ner", item="n2", action="accept", spans=[span])
    assert answer["saved"]["action"] == "edit"
    decide(client, "ner", item="n3", action="reject")
    decide(client, "ner", item="n4", action="skip")
    undone = client.post("/api/review/undo", params={"task": "ner"}).json()
    assert undone["undone"] and undone["item"]["id"] == "n4"
    progress = undone["progress"]
    assert (progress["decided"], progress["remaining"], progress["edited"]) == (3, 3, 1)
    assert progress["per_minute"] is not None and progress["per_minute"] > 0

    with ReviewStore(review.path, "ner") as store:
        history = store.history()
    assert [(d.item_id, d.action, d.undone_at is not None) for d in history] == [
        ("n1", "accept", False),
        ("n2", "edit", False),
        ("n3", "reject", False),
        ("n4", "ignore", True),
    ]
    assert history[1].spans and history[1].spans[0].kb_id == "brio-14"

    opinions = [{"aspect": "battery", "polarity": "positive", "target": "aster-a1"}]
    decide(client, "sentiment", item="s1", action="accept", opinions=opinions)
    with ReviewStore(review.path, "sentiment") as store:
        [edit] = store.history()
    assert edit.opinions and edit.opinions[0].polarity == "positive"


def test_undoing_an_edit_shows_the_edit_again(client: TestClient) -> None:
    span = {"start": 4, "end": 9, "label": "BRAND"}
    decide(client, "ner", item="n1", action="accept", spans=[span])
    item = client.post("/api/review/undo", params={"task": "ner"}).json()["item"]
    assert item["id"] == "n1" and item["spans"] == [{**span, "kb_id": None}]


def test_sort_uncertain_serves_the_least_confident_first(review: ReviewService) -> None:
    review.sort = "uncertain"
    order = []
    while (item := review.next("ner")) is not None:
        order.append(item.id)
        review.store("ner").decide(item.id, _accept())
    assert order == ["n5", "n3", "n4", "n2", "n1", "n6"]


def _accept() -> Any:
    from distill.workflow.review import Decision

    return Decision(action="accept")


@pytest.mark.parametrize(
    ("task", "body", "status", "message"),
    [
        ("ner", {"item": "n1", "action": "maybe"}, 422, "action"),
        ("ner", {"item": "n1", "action": "accept", "extra": 1}, 422, "extra"),
        (
            "ner",
            {"item": "n1", "action": "accept", "spans": [{"start": 0, "end": 999, "label": "X"}]},
            400,
            "outside the text",
        ),
        (
            "ner",
            {"item": "n1", "action": "accept", "spans": [{"start": 0, "end": 3, "label": "DISH"}]},
            400,
            "not one of",
        ),
        ("ner", {"item": "nope", "action": "accept"}, 400, "no ner item 'nope'"),
        ("recipes", {"item": "n1", "action": "accept"}, 400, "no task 'recipes' to review"),
        ("../x", {"item": "n1", "action": "accept"}, 422, "task"),
    ],
)
def test_bad_decisions_are_refused_with_a_json_message(
    client: TestClient, task: str, body: dict[str, Any], status: int, message: str
) -> None:
    response = client.post("/api/review/decide", params={"task": task}, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


# guards


def test_errors_are_json_with_a_message(client: TestClient) -> None:
    for path, status, words in [
        ("/nope", 404, "no such page"),
        ("/api/product?id=nope", 404, "no product 'nope'"),
        ("/api/thread?id=..%2Fetc", 422, "id"),
        ("/api/products?limit=100000", 422, "limit"),
    ]:
        response = client.get(path)
        assert response.status_code == status, path
        assert words in response.json()["error"], path
    empty = client.post("/api/chat", json={"message": ""})
    assert empty.status_code == 422 and "message" in empty.json()["error"]
    wrong_method = client.post("/api/product?id=aster-a1")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]


def test_only_localhost_names_are_answered(client: TestClient) -> None:
    rebound = client.get("/api/info", headers={"host": "attacker.example:8765"})
    assert rebound.status_code == 400 and "localhost" in rebound.json()["error"]
    assert client.get("/api/info", headers={"host": "localhost:8765"}).status_code == 200


def test_pages_forbid_inline_scripts_and_insert_text_only(client: TestClient) -> None:
    page = client.get("/review")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for html in STATIC.glob("*.html"):
        source = html.read_text()
        assert re.findall(r"<script(?![^>]*\ssrc=)", source) == [], html.name
        assert not re.search(r"\son[a-z]+=|\sstyle=", source), html.name
    for script in STATIC.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{script.name} uses {sink}"


def test_the_app_writes_nothing_but_review_decisions(client: TestClient, world: Config) -> None:
    graph = Path(world.graph.path)
    before = {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in graph.rglob("*") if p.is_file()}
    client.get("/api/product", params={"id": "aster-a1"})
    client.post("/api/chat", json={"message": "Which phone has the worst battery reviews?"})
    after = {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in graph.rglob("*") if p.is_file()}
    assert before == after
    writes = {
        route.path  # type: ignore[attr-defined]
        for route in client.app.routes  # type: ignore[attr-defined]
        if "POST" in (getattr(route, "methods", None) or ())
    }
    assert writes == {"/api/chat", "/api/review/decide", "/api/review/undo"}


def test_suggestions_without_a_task_are_refused(tmp_path: Path) -> None:
    from distill.errors import DistillError

    file = tmp_path / "plain.jsonl"
    file.write_text(json.dumps({"text": "no meta here"}) + "\n")
    with pytest.raises(DistillError, match=r"plain.jsonl:1: no meta.task"):
        add_suggestions(tmp_path / "r.sqlite", [file])


def test_serve_refuses_an_unknown_sort(world: Config) -> None:
    from typer.testing import CliRunner

    from distill.cli import app

    result = CliRunner().invoke(app, ["serve", "--sort", "random"])
    assert result.exit_code == 1
    assert "--sort is input or uncertain" in str(result.exception)
