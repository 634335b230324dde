"""Carry a reviewer's corrections over to the teacher's unreviewed annotations.

Why: a teacher's mistakes are systematic, so the sample a person reviewed says how to fix
the rest. GPT-3.5's zero-shot r/cooking labels call a "blender" or a "dishwasher" a DISH
and leave most plain ingredients ("rice", "butter", "olive oil") unmarked; the reviewed
posts label them. Every surface form the reviewer labelled (case-insensitive, whole
tokens) gets the reviewer's label wherever the teacher marked it, and is added where the
teacher left it unmarked; the teacher's other spans stay. On r/cooking, with the lexicon
of four fifths of the reviewed posts, the GPT-3.5 labels of the fifth score F1 0.611
against the review instead of 0.527 (5 folds by post; `benchmarks/nlp_bench.py`).

Reviewed documents themselves are never changed: they are the truth this learns from.

The lexicon also ships with the student (`reviewed_forms.json` in its model directory,
written by `distill train ner --teacher`), and the trained backend applies it to the
student's own predictions the same way: a form the reviewer labelled keeps the reviewer's
label at run time too. r/cooking, five folds (the training folds' lexicon, the held-out
fold scored): 0.595 -> 0.612 F1, higher on every fold.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from distill.doc import tokenizer
from distill.errors import ConfigError


def surface(span: Span) -> str:
    """A span's form as the lexicon keys it: lower case, single spaces."""
    return " ".join(span.text.lower().split())


def reviewed_lexicon(reviewed: Iterable[Doc]) -> dict[str, str]:
    """Each form the reviewer labelled -> the label they gave it most often."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in reviewed:
        for ent in doc.ents:
            votes[surface(ent)][ent.label_] += 1
    return {form: counts.most_common(1)[0][0] for form, counts in votes.items()}


class TeacherCorrector:
    """Applies one reviewed lexicon to teacher-labelled Docs (a new Doc each), or to a
    student's spans (`spans`)."""

    def __init__(self, lexicon: dict[str, str]) -> None:
        self.lexicon = lexicon
        self.matcher = PhraseMatcher(tokenizer().vocab, attr="LOWER")
        for form, label in lexicon.items():
            self.matcher.add(label, [tokenizer().make_doc(form)])

    def spans(self, doc: Doc, found: Iterable[Span]) -> list[Span]:
        """`found` (spans of `doc`, not overlapping) relabelled where the reviewer labelled
        their form, plus the reviewed forms nobody marked, in text order."""
        kept = [
            Span(doc, e.start, e.end, label=self.lexicon.get(surface(e), e.label_), kb_id=e.kb_id)
            for e in found
        ]
        taken = {i for span in kept for i in range(span.start, span.end)}
        added = [
            span
            for span in self.matcher(doc, as_spans=True)
            if not taken.intersection(range(span.start, span.end))
        ]
        # the longest reviewed form wins where matches overlap ("olive oil" over "oil")
        return sorted(kept + filter_spans(added), key=lambda s: s.start)

    def __call__(self, doc: Doc) -> Doc:
        fixed = doc.copy()
        fixed.ents = self.spans(fixed, fixed.ents)
        return fixed


FORMS_FILE = "reviewed_forms.json"
"""The reviewed lexicon in a student's model directory: applied to its predictions."""


def save_forms(model_dir: Path, lexicon: dict[str, str]) -> None:
    (model_dir / FORMS_FILE).write_text(
        json.dumps(dict(sorted(lexicon.items())), indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def load_forms(model_dir: Path) -> TeacherCorrector | None:
    """The corrector of a model trained with reviewed forms, or None."""
    path = model_dir / FORMS_FILE
    if not path.is_file():
        return None
    try:
        lexicon = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON object of form -> label ({exc})") from exc
    if not isinstance(lexicon, dict) or not all(isinstance(v, str) for v in lexicon.values()):
        raise ConfigError(f"{path}: expected a JSON object of form -> label")
    return TeacherCorrector(lexicon)


REVIEWED_WEIGHT = 2
"""Times each reviewed Doc is trained on beside the teacher's: a person's labels are worth
more than the teacher's, and the reviewed posts are the few (r/cooking: 106 reviewed posts
against 323 teacher posts a fold; five folds 0.628 -> 0.657 F1 with 2 instead of 1)."""


def correct_teacher(
    teacher: Sequence[Doc], reviewed: Sequence[Doc], weight: int = REVIEWED_WEIGHT
) -> list[Doc]:
    """The reviewed Docs `weight` times, then the teacher's Docs not among them (same
    text), corrected by the reviewed lexicon: what `distill train ner --teacher` trains on."""
    texts = {doc.text for doc in reviewed}
    fix = TeacherCorrector(reviewed_lexicon(reviewed))
    return [*reviewed * weight, *(fix(doc) for doc in teacher if doc.text not in texts)]
