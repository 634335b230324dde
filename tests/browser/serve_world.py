"""Serve the browser tests' world in this process with uvicorn, the way `distill serve` does,
but with a chat agent the test chooses:

    python -m browser.serve_world ROOT PORT [--real]

Default: a scripted chat model and a word-overlap fact-checker (instant, deterministic).
`--real`: the embedded LLM plans and writes (the fact-checker stays the word checker, so no
model has to be trained first).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import uvicorn
from agent_world import ScriptedLLM, word_checker
from fake_embedding import fake_embed

from distill.config import Config


def scripted_llm() -> ScriptedLLM:
    """Searches the reviews of the product asked about; answers from the passage that says
    the camera is lovely, citing it by its evidence number."""

    def plan(messages: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        return [("search_reviews", {"query": "Aster A1 camera", "products": ["Aster A1"]})]

    def answer(prompt: str) -> list[tuple[str, list[int]]]:
        numbers = {text: int(n) for n, text in re.findall(r"^\[(\d+)\] (.*)$", prompt, flags=re.M)}
        cited = [n for text, n in numbers.items() if "lovely" in text]
        return [("The camera is lovely though.", cited[:1])]

    return ScriptedLLM(plan=plan, answer=answer)


def main(root: Path, port: int, real: bool) -> None:
    from distill.agent.chat import Agent
    from distill.web import create_app

    config = Config.model_validate_json((root / "config.json").read_text(encoding="utf-8"))
    if real:  # the model itself answers, not the response cache of an earlier run
        config = config.model_copy(update={"llm": config.llm.model_copy(update={"cache": False})})
    else:
        import distill.ingest.index

        distill.ingest.index.default_embedder = fake_embed  # the index was built with it

    def agent() -> Agent:
        model = None if real else scripted_llm()
        return Agent(config, chat_model=model, checker=word_checker)

    app = create_app(config, agent_factory=agent)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), "--real" in sys.argv[3:])
