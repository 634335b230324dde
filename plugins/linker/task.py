"""Entity linking: which catalog entry each mentioned product is (or NIL: not in the catalog).

The same task serves Ditto-style record matching: a pair doc (`doc._.meta["pair"]`)
holds the left record as text with one entity, the right record in its meta, and
the entity's `kb_id_` is `MATCH` or NIL. The scorer sees which kind it has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from spacy.tokens import Doc, Span

from distill.doc import get_confidence, set_confidence
from distill.registry import register_task
from distill.spec import Scores, TaskSpec, span_scores

NIL = None
MATCH = "MATCH"


class Link(BaseModel):
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    kb_id: str | None = Field(description="catalog id, or null when the product is not in it")
    confidence: float | None = None


class Links(BaseModel):
    links: list[Link] = Field(default_factory=list)


class MatchAnswer(BaseModel):
    """What the LLM answers for a record pair."""

    same_product: bool


@cache
def choice_schema(n_candidates: int) -> type[BaseModel]:
    """What the LLM answers for one mention: a candidate number, 0 for none of them."""
    allowed = Literal[tuple(range(n_candidates + 1))]  # type: ignore[valid-type]
    return create_model(f"Choice{n_candidates}", choice=(allowed, ...))


def is_pair(doc: Doc) -> bool:
    return bool((doc._.meta or {}).get("pair"))


@register_task
class LinkerTask(TaskSpec):
    name = "linker"
    description = (
        "Link each product mentioned in a text to its entry in the product catalog "
        "(or null when the catalog does not have it)."
    )
    output_schema = Links
    prompt = "linker"
    default_backend = "match"
    """Links against the configured catalog with no training; `trained` and `prompt` too."""
    trainer = "distill.plugins.linker.train"

    def read(self, doc: Doc) -> Links:
        return Links(
            links=[
                Link(
                    text=ent.text,
                    start=ent.start_char,
                    end=ent.end_char,
                    kb_id=ent.kb_id_ or NIL,
                    confidence=get_confidence(doc, self.name, ent.start_char, ent.end_char),
                )
                for ent in doc.ents
            ]
        )

    def write(self, doc: Doc, output: BaseModel) -> None:
        """Replace the links: a mention `output` does not mention is left unlinked (NIL),
        and so is one it leaves NIL, unless it is a short form of a product linked in the
        same document: "the X2" beside "the Nebula X2" (its words all in that mention's,
        one a model number) is the same entry, whatever the backend made of "X2" alone."""
        assert isinstance(output, Links)
        by_offsets = {(link.start, link.end): link for link in output.links}
        links = [by_offsets.get((ent.start_char, ent.end_char)) for ent in doc.ents]
        ents = [
            Span(doc, e.start, e.end, label=e.label_, kb_id=(link.kb_id or "") if link else "")
            for e, link in zip(doc.ents, links, strict=True)
        ]
        for i, (ent, link) in enumerate(zip(ents, links, strict=True)):
            same = _same_product(ents, i) if link is not None and not ent.kb_id_ else None
            if same is not None:
                ents[i] = Span(doc, ent.start, ent.end, label=ent.label_, kb_id=ents[same].kb_id_)
                link = links[same]
            if link is not None and link.confidence is not None:
                set_confidence(doc, self.name, ent.start_char, ent.end_char, link.confidence)
        doc.ents = ents

    def score(self, gold: Sequence[Doc], predicted: Sequence[Doc]) -> Scores:
        """Accuracy@1 over gold mentions, NIL counting as an answer like any catalog id.

        Pair docs (Ditto): precision/recall/F1 of the positive (match) class, which is
        what Ditto reports, plus accuracy.
        """
        if gold and all(is_pair(doc) for doc in gold):
            gold_pos = {i for i, d in enumerate(gold) if any(e.kb_id_ for e in d.ents)}
            pred_pos = {i for i, d in enumerate(predicted) if any(e.kb_id_ for e in d.ents)}
            scores = span_scores({(i,) for i in gold_pos}, {(i,) for i in pred_pos}, len(gold))
            agree = sum((i in gold_pos) == (i in pred_pos) for i in range(len(gold)))
            return scores.model_copy(update={"accuracy": agree / len(gold)})
        total = correct = 0
        for gold_doc, predicted_doc in zip(gold, predicted, strict=True):
            predicted_ids = {(e.start_char, e.end_char): e.kb_id_ for e in predicted_doc.ents}
            for ent in gold_doc.ents:
                total += 1
                correct += predicted_ids.get((ent.start_char, ent.end_char)) == ent.kb_id_
        return Scores(n=total, accuracy=correct / total if total else None)

    # the prompt backend's hooks (candidates come from `doc._.meta["candidates"]`)

    def prompt_variables(self, doc: Doc) -> dict[str, Any]:
        meta = doc._.meta or {}
        if is_pair(doc):
            # long descriptions add little and cost a small local model seconds per call
            left, right = render(meta["left"])[:400], render(meta["right"])[:400]
            return {"pair": True, "left": left, "right": right}
        ent = doc.ents[0]
        return {
            "pair": False,
            "text": doc.text,
            "mention": ent.text,
            "candidates": _candidates(doc, ent),
            "candidates_json": json.dumps(_candidates(doc, ent)),
        }

    def llm_schema(self, doc: Doc) -> type[BaseModel]:
        if is_pair(doc):
            return MatchAnswer
        return choice_schema(len(_candidates(doc, doc.ents[0])))

    def from_llm(self, doc: Doc, parsed: Any) -> Links:
        ent = doc.ents[0]
        if isinstance(parsed, MatchAnswer):
            kb_id = MATCH if parsed.same_product else None
        else:
            choice = int(parsed.choice)
            candidates = _candidates(doc, ent)
            if not 0 <= choice <= len(candidates):
                raise ValueError(f"choice {choice} is not 0..{len(candidates)}")
            kb_id = candidates[choice - 1]["id"] if choice else None
        return Links(
            links=[Link(text=ent.text, start=ent.start_char, end=ent.end_char, kb_id=kb_id)]
        )


def _candidates(doc: Doc, ent: Span) -> list[dict[str, str]]:
    found = (doc._.meta or {}).get("candidates", {})
    return list(found.get(f"{ent.start_char}:{ent.end_char}", []))


def render(record: dict[str, str]) -> str:
    """A catalog record as text: `name: … | price: …`, empty attributes left out."""
    return " | ".join(f"{k}: {v}" for k, v in record.items() if v)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _same_product(ents: Sequence[Span], i: int) -> int | None:
    """The index of the linked mention nearest before `ents[i]` (else the first after it)
    whose words include all of its words, when one of them is a model number ("x2" in
    "Nebula X2"; never a brand alone)."""
    words = _words(ents[i].text)
    if not any(any(c.isdigit() for c in w) for w in words):
        return None
    order = [*range(i - 1, -1, -1), *range(i + 1, len(ents))]
    return next((j for j in order if ents[j].kb_id_ and words <= _words(ents[j].text)), None)
