"""HaluEval JSONL (qa, dialogue, general): one gold `Doc` per answer to check.

qa and dialogue records hold a right and a hallucinated answer; both become docs,
so the set is balanced as in the paper. general records hold one ChatGPT response
labelled by people (`hallucination`: yes/no). HaluEval labels whole answers, so
the answer is the one claim (`doc._.meta["claims"]`), its knowledge the evidence,
and `answer_level` tells the scorer to count answers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from distill.corpora.errors import CorpusError
from distill.corpora.lines import json_records
from distill.doc import make_doc

VARIANTS: dict[str, tuple[str, str, str, str]] = {
    # variant: (knowledge key, question key, right key, hallucinated key)
    "qa": ("knowledge", "question", "right_answer", "hallucinated_answer"),
    "dialogue": ("knowledge", "dialogue_history", "right_response", "hallucinated_response"),
}


def variant_of(record: dict[str, Any]) -> str | None:
    for name, keys in VARIANTS.items():
        if all(k in record for k in keys):
            return name
    if {"user_query", "chatgpt_response", "hallucination"} <= record.keys():
        return "general"
    return None


def answer_doc(
    answer: str,
    evidence: list[str],
    question: str,
    hallucinated: bool | None,
    doc_id: str,
    variant: str,
) -> Doc:
    from distill.plugins.factcheck.task import Verdict

    meta = {
        "evidence": evidence,
        "question": question,
        "claims": [answer],
        "answer_level": True,
        "variant": variant,
    }
    doc = make_doc(answer, doc_id=doc_id, meta=meta)
    if hallucinated is not None:
        label = "contradicted" if hallucinated else "supported"
        doc._.verdicts = [Verdict(claim=answer, label=label, confidence=1.0)]
    return doc


def read(path: Path) -> Iterator[Doc]:
    for number, record in json_records(path):
        variant = variant_of(record) if isinstance(record, dict) else None
        if variant is None:
            raise CorpusError(
                path,
                "not a HaluEval record: expected qa (knowledge, question, right_answer, "
                "hallucinated_answer), dialogue (knowledge, dialogue_history, right_response, "
                "hallucinated_response) or general (user_query, chatgpt_response, "
                "hallucination)",
                number,
            )
        yield from _docs(path, number, record, variant)


def _docs(path: Path, number: int, record: dict[str, Any], variant: str) -> Iterator[Doc]:
    if variant == "general":
        flag = str(record["hallucination"]).strip().lower()
        if flag not in {"yes", "no"}:
            raise CorpusError(path, f'"hallucination" must be yes or no, got {flag!r}', number)
        yield answer_doc(
            str(record["chatgpt_response"]),
            [],
            str(record["user_query"]),
            flag == "yes",
            f"{path.stem}:{number}",
            variant,
        )
        return
    knowledge, question, right, wrong = (record[k] for k in VARIANTS[variant])
    if not all(isinstance(v, str) for v in (knowledge, question, right, wrong)):
        raise CorpusError(path, "knowledge, question and answers must be strings", number)
    yield answer_doc(right, [knowledge], question, False, f"{path.stem}:{number}:right", variant)
    yield answer_doc(
        wrong, [knowledge], question, True, f"{path.stem}:{number}:hallucinated", variant
    )


# splits: HaluEval has no official one


def split_by_record(docs: Sequence[Doc]) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """(train, dev, test) of qa or dialogue docs (two per record, in file order), by
    record: the last 20% of records test, the 10% before them dev, the rest train."""
    records = len(docs) // 2
    test_from = int(records * 0.8) * 2
    dev_from = int(records * 0.7) * 2
    return list(docs[:dev_from]), list(docs[dev_from:test_from]), list(docs[test_from:])


LENGTH_BUCKETS = (1, 2, 3, 4, 6, 9)
"""Upper bounds (words) of the answer-length buckets; longer answers share the last one."""


def length_bucket(answer: str) -> int:
    words = len(answer.split())
    return next((i for i, top in enumerate(LENGTH_BUCKETS) if words <= top), len(LENGTH_BUCKETS))


def _answer_and_label(doc: Doc) -> tuple[str, bool]:
    answer = str(((doc._.meta or {}).get("claims") or [doc.text])[0])
    return answer, all(v.label == "supported" for v in doc._.verdicts or [])


def length_matched(docs: Sequence[Doc], seed: int = 0) -> list[Doc]:
    """As many right as hallucinated answers in every length bucket (file order kept).

    In qa the right answers are short spans ("Delhi") and the hallucinated ones whole
    sentences, so answer length alone nearly separates them; on this subset it cannot.
    """
    groups: dict[tuple[int, bool], list[int]] = defaultdict(list)
    for i, doc in enumerate(docs):
        answer, supported = _answer_and_label(doc)
        groups[(length_bucket(answer), supported)].append(i)
    rng = random.Random(seed)
    keep: set[int] = set()
    for bucket in sorted({b for b, _ in groups}):
        right, wrong = groups[(bucket, True)], groups[(bucket, False)]
        n = min(len(right), len(wrong))
        keep |= set(rng.sample(right, n)) | set(rng.sample(wrong, n))
    return [doc for i, doc in enumerate(docs) if i in keep]
