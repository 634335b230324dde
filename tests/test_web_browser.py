"""The web app in a real browser: headless Chromium (Selenium) against a real uvicorn
subprocess (`distill serve`, or the same app with a scripted chat model).

Covers: reviewing with the keyboard (accept, edit by selecting text and linking to the
catalog, reject, skip, undo, an aspect's polarity) and the stored decisions; `--sort
uncertain`; a server killed mid-review and restarted, nothing lost; a review holding
`<script>` shown as text; the chat's steps, verdicts and a citation opening its span; a
product page's chart, quotes, mentions and a graph view with labels that do not overlap;
one question to the embedded LLM. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.chrome import chrome, console_errors, screenshot
from browser.server import Server, distill_serve, free_port, world_server
from browser.world import NER_ITEMS, REVIEWS, build_world, settings, suggestions

from distill.config import Config
from distill.workflow.review import ReviewStore

pytestmark = pytest.mark.real

WAIT_S = 30


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    root = tmp_path_factory.mktemp("web-world")
    config = build_world(root)
    return config, suggestions(root / "suggestions.jsonl")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = chrome()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _fresh_console(browser: Any) -> None:
    """Each test reads only its own console messages (a killed server leaves some)."""
    console_errors(browser)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def serve(
    servers: list[Server], world: tuple[Config, Path], db: Path, *extra: str, port: int = 0
) -> Server:
    config, file = world
    port = port or free_port()
    flags = [*settings(config), "serve", "--port", str(port), "--db", str(db)]
    server = distill_serve(
        [*flags, "--suggestions", str(file), *extra], port, db.with_suffix(".log")
    )
    servers.append(server.start())
    return server


# helpers


def wait(driver: Any, condition: Any, seconds: float = WAIT_S) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    redrawn = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, seconds, ignored_exceptions=redrawn).until(condition)


def css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def click(driver: Any, selector: str) -> None:
    """Click the element once it is there; the page may redraw it meanwhile (search results
    arrive as you type), so a vanished element is looked up again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def clicked(d: Any) -> bool:
        try:
            css(d, selector).click()
            return True
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    wait(driver, clicked)


