"""Graph-grounded checks: claims about what reviewers think of a product's aspect.

"Most reviewers hate the Nebula's battery" is checked against the graph's
aggregate opinion counts, not against passages. The graph is reached through a
callable `(product, aspect) -> {"positive": n, "negative": m, ...}` (or None when
the graph does not know the pair), so this module does not depend on the graph
package's internals. Claims the rules do not parse return None: not a graph claim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from distill.plugins.factcheck.task import Verdict

Aggregates = Callable[[str, str], Mapping[str, int] | None]

_NEGATIVE = (
    r"hate|hates|dislike|dislikes|complain about|complains about|are disappointed by|criticize"
)
_POSITIVE = r"love|loves|like|likes|praise|praises|are happy with|enjoy|enjoys"
_QUANTIFIER = r"most|many|all|nearly all|almost all|the majority of|few|hardly any|no|some"
_CLAIM = re.compile(
    rf"^\s*(?P<q>{_QUANTIFIER})\s+(?:of\s+the\s+)?(?:reviewers|users|customers|owners|people|buyers)\s+"
    rf"(?P<verb>{_NEGATIVE}|{_POSITIVE})\s+(?:the\s+)?(?P<product>.+?)(?:'s|’s)\s+(?P<aspect>[\w\s-]+?)\s*[.!]?\s*$",
    re.IGNORECASE,
)
_OF_FORM = re.compile(
    rf"^\s*(?P<q>{_QUANTIFIER})\s+(?:of\s+the\s+)?(?:reviewers|users|customers|owners|people|buyers)\s+"
    rf"(?P<verb>{_NEGATIVE}|{_POSITIVE})\s+the\s+(?P<aspect>[\w\s-]+?)\s+of\s+(?:the\s+)?(?P<product>.+?)\s*[.!]?\s*$",
    re.IGNORECASE,
)


def parse_claim(claim: str) -> tuple[str, str, str, str] | None:
    """(quantifier, polarity, product, aspect), or None when the rules do not apply."""
    match = _CLAIM.match(claim) or _OF_FORM.match(claim)
    if match is None:
        return None
    polarity = "negative" if re.fullmatch(_NEGATIVE, match["verb"], re.IGNORECASE) else "positive"
    return match["q"].lower(), polarity, match["product"].strip(), match["aspect"].strip().lower()


def _holds(quantifier: str, share: float) -> bool:
    """Whether `share` of opinions with the claimed polarity satisfies the quantifier."""
    if quantifier in {"all", "nearly all", "almost all"}:
        return share >= 0.9 if quantifier != "all" else share == 1.0
    if quantifier in {"most", "the majority of"}:
        return share > 0.5
    if quantifier in {"many", "some"}:
        return share >= 0.2 if quantifier == "many" else share > 0
    if quantifier in {"few", "hardly any"}:
        return share < 0.2
    return share == 0  # "no"


def graph_check(claim: str, aggregates: Aggregates, min_opinions: int = 3) -> Verdict | None:
    """Compare a parsed claim with the graph's counts; None when the claim is no graph claim."""
    parsed = parse_claim(claim)
    if parsed is None:
        return None
    quantifier, polarity, product, aspect = parsed
    counts = aggregates(product, aspect) or {}
    total = sum(counts.values())
    fact = (
        f"{product} / {aspect}: "
        + ", ".join(f"{n} {p}" for p, n in sorted(counts.items()))
        + f" ({total} opinions)"
    )
    if total < min_opinions:
        return Verdict(claim=claim, label="not_enough_info", confidence=0.9, evidence=fact)
    share = counts.get(polarity, 0) / total
    holds = _holds(quantifier, share)
    margin = min(1.0, abs(share - 0.5) * 2) if quantifier in {"most", "the majority of"} else 0.8
    return Verdict(
        claim=claim,
        label="supported" if holds else "contradicted",
        confidence=round(0.5 + margin / 2, 4),
        evidence=fact,
    )
