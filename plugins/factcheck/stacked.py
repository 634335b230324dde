"""The stacked fact-checker: the lexical checker and the cross-encoder, combined.

The lexical checker (`model.py`) is strong where the hallucination brings in words the
evidence lacks (HaluEval qa); the cross-encoder (`nli.py`) reads claim and evidence
together and can see a flipped polarity or a paraphrase. A logistic regression over
their outputs decides: the lexical p(not supported), the cross-encoder's
supported-vs-not and contradicted-vs-unverifiable log-odds, each also times "a question
was given" (HaluEval's answers and dialogue turns behave unlike bare claims). It has
seven weights, so it is fitted on dev (the two models' train-set outputs are
over-confident), balanced over the dev groups (each HaluEval variant, the claim-level
docs); the threshold on its probability is tuned there too, and `dev_cv` reports the
same fit scored out of fold (5 folds by record), the honest dev figure.

A model directory holds `lexical/`, `nli/` (the cross-encoder's trained layers) and
`stack.json` (weights, threshold).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distill.plugins.factcheck.model import Check, FactCheckModel
from distill.plugins.factcheck.task import Label, Verdict

STACK = "stack.json"
LEXICAL = "lexical"
NLI = "nli"
FEATURES = (
    "lexical_logit",
    "nli_supported_logit",
    "nli_contradicted_logit",
    "question",
    "question_x_lexical",
    "question_x_supported",
    "question_x_contradicted",
)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def stack_features(lexical: np.ndarray, nli: np.ndarray, question: np.ndarray) -> np.ndarray:
    """Rows in FEATURES order from the lexical p(not supported), the cross-encoder's
    (N, 3) probabilities (supported, contradicted, not_enough_info) and 0/1 question flags."""
    log_p = np.log(np.clip(np.asarray(nli, dtype=np.float64), 1e-6, 1.0)).reshape(-1, 3)
    supported = log_p[:, 0] - np.logaddexp(log_p[:, 1], log_p[:, 2])
    contradicted = log_p[:, 1] - log_p[:, 2]
    lex = _logit(np.asarray(lexical, dtype=np.float64))
    q = np.asarray(question, dtype=np.float64)
    return np.column_stack(
        [lex, supported, contradicted, q, q * lex, q * supported, q * contradicted]
    )


def label_of(p_not: float, nli: np.ndarray, threshold: float) -> tuple[Label, float]:
    """Supported below the threshold, else the cross-encoder's likelier not-supported label;
    the confidence is the probability of what the label says."""
    if p_not < threshold:
        return "supported", 1.0 - p_not
    return ("contradicted" if nli[1] >= nli[2] else "not_enough_info"), p_not


@dataclass
class StackedModel:
    lexical: FactCheckModel
    nli: Any  # nli.NliModel (torch is imported only when a stacked model is loaded)
    coef: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    intercept: float = 0.0
    threshold: float = 0.5

    def parts(self, checks: Sequence[Check]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lexical p(not supported), cross-encoder probabilities, question flags)."""
        if not checks:
            return np.zeros(0), np.zeros((0, 3)), np.zeros(0)
        lexical = self.lexical.probabilities(checks)[0]
        nli = self.nli.probabilities(checks)
        question = np.asarray([float(bool(c.question.strip())) for c in checks])
        return lexical, nli, question

    def combine(self, lexical: np.ndarray, nli: np.ndarray, question: np.ndarray) -> np.ndarray:
        """p(not supported) from the parts."""
        z = stack_features(lexical, nli, question) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def verdicts(self, checks: Sequence[Check]) -> list[Verdict]:
        from distill.plugins.factcheck.model import best_evidence

        lexical, nli, question = self.parts(checks)
        p_not = self.combine(lexical, nli, question)
        out = []
        for check, p, probs in zip(checks, p_not, nli, strict=True):
            label, confidence = label_of(float(p), probs, self.threshold)
            index, span = best_evidence(check.claim, check.evidence)
            out.append(
                Verdict(
                    claim=check.claim,
                    label=label,
                    confidence=round(float(confidence), 4),
                    evidence=span,
                    evidence_index=index,
                )
            )
        return out

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.lexical.save(directory / LEXICAL)
        self.nli.save(directory / NLI)
        info = {
            "features": list(FEATURES),
            "coef": [round(float(c), 6) for c in self.coef],
            "intercept": round(float(self.intercept), 6),
            "threshold": self.threshold,
        }
        (directory / STACK).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> StackedModel:
        from distill.plugins.factcheck.nli import NliModel

        info = json.loads((directory / STACK).read_text(encoding="utf-8"))
        return cls(
            lexical=FactCheckModel.load(directory / LEXICAL),
            nli=NliModel.load(directory / NLI),
            coef=list(info["coef"]),
            intercept=float(info["intercept"]),
            threshold=float(info["threshold"]),
        )


# fitting on dev


@dataclass
class DevSet:
    """What the combiner is fitted and scored on: one row per dev check."""

    gold: list[Label]
    group: list[str]  # "qa", "dialogue", "claims": scored apart, averaged
    doc: list[int]  # the doc a check belongs to (answer-level docs: any claim decides)
    answer_level: list[bool]
    record: list[str]  # folds keep a record's (or a claim source's) checks together


