"""Take the README's screenshots (docs/screenshots/*.png) of the app on the demo data.

Run from a folder where `distill demo` has run (it uses `.distill/demo`):

    distill annotate ner --data raw.jsonl --out suggestions.jsonl \\
        --source gazetteer,model:.distill/demo/models/ner --sort uncertain
    PYTHONPATH=tests python -m browser.screenshots suggestions.jsonl

The chat screenshot asks the embedded model one question (a minute or two on a CPU).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser.chrome import ROOT, chrome
from browser.server import distill_serve, free_port

OUT = ROOT / "docs" / "screenshots"
QUESTION = "What do people say about the Nebula X2 battery?"
PRODUCT = "nebula-x2"


def save(driver: object, name: str, height: int) -> Path:
    """A 1280-wide PNG, quantized to 256 colours (UI pictures stay sharp and small)."""
    from PIL import Image

    driver.set_window_size(1280, height)  # type: ignore[attr-defined]
    time.sleep(0.5)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)
    return path


def main(suggestions: Path) -> None:
    port = free_port()
    db = Path("screenshots-review.sqlite")
    db.unlink(missing_ok=True)
    flags = ["serve", "--port", str(port), "--db", str(db), "--suggestions", str(suggestions)]
    server = distill_serve(flags, port, Path("screenshots-serve.log")).start()
    driver = chrome(1280, 800)
    wait = WebDriverWait(driver, 600)
    try:
        driver.get(f"{server.url}/review")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#item-text .span"))
        for _ in range(3):
            shown = driver.find_element(By.ID, "item-meta").text
            ActionChains(driver).send_keys("a").perform()
            wait.until(lambda d, shown=shown: d.find_element(By.ID, "item-meta").text != shown)
        print(save(driver, "review", 760))

        driver.get(f"{server.url}/explore?product={PRODUCT}")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#aspect-chart rect.bar"))
        print(save(driver, "explore", 1700))

        thread = time.strftime("demo-%H%M%S")
        driver.get(f"{server.url}/chat?thread={thread}")
        wait.until(lambda d, thread=thread: d.find_element(By.ID, "threadname").text == thread)
        driver.find_element(By.ID, "message").send_keys(QUESTION)
        driver.find_element(By.ID, "send").click()
        answer = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".turn.agent .answer"))
        cites = answer.find_elements(By.CSS_SELECTOR, "a.cite")
        passages = [c for c in cites if (c.get_attribute("title") or "").startswith("passage")]
        (passages or cites)[0].click()
        time.sleep(1)
        print(save(driver, "chat", 720))
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