def press(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def showing(driver: Any, item: str) -> None:
    """Wait until the review page shows `item`."""
    wait(driver, lambda d: css(d, "#item-meta").text.startswith(f"item {item} "))


def select_text(driver: Any, words: str) -> None:
    """Select `words` in the item's text as a person would with the mouse, then release."""
    driver.execute_script(
        """
        const words = arguments[0];
        for (const run of document.querySelectorAll('#item-text .seg')) {
          const node = run.firstChild, at = node.data.indexOf(words);
          if (at < 0) continue;
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + words.length);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          run.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
          return;
        }
        throw new Error('not in the text: ' + words);
        """,
        words,
    )


def standing(db: Path, task: str) -> dict[str, Any]:
    """item -> its standing decision, read from the store as training would."""
    with ReviewStore(db, task) as store:
        return {d.item_id: d for d in store.history() if d.undone_at is None}


# review


def test_review_with_the_keyboard_stores_every_decision(
    world: tuple[Config, Path], browser: Any, servers: list[Server], tmp_path: Path
) -> None:
    db = tmp_path / "review.sqlite"
    server = serve(servers, world, db, "--sort", "uncertain")
    browser.get(f"{server.url}/review")

    # --sort uncertain: the least confident item first; it holds <script>, shown as text
    showing(browser, "n5")
    assert "<script>window.__pwned = true</script>" in css(browser, "#item-text").text
    assert not all_css(browser, "#item-text script")
    assert browser.execute_script("return window.__pwned === undefined")
    legend = css(browser, "#legend").text
    assert all(words in legend for words in ("accept", "reject", "skip", "undo"))

    press(browser, "a")  # accept as suggested
    showing(browser, "n3")
    assert "accepted n5" in css(browser, "#saved").text

    # n3 has no suggestion: select the product name, link it to the catalog, accept
    select_text(browser, "Aster A2")
    span = wait(browser, lambda d: css(d, "#item-text .span"))
    assert span.get_attribute("data-label") == "PRODUCT"
    span.click()
    search = wait(browser, lambda d: css(d, "#catalog-search"))
    search.clear()
    search.send_keys("aster a2")
    click(browser, '.hits .hit[data-id="aster-a2"]')
    assert "aster-a2" in css(browser, "#item-text .span").text
    press(browser, "a")
    showing(browser, "n4")

    press(browser, "x")  # reject
    showing(browser, "n2")
    press(browser, " ")  # skip
    showing(browser, "n1")
    press(browser, "u")  # undo the skip: n2 is back
    showing(browser, "n2")
    assert "undone" in css(browser, "#saved").text
    press(browser, "a")
    showing(browser, "n1")
    wait(browser, lambda d: css(d, "#progress-done").text == "4")
    assert css(browser, "#progress-remaining").text == "2"
    screenshot(browser, "review")

    decided = standing(db, "ner")
    assert {item: d.action for item, d in decided.items()} == {
        "n5": "accept",
        "n3": "edit",
        "n4": "reject",
        "n2": "accept",
    }
    text = next(t for i, t, *_ in NER_ITEMS if i == "n3")
    [edited] = decided["n3"].spans or []
    assert text[edited.start : edited.end] == "Aster A2"
    assert (edited.label, edited.kb_id) == ("PRODUCT", "aster-a2")
    with ReviewStore(db, "ner") as store:
        skipped = [d for d in store.history("n2") if d.action == "ignore"]
    assert skipped and skipped[0].undone_at is not None  # the undo is kept, marked

    # a second task: set an aspect's polarity, accept
    css(browser, '#tasks button[data-task="sentiment"]').click()
    showing(browser, "s1")
    row = css(browser, '#aspects .aspect[data-aspect="screen"]')
    row.find_element("css selector", 'button[data-polarity="positive"]').click()
    press(browser, "a")
    showing(browser, "s2")
    opinions = {o.aspect: o.polarity for o in standing(db, "sentiment")["s1"].opinions or []}
    assert opinions == {"battery": "negative", "screen": "positive"}
    assert not console_errors(browser)


def test_a_killed_server_loses_no_decision(
    world: tuple[Config, Path], browser: Any, servers: list[Server], tmp_path: Path
) -> None:
    db = tmp_path / "review.sqlite"
    server = serve(servers, world, db)
    browser.get(f"{server.url}/review")
    showing(browser, "n1")
    press(browser, "a")
    showing(browser, "n2")
    press(browser, "x")
    showing(browser, "n3")

    server.kill()  # SIGKILL mid-review
    restarted = serve(servers, world, db, port=server.port)
    browser.refresh()
    showing(browser, "n3")  # resumes where it was
    assert css(browser, "#progress-done").text == "2"
    press(browser, "a")
    showing(browser, "n4")
    restarted.kill()

    decided = standing(db, "ner")
    assert {item: d.action for item, d in decided.items()} == {
        "n1": "accept",
        "n2": "reject",
        "n3": "accept",
    }


# chat


def ask(browser: Any, question: str, seconds: float = WAIT_S) -> Any:
    box = css(browser, "#message")
    box.send_keys(question)
    css(browser, "#send").click()
    return wait(browser, lambda d: css(d, ".turn.agent .answer"), seconds)


def test_chat_shows_steps_verdicts_and_opens_a_cited_span(
    world: tuple[Config, Path], browser: Any, servers: list[Server], tmp_path: Path
) -> None:
    config, _ = world
    port = free_port()
    server = world_server(Path(config.graph.path).parent, port, tmp_path / "chat.log")
    servers.append(server.start())
    browser.get(f"{server.url}/chat?thread=web-test")
    wait(browser, lambda d: css(d, "#threadname").text == "web-test")
    answer = ask(browser, "What do people say about the Aster A1 camera?")

    nodes = [step.get_attribute("data-node") for step in all_css(browser, ".steps .step")]
    assert nodes == ["plan", "act", "draft", "guard"]
    sentences = answer.find_elements("css selector", ".sentence")
    assert sentences and all(s.find_elements("css selector", ".verdict") for s in sentences)
    quoted = next(s for s in sentences if "lovely" in s.text)
    assert "supported" in quoted.find_element("css selector", ".verdict").text

    quoted.find_element("css selector", "a.cite").click()
    mark = wait(browser, lambda d: css(d, "#source mark"))
    assert "lovely" in mark.text and mark.text in REVIEWS["d1"]
    screenshot(browser, "chat")

    graph = [a for a in answer.find_elements("css selector", "a.cite") if "graph" in (
        a.get_attribute("title") or "")]  # fmt: skip
    if graph:  # the graph facts behind a graph citation, with their documents
        graph[0].click()
        links = wait(browser, lambda d: all_css(d, "#source .facts a.source-doc"))
        assert {link.text.split()[1].rstrip(",") for link in links} <= set(REVIEWS)

    # threads are listed and resume after a reload
    browser.refresh()
    wait(browser, lambda d: len(all_css(d, ".turn.past")) == 2)
    assert all_css(browser, '#threads .thread[data-id="web-test"]')
    assert not console_errors(browser)


def test_chat_with_the_embedded_model(browser: Any, servers: list[Server], tmp_path: Path) -> None:
    """The real path: the embedded LLM plans and writes, MiniLM searches."""
    root = tmp_path / "real-world"
    build_world(root, embedder=None)
    port = free_port()
    server = world_server(root, port, tmp_path / "real.log", real=True)
    servers.append(server.start())
    browser.get(f"{server.url}/chat?thread=real")
    answer = ask(browser, "What do people say about the Aster A1 camera?", seconds=420)
    assert [s.get_attribute("data-node") for s in all_css(browser, ".steps .step")] == [
        "plan",
        "act",
        "draft",
        "guard",
    ]
    assert answer.find_elements("css selector", ".sentence .verdict")
    cites = answer.find_elements("css selector", "a.cite")
    assert cites, answer.text
    cites[0].click()
    wait(browser, lambda d: all_css(d, "#source mark") or all_css(d, "#source .facts li"))
    screenshot(browser, "chat-real")


# explore


def test_product_page_chart_quotes_and_a_readable_graph(
    world: tuple[Config, Path], browser: Any, servers: list[Server], tmp_path: Path
) -> None:
    server = serve(servers, world, tmp_path / "review.sqlite")
    browser.get(f"{server.url}/explore?product=aster-a1")
    wait(browser, lambda d: css(d, "#product-name").text == "Aster A1")

    bars = {
        (b.get_attribute("data-aspect"), b.get_attribute("data-polarity")): int(
            b.get_attribute("data-count")
        )
        for b in wait(browser, lambda d: all_css(d, "#aspect-chart rect.bar"))
    }
    assert bars == {
        ("battery", "negative"): 2,
        ("camera", "positive"): 2,
        ("price", "positive"): 1,
        ("screen", "positive"): 1,
    }
    assert all(float(b.get_attribute("width")) > 0 for b in all_css(browser, "rect.bar"))
    assert css(browser, "#count-opinions").text == "6"
    assert len(all_css(browser, "#mentions tbody tr")) == 6
    assert "ner / trained" in css(browser, "#mentions").text  # provenance
    negative = all_css(browser, ".quote.negative")
    assert negative and "battery dies by noon" in negative[0].text

    # the graph view: labels never overlap, a legend says what the shapes mean
    labels = wait(browser, lambda d: all_css(d, "#graph-view text.node-label"))
    boxes = [label.rect for label in labels]
    for a, b in itertools.combinations(boxes, 2):
        apart = (
            a["x"] + a["width"] <= b["x"]
            or b["x"] + b["width"] <= a["x"]
            or a["y"] + a["height"] <= b["y"]
            or b["y"] + b["height"] <= a["y"]
        )
        assert apart, (a, b)
    assert "product reviewed alongside" in css(browser, ".graph-legend").text
    screenshot(browser, "explore")

    # a quote opens its document with the opinion highlighted
    negative[0].find_element("css selector", "a.quote-link").click()
    mark = wait(browser, lambda d: css(d, "#doc mark"))
    assert mark.text == "battery dies by noon"

    # search, then a review holding <script> is shown as text in the document viewer
    browser.get(f"{server.url}/explore")
    css(browser, "#q").send_keys("brio")
    wait(browser, lambda d: css(d, ".product-hit").text.startswith("Brio Book 14"))
    click(browser, ".product-hit")
    wait(browser, lambda d: css(d, "#product-name").text == "Brio Book 14")
    browser.get(f"{server.url}/doc?id=d6")
    text = wait(browser, lambda d: css(d, "#doc .doctext")).text
    assert text.startswith("<script>window.__pwned = true</script>")
    assert browser.execute_script("return window.__pwned === undefined")
    assert not console_errors(browser)
