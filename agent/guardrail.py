"""The guardrail: every sentence of an answer is checked before the user sees it.

Claims about how reviewers feel ("most reviewers dislike the X2's battery") are
checked against the graph's opinion counts (`graph_check`); every other sentence
goes to the configured fact-check backend with the evidence it cites (all the
evidence when it cites none). Sentences that only say the data is silent are not
claims and pass. The policy then decides what the user gets: `flag` keeps
unsupported sentences but marks them, `remove` drops them and says so, `refuse`
withholds an answer that has any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from distill.agent.evidence import Evidence
from distill.agent.router import ASPECT_WORDS, INTENT_WORDS
from distill.agent.tools import Ranking
from distill.plugins.factcheck.features import STOPWORDS
from distill.plugins.factcheck.graph import Aggregates, graph_check
from distill.plugins.factcheck.task import Verdict

Policy = Literal["flag", "remove", "refuse"]
Checker = Callable[[Sequence[tuple[str, list[str]]]], list[Verdict]]
"""(claim, evidence texts) pairs in, one verdict per pair out: the fact-check backend."""

FLAG = " [unverified]"
ABSTENTION = re.compile(
    r"^(?:the (?:data|reviews?|documents?|graph|sources?) |i |there (?:is|are) )?"
    r"(?:do(?:es)? not (?:say|mention)|doesn't (?:say|mention)|don't (?:say|mention)"
    r"|no (?:review|reviewer|document|information|data|product|mention)"
    r"|could not find|can't find|cannot find|found nothing|nothing (?:about|on)|not enough)",
    re.IGNORECASE,
)
"""A sentence that only says the sources are silent: it opens with the silence and is
short. A longer sentence that also states facts is checked like any other."""
MAX_ABSTENTION_WORDS = 20
_CONTRAST = re.compile(r"\b(but|however|although|though|yet|while)\b", re.IGNORECASE)
ATTRIBUTION = re.compile(
    r"^(?:(?:one|a|another|several|some|many|most|two|three|the) (?:of the )?"
    r"(?:reviewers?|owners?|users?|customers?|buyers?|reviews?)"
    r"(?: \(?r\d+\)?)? (?:says?|said|notes?|writes?|wrote|mentions?|reports?|complains?"
    r"|thinks?|finds?|feels?|calls?|describes?|adds?)(?: that)?|according to [^,]{1,40},)\s+",
    re.IGNORECASE,
)
""""One reviewer says …": who said it is in the citation; the checker compares what was said."""


_NOT_TERMS = (
    INTENT_WORDS
    | frozenset(
        re.findall(
            r"\S+",
            """enough whether would could yes not does any sure able use used using quite more
            less than then also only still even all every each both such very""",
        )
    )
    | {
        word
        for aspect, phrases in ASPECT_WORDS.items()
        for p in (aspect, *phrases)
        for word in p.split()
    }
) - {"rating", "ratings", "rate", "rated"}
"""Words a sentence may repeat from the question without the evidence using them: the
question's shape ("what do reviewers think"), and the aspect vocabulary, which reviews
say in their own words ("software updates" from "pushed no updates"). A rating is not
shape when the answer states one."""


def _terms(text: str) -> dict[str, str]:
    """stem → word, for the words of `text` that can carry a claim."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", text.lower()))
    return {
        _stem(w): w
        for w in words
        if (len(w) > 2 or (len(w) == 2 and not w.isalpha())) and w not in _NOT_TERMS
    }


def _stem(word: str) -> str:
    for suffix in ("iest", "ier"):  # "easier", "noisiest": the question's "easy", "noisy"
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return word[: -len(suffix)] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def unsupported_terms(
    sentence: str, question: str, evidence: Sequence[str], names: Sequence[str] = ()
) -> list[str]:
    """Words the sentence takes from the question that no evidence uses: the answer
    carries a qualifier of the question the sources never state ("5-star", "in 2025",
    "waterproof", a product no review names). A checker that compares words and numbers
    passes such a sentence when the rest of it is copied from the evidence.

    `names`: the full names of the products the evidence names, often by a short form
    (a review's "the K5 Max" is the question's "Kestrel K5 Max"): their words count as
    used."""
    asked = _terms(question)
    known = _terms(" ".join([*evidence, *names]))
    return [word for stem, word in _terms(sentence).items() if stem in asked and stem not in known]