def dev_set(docs: Sequence[Any]) -> tuple[list[Check], DevSet]:
    from distill.plugins.factcheck.claims import evidence_of, question_of

    checks: list[Check] = []
    rows = DevSet([], [], [], [], [])
    for d, doc in enumerate(docs):
        meta = doc._.meta or {}
        answer_level = bool(meta.get("answer_level"))
        group = str(meta.get("variant", "claims")) if answer_level else "claims"
        doc_id = str(doc._.doc_id or d)
        record = str(meta.get("source") or doc_id.rsplit(":", 1)[0])
        for verdict in doc._.verdicts or []:
            checks.append(Check(verdict.claim, evidence_of(doc), question_of(doc)))
            rows.gold.append(verdict.label)
            rows.group.append(group)
            rows.doc.append(d)
            rows.answer_level.append(answer_level)
            rows.record.append(record)
    return checks, rows


def group_scores(
    dev: DevSet,
    p_not: np.ndarray,
    nli: np.ndarray,
    threshold: float,
    rows: np.ndarray | None = None,
) -> dict[str, float]:
    """Accuracy per group as the task scores it (answer-level: hallucinated or not per doc;
    claims: the three labels), `accuracy` their mean, `claims_binary` supported-vs-not."""
    rows = np.arange(len(dev.gold)) if rows is None else rows
    predicted = {i: label_of(float(p_not[i]), nli[i], threshold)[0] for i in rows}
    docs: dict[int, tuple[str, bool, bool]] = {}  # doc -> group, gold bad, predicted bad
    hits: dict[str, list[bool]] = {}
    binary: list[bool] = []
    for i in rows:
        gold, pred = dev.gold[i], predicted[i]
        if dev.answer_level[i]:
            group, g, p = docs.get(dev.doc[i], (dev.group[i], False, False))
            docs[dev.doc[i]] = (group, g or gold != "supported", p or pred != "supported")
        else:
            hits.setdefault("claims", []).append(gold == pred)
            binary.append((gold == "supported") == (pred == "supported"))
    for group, g, p in docs.values():
        hits.setdefault(group, []).append(g == p)
    scores = {name: round(float(np.mean(v)), 4) for name, v in sorted(hits.items())}
    out = {"accuracy": round(float(np.mean(list(scores.values()))), 4), **scores}
    if binary:
        out["claims_binary"] = round(float(np.mean(binary)), 4)
    return out


def fit_combiner(features: np.ndarray, dev: DevSet, rows: np.ndarray) -> tuple[list[float], float]:
    """Logistic regression on the rows, each dev group weighing the same in total."""
    from sklearn.linear_model import LogisticRegression

    groups = np.asarray(dev.group)[rows]
    sizes = {g: int((groups == g).sum()) for g in set(groups.tolist())}
    weights = np.asarray([len(rows) / (len(sizes) * sizes[g]) for g in groups])
    y = np.asarray([dev.gold[i] != "supported" for i in rows], dtype=int)
    if len(set(y.tolist())) < 2:
        return [0.0] * features.shape[1], 0.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit(features[rows], y, sample_weight=weights)
    return model.coef_[0].tolist(), float(model.intercept_[0])


def best_threshold(
    dev: DevSet, p_not: np.ndarray, nli: np.ndarray, rows: np.ndarray | None = None
) -> tuple[float, dict[str, float]]:
    best: tuple[float, dict[str, float]] = (0.5, {"accuracy": -1.0})
    for threshold in np.arange(0.2, 0.81, 0.025):
        scores = group_scores(dev, p_not, nli, float(threshold), rows)
        if scores["accuracy"] > best[1]["accuracy"]:
            best = (round(float(threshold), 3), scores)
    return best


def fit_stack(model: StackedModel, dev_docs: Sequence[Any], folds: int = 5) -> dict[str, Any]:
    """Fit the combiner and its threshold on all of dev (in place); return the dev scores
    and the same procedure's out-of-fold scores (`dev_cv`)."""
    checks, dev = dev_set(dev_docs)
    lexical, nli, question = model.parts(checks)
    x = stack_features(lexical, nli, question)
    everything = np.arange(len(checks))
    model.coef, model.intercept = fit_combiner(x, dev, everything)
    model.threshold, scores = best_threshold(dev, model.combine(lexical, nli, question), nli)
    # out of fold: combiner and threshold fitted on 4/5 of the records, scored on the rest
    records = sorted(set(dev.record))
    fold_of = {r: n % folds for n, r in enumerate(np.random.default_rng(0).permutation(records))}
    p_cv = np.zeros(len(checks))
    for fold in range(folds):
        held = np.asarray([fold_of[r] == fold for r in dev.record])
        if not held.any() or held.all():
            continue
        coef, intercept = fit_combiner(x, dev, everything[~held])
        part = StackedModel(model.lexical, model.nli, coef, intercept)
        fitted = part.combine(lexical, nli, question)
        threshold, _ = best_threshold(dev, fitted, nli, everything[~held])
        # shift so that one threshold (0.5) applies to every fold's held-out rows
        p_cv[held] = _shift(fitted[held], threshold)
    cv = group_scores(dev, p_cv, nli, 0.5)
    return {"dev": scores, "dev_cv": cv, "threshold": model.threshold}


def _shift(p: np.ndarray, threshold: float) -> np.ndarray:
    """Probabilities moved so that `threshold` becomes 0.5 (same order, same decisions)."""
    return 1.0 / (1.0 + np.exp(-(_logit(p) - _logit(np.asarray(threshold)))))
