"""The fact-checker's data: HaluEval splits, the demo claims, the LLM-taught claims.

Shared by `benchmarks/factcheck_bench.py` (which trains the shipped model and writes
the BENCHMARKS.md rows) and its tests. Every split is carved by record or review,
never by sentence:

- HaluEval qa / dialogue (`<variant>_data.first20pct.json`, the shared 20%): by record
  in file order, both answers of a record on one side: the last 20% of records test,
  the 10% before them dev, the rest train.
- qa, length-matched: HaluEval qa's right answers are short spans ("Delhi") and its
  hallucinated ones whole sentences, so length alone nearly separates them. The
  length-matched subset (`corpora.halueval.length_matched`) keeps, per answer length in
  words (1, 2, 3, 4, 5-6, 7-9, 10+), as many right as hallucinated answers, so length
  carries no information there. qa is tested (and tuned) on such subsets; for training,
  `length_balance_weights` keeps every answer and weighs them so that, per length
  bucket, both labels weigh the same (`factcheck_bench train --qa matched`: the subset).
- Demo claims: `examples/demo/claims.py` on reviews r01–r36 (train; 15% of their
  sources dev) and r37–r48 (held out).
- Taught claims: `plugins/factcheck/teach.py` over sentences of demo reviews r01–r36
  and of Hu & Liu `Nokia 6610.txt` (the one Hu & Liu file we develop on).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from spacy.tokens import Doc


def halueval_split(path: Path) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """(train, dev, test) by record: last 20% of records test, the 10% before them dev."""
    from distill.corpora import halueval

    return halueval.split_by_record(list(halueval.read(path)))


def length_matched(docs: Sequence[Doc], seed: int = 0) -> list[Doc]:
    from distill.corpora import halueval

    return halueval.length_matched(docs, seed)


def length_balance_weights(docs: Sequence[Doc], scale: float = 1.0) -> list[Doc]:
    """All the docs, each weighted (`doc._.meta["weight"]`) so that within every answer-length
    bucket both labels carry the same total weight (the minority label's docs weigh
    `scale`, the majority's less): length carries no information, as on the
    length-matched subset, but every answer is seen (qa's 2,800 train answers, not 300)."""
    from collections import Counter

    from distill.corpora.halueval import length_bucket

    def key(doc: Doc) -> tuple[int, bool]:
        supported = all(v.label == "supported" for v in doc._.verdicts or [])
        return length_bucket(str((doc._.meta or {}).get("claims", [doc.text])[0])), supported

    counts = Counter(key(d) for d in docs)
    out = []
    for doc in docs:
        bucket, supported = key(doc)
        other = counts[(bucket, not supported)]
        share = min(1.0, other / counts[(bucket, supported)])
        if share > 0:  # a bucket with one label only teaches length: left out
            doc._.meta["weight"] = scale * share
            out.append(doc)
    return out


def demo_split(seed: int = 0) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """Demo claims (train, dev, held-out): dev is 15% of the r01–r36 *sources* (a faithful
    claim and every claim altered from it stay together), held-out is r37–r48."""
    from distill.demo.claims import claim_docs
    from distill.demo.run import HELD_OUT

    docs = claim_docs(seed=seed)
    sources = sorted({(d._.meta or {}).get("source", "") for d in docs})
    dev_sources = set(random.Random(seed).sample(sources, int(len(sources) * 0.15)))
    train = [d for d in docs if d._.meta.get("source") not in dev_sources]
    dev = [d for d in docs if d._.meta.get("source") in dev_sources]
    return train, dev, claim_docs(HELD_OUT, seed=seed)


# what the LLM teaches from

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def teaching_items(data_dir: Path, seed: int = 0) -> list[tuple[str, str, str]]:
    """(sentence, evidence, source) to rewrite: demo r01–r36 and Nokia 6610 sentences,
    interleaved in a fixed shuffled order, 6–40 words each."""
    from distill.corpora import huliu
    from distill.demo.claims import load_reviews
    from distill.demo.run import HELD_OUT

    demo = [
        (s, s, f"{r.id}:{n}")
        for r in load_reviews()
        if r.id not in HELD_OUT
        for n, s in enumerate(_SENTENCE.split(r.text))
    ]
    path = data_dir / "phone_catalog_reviews" / "hu_liu_customer_reviews" / "Nokia 6610.txt"
    nokia = [(d.text, d.text, f"nokia:{d._.doc_id}") for d in huliu.read(path)]
    rng = random.Random(seed)
    items = []
    for pool in (demo, nokia):
        pool = [i for i in pool if 6 <= len(i[0].split()) <= 40]
        rng.shuffle(pool)
        items.append(pool)
    mixed = [x for pair in zip(*items, strict=False) for x in pair]
    longer = max(items, key=len)
    return mixed + longer[len(mixed) // 2 :]


def taught_docs(path: Path) -> list[Doc]:
    """Gold docs from the kept records of a teach run (the judge's label)."""
    from distill.doc import make_doc
    from distill.plugins.factcheck.task import Verdict
    from distill.plugins.factcheck.teach import read_taught

    docs = []
    for n, record in enumerate(r for r in read_taught(path) if r.kept and r.judge):
        doc = make_doc(
            record.claim,
            f"taught-{n:04d}",
            meta={"evidence": record.evidence, "claims": [record.claim], "source": record.source},
        )
        doc._.verdicts = [Verdict(claim=record.claim, label=record.judge, confidence=1.0)]
        docs.append(doc)
    return docs