_SILENCE_WORDS = frozenset(
    re.findall(
        r"\S+",
        """review reviews reviewer reviewers document documents data source sources graph
        mention mentions mentioned say says said information info specific details detail
        product products find found nothing enough any provided given regarding anything
        could cannot can't don't doesn't not none there""",
    )
)


def false_silence(sentence: str, passages: Sequence[str], names: Sequence[str] = ()) -> str | None:
    """The thing a sentence says the sources are silent on, when a passage uses it: "the
    reviews do not mention any software updates" beside a review saying "zero updates
    since launch" is a false statement about the sources, not a harmless abstention.
    The thing is the last content word (English noun phrases end in their head: "the
    camera's zoom" is about zoom, not camera); `names`, product names, are the subject."""
    named = {_stem(w) for n in names for w in re.findall(r"[a-z0-9]+", n.lower())}
    words = re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", sentence.lower()))
    topic = [
        w
        for w in words
        if len(w) > 2 and w not in STOPWORDS and w not in _SILENCE_WORDS
        if _stem(w) not in named
    ]
    if not topic:
        return None
    used = {_stem(w) for text in passages for w in re.findall(r"[a-z0-9]+", text.lower())}
    return topic[-1] if _stem(topic[-1]) in used else None


def claim_of(sentence: str) -> str:
    """The sentence without its attribution, which the evidence never contains."""
    stripped = ATTRIBUTION.sub("", sentence.strip(), count=1)
    return stripped[:1].upper() + stripped[1:] if stripped else sentence


class CheckedSentence(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list, description="evidence numbers (from 1)")
    verdict: Verdict | None = Field(None, description="None: not a factual claim (abstention)")
    kept: bool = True

    @property
    def supported(self) -> bool:
        return self.verdict is None or self.verdict.label == "supported"


_WORST = re.compile(
    r"\b(worst|most (?:complaints|criticism|criticised|criticized|negative))\b", re.I
)
_BEST = re.compile(r"\b(best|most (?:praise|praised|positive|loved))\b", re.I)


def ranking_check(
    sentence: str, rankings: Sequence[Ranking], products_in: Callable[[str], list[str]]
) -> Verdict | None:
    """A "best/worst" claim about a product, against the graph's ranking; None if the
    sentence makes no such claim or no ranking in this turn covers it."""
    direction = "worst" if _WORST.search(sentence) else "best" if _BEST.search(sentence) else None
    named = products_in(sentence) if direction else []
    ranking = next((r for r in rankings if r.order == direction), None)
    if not named or ranking is None or not ranking.products:
        return None
    leaders = ranking.leaders()
    fact = f"{direction} on {ranking.aspect or 'all aspects'}: {', '.join(leaders)}"
    holds = named[0] in leaders
    return Verdict(
        claim=sentence,
        label="supported" if holds else "contradicted",
        confidence=0.9,
        evidence=f"graph ranking, {fact}",
    )


def check_sentences(
    sentences: Sequence[tuple[str, list[int]]],
    evidence: Sequence[Evidence],
    checker: Checker,
    aggregates: Aggregates | None = None,
    rankings: Sequence[Ranking] = (),
    products_in: Callable[[str], list[str]] | None = None,
    repair: bool = False,
    bases: Sequence[str | None] = (),
    question: str = "",
) -> list[CheckedSentence]:
    """Verdicts for (sentence, cited evidence numbers) pairs, in one batch.

    `bases[i]` says how sentence i was made when code, not the model, wrote it (see
    `agent/aggregates.Statement`): stated from graph counts, a catalog entry or a
    verbatim quote, it is true by construction and supported by what it cites; an
    `absence` ("no review mentions …") is not a claim. Model sentences go to the checks.

    `repair`: a sentence its citations do not support is checked against each other
    piece of evidence; if one supports it, that becomes its citation. Small models
    often quote the right passage and cite the wrong number. Worth it when the checker
    is cheap (a trained model), not when every check is an LLM call.

    `question`: a model sentence using a word of the question that no evidence uses is
    not supported, whatever the checker says (`unsupported_terms`; the full names of the
    products the evidence names, `products_in`, or is about, `Evidence.about`, count as
    used). Nor is one citing only opinion counts that the graph checks cannot verify
    (`_reads_counts_only`); with `repair`, a passage that supports it becomes its
    citation. A model sentence saying the sources are silent on something a passage
    mentions is contradicted (`false_silence`).
    """
    checked = [CheckedSentence(text=text, citations=list(cites)) for text, cites in sentences]
    passages = _passage_trigrams(evidence)
    passage_texts = [e.text for e in evidence if e.kind == "passage"]
    named = [n for e in evidence for n in e.about]
    if products_in is not None and question:
        named += [n for e in evidence for n in products_in(e.text)]
    pending: list[tuple[int, str, list[str]]] = []
    reread: list[tuple[int, str]] = []
    for i, sentence in enumerate(checked):
        basis = bases[i] if i < len(bases) else None
        if basis == "absence":
            continue
        if is_abstention(sentence.text):
            said = false_silence(sentence.text, passage_texts, named) if basis is None else None
            if said:
                sentence.verdict = Verdict(
                    claim=sentence.text,
                    label="contradicted",
                    confidence=1.0,
                    evidence=f'a source mentions "{said}"',
                )
            continue
        if basis is not None:
            cited = [evidence[n - 1].text for n in sentence.citations if 0 < n <= len(evidence)]
            sentence.verdict = Verdict(
                claim=sentence.text,
                label="supported",
                confidence=1.0,
                evidence=f"stated from the {basis}: " + " | ".join(cited)[:500],
            )
            continue
        unused = unsupported_terms(sentence.text, question, [e.text for e in evidence], named)
        if unused:
            sentence.verdict = _not_enough(
                sentence.text, "no source uses " + ", ".join(f'"{w}"' for w in unused)
            )
            continue
        restated = _restated(sentence.text, sentence.citations, passages, evidence)
        if restated is not None:
            sentence.citations, sentence.verdict = restated
            continue
        verdict = graph_check(sentence.text, aggregates) if aggregates else None
        if verdict is None and rankings and products_in is not None:
            verdict = ranking_check(sentence.text, rankings, products_in)
        if verdict is not None:
            sentence.verdict = verdict
            continue
        if tallies_unstated(sentence.text, evidence):
            sentence.verdict = _not_enough(
                sentence.text, "a tally of opinions that no count in the sources states"
            )
            continue
        if _reads_counts_only(sentence.citations, evidence):
            sentence.verdict = _not_enough(
                sentence.text, "a reading of opinion counts that the graph checks cannot verify"
            )
            reread.append((i, claim_of(sentence.text)))
            continue
        cited = [evidence[n - 1].text for n in sentence.citations if 0 < n <= len(evidence)]
        pending.append((i, claim_of(sentence.text), cited or [e.text for e in evidence]))
    if pending:
        verdicts = checker([(claim, texts) for _, claim, texts in pending])
        for (i, _, _), verdict in zip(pending, verdicts, strict=True):
            checked[i].verdict = verdict.model_copy(update={"claim": checked[i].text})
    if repair:
        trials = [(i, claim) for i, claim, _ in pending] + reread
        _repair_citations(checked, trials, evidence, checker)
    _sharpen_citations(checked, [i for i, _, _ in pending], passages)
    return checked


def _not_enough(claim: str, why: str) -> Verdict:
    """A model sentence no source can support, by a rule rather than the checker."""
    return Verdict(claim=claim, label="not_enough_info", confidence=1.0, evidence=why)


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return set(zip(words, words[1:], words[2:], strict=False))


RESTATED = 0.7
"""Share of a model sentence's word trigrams found in one passage that makes it a
restatement of that passage."""


def _passage_trigrams(evidence: Sequence[Evidence]) -> dict[int, set[tuple[str, ...]]]:
    """Evidence number -> word trigrams, for the passages (computed once per answer)."""
    return {n: _trigrams(e.text) for n, e in enumerate(evidence, 1) if e.kind == "passage"}


def _restated(
    text: str,
    citations: Sequence[int],
    passages: dict[int, set[tuple[str, ...]]],
    evidence: Sequence[Evidence],
) -> tuple[list[int], Verdict] | None:
    """Supported, citing that passage, when the sentence restates a passage it cites (or
    any passage, citing none): most of its word trigrams are in that passage. A model
    copying the review it read is not hallucinating, and a lexical checker trained where
    long answers were the made-up ones can call such a sentence contradicted. A negation
    or a changed number breaks the trigrams around it, so those still go to the checker."""
    grams = _trigrams(claim_of(text))
    if len(grams) < 3:
        return None
    cited = [n for n in citations if 0 < n <= len(evidence)] or range(1, len(evidence) + 1)
    for n in cited:
        if n in passages and len(grams & passages[n]) >= RESTATED * len(grams):
            verdict = Verdict(
                claim=text,
                label="supported",
                confidence=1.0,
                evidence="restates: " + evidence[n - 1].text[:300],
            )
            return [n], verdict
    return None


def _sharpen_citations(
    checked: list[CheckedSentence],
    indices: Sequence[int],
    passages: dict[int, set[tuple[str, ...]]],
) -> None:
    """A supported model sentence that repeats a passage's words cites that passage.

    Small models write from the right passage and cite the wrong number, and a checker
    accepts the wrong one when it is on the same topic ("the battery is weak, three and
    a half hours before the left one beeps" citing another battery review). Word trigrams
    shared with the sentence decide: a passage sharing at least two, and twice as many as
    every passage cited, becomes the citation."""
    for i in indices:
        sentence = checked[i]
        if not sentence.supported or not passages:
            continue
        grams = _trigrams(claim_of(sentence.text))
        shared = {n: len(grams & passage) for n, passage in passages.items()}
        best = max(shared, key=lambda n: shared[n])
        cited = max((shared.get(n, 0) for n in sentence.citations), default=0)
        if (
            shared[best] >= 2
            and shared[best] >= 2 * max(cited, 1)
            and best not in sentence.citations
        ):
            sentence.citations = [best]


COUNTING_TOOLS = frozenset({"review_summary", "product_opinions", "count_reviews"})
"""Tools whose graph facts (opinion and review counts) code states as sentences itself."""


_TALLY = re.compile(
    r"\b(?:reviews?|opinions?|ratings?|feedback|comments?)\s+(?:are|is|were|was)\s+"
    r"(?:\w+\s+){0,2}(?:positive|negative|mixed)\b"
    r"|\b(?:\d+|no|one|two|three|four|five|a few|several|many|most|all|more|fewer|less)\s+"
    r"(?:\w+\s+)?"
    r"(?:positive|negative|favou?rable|unfavou?rable)\s+(?:reviews?|opinions?|ratings?|comments?)"
    r"|\boverwhelming(?:ly)?\s+(?:positive|negative|praise|criticism)",
    re.IGNORECASE,
)


def tallies_unstated(sentence: str, evidence: Sequence[Evidence]) -> bool:
    """A model sentence telling how many opinions are positive or negative ("only one
    positive review", "overwhelmingly negative") with a number no graph count in the
    evidence has, or none at all. Found on MP3-player reviews: "The reviews are
    overwhelmingly negative, with only one positive review", beside a count of 3
    positive and 7 negative, passed the checker on a quoted passage; on camera reviews,
    "better than the Canon PowerShot, with more positive reviews and fewer negative
    reviews", a product no review rates."""
    if not _TALLY.search(sentence):
        return False
    numbers = re.findall(r"\b\d+\b", sentence)
    counts = " ".join(e.text for e in evidence if e.kind == "graph")
    return not numbers or any(not re.search(rf"\b{n}\b", counts) for n in numbers)


def _reads_counts_only(citations: Sequence[int], evidence: Sequence[Evidence]) -> bool:
    """A model sentence citing only opinion counts adds nothing but its reading of them:
    the counts are stated by code beside it, and what the model makes of them ("better",
    "a 198 rating") is what a lexical checker cannot judge, as every number is in the
    evidence. Graph rows the model was given to read (Cypher, plugin facts) are not this."""
    cited = [evidence[n - 1] for n in citations if 0 < n <= len(evidence)]
    return bool(cited) and all(e.kind == "graph" and e.tool in COUNTING_TOOLS for e in cited)


def _repair_citations(
    checked: list[CheckedSentence],
    pending: list[tuple[int, str]],
    evidence: Sequence[Evidence],
    checker: Checker,
) -> None:
    trials = [
        (i, n, claim)
        for i, claim in pending
        if not checked[i].supported
        for n in range(1, len(evidence) + 1)
        if n not in checked[i].citations and not _reads_counts_only([n], evidence)
    ]
    if not trials:
        return
    verdicts = checker([(claim, [evidence[n - 1].text]) for _, n, claim in trials])
    best: dict[int, tuple[int, Verdict]] = {}
    for (i, n, _), verdict in zip(trials, verdicts, strict=True):
        if verdict.label == "supported" and (
            i not in best or verdict.confidence > best[i][1].confidence
        ):
            best[i] = (n, verdict)
    for i, (n, verdict) in best.items():
        checked[i].citations = [n]
        checked[i].verdict = verdict.model_copy(update={"claim": checked[i].text})


def is_abstention(text: str) -> bool:
    text = text.strip()
    return (
        bool(ABSTENTION.search(text))
        and len(text.split()) <= MAX_ABSTENTION_WORDS
        and not _CONTRAST.search(text)
        and ";" not in text  # "no review … ; the X has …" goes on to state a fact
    )


def apply_policy(sentences: list[CheckedSentence], policy: Policy) -> tuple[str, int, bool]:
    """The answer text the user sees, how many sentences were removed, and if it refused.

    A sentence the checker calls *contradicted* is never shown as fact, under any policy:
    it is dropped and the answer says so. `flag` keeps only sentences that are merely not
    verified, marked; `remove` drops those too; `refuse` refuses when anything failed.
    """
    unsupported = [s for s in sentences if not s.supported]
    contradicted = [s for s in unsupported if s.verdict and s.verdict.label == "contradicted"]
    if policy == "refuse" and unsupported:
        for sentence in sentences:
            sentence.kept = False
        return (
            "I can't give a reliable answer: the sources do not support "
            f"{len(unsupported)} of the {len(sentences)} statements I drafted.",
            len(sentences),
            True,
        )
    dropped = unsupported if policy == "remove" else contradicted
    for sentence in dropped:
        sentence.kept = False
    kept = [s.text + ("" if s.supported else FLAG) for s in sentences if s.kept]
    if not kept:
        return "I could not verify an answer in the sources.", len(dropped), False
    return " ".join(kept) + _removal_note(len(dropped), len(contradicted)), len(dropped), False


def _removal_note(dropped: int, contradicted: int) -> str:
    if not dropped:
        return ""
    what = "the sources contradict" if dropped == contradicted else "the sources do not support"
    if contradicted and dropped != contradicted:
        what += f" ({contradicted} contradicted)"
    return f" ({dropped} statement{'s' * (dropped != 1)} removed: {what} them.)"
