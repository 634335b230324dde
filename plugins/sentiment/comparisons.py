"""Comparison sentences for training: "the battery lasts longer than my old phone".

Reviews compare all the time, and the shipped model read comparisons by their words
rather than their direction: "the battery lasts longer than my friend's ipod", "the
pictures are sharper than my old camera" and "it costs $50 less" came out negative
(BENCHMARKS.md, *Aspect sentiment on real reviews*). Real training data has few of them,
so `comparison_sentences` writes some from templates, for every default aspect: the
reviewed product better or worse than another ("than my old phone", "than I expected"),
the other one better ("my old phone had a better screen": negative for this one), and
the two about the same (neutral). Each sentence teaches its one aspect (the others are
`none`) and, where the aspect is named, its term too. The words are ours, written for
products in general; none comes from an evaluation set.
"""

from __future__ import annotations

import random
import re

from spacy.tokens import Doc

PHRASES: dict[str, list[tuple[str, str, str]]] = {
    # aspect: (term or "" for none, how it is better, how it is worse)
    "battery": [
        ("battery", "lasts longer", "dies faster"),
        ("battery life", "is longer", "is shorter"),
        ("battery", "holds a charge longer", "drains faster"),
    ],
    "screen": [
        ("screen", "is brighter", "is dimmer"),
        ("display", "is sharper", "is harder to read"),
        ("screen", "is bigger and clearer", "is smaller and blurrier"),
    ],
    "camera": [
        ("pictures", "are sharper", "are blurrier"),
        ("camera", "takes better photos", "takes worse photos"),
        ("photos", "come out clearer", "come out grainier"),
        ("zoom", "reaches further", "is weaker"),
    ],
    "sound": [
        ("sound", "is clearer", "is muddier"),
        ("speaker", "is louder", "is quieter"),
        ("bass", "is deeper", "is thinner"),
    ],
    "performance": [
        ("", "runs faster", "runs slower"),
        ("reception", "is stronger", "is weaker"),
        ("apps", "open faster", "load slower"),
    ],
    "design": [
        ("build", "feels sturdier", "feels flimsier"),
        ("body", "feels more solid", "feels cheaper"),
        ("", "is lighter and thinner", "is bulkier"),
    ],
    "keyboard": [
        ("keys", "are easier to press", "are harder to press"),
        ("keyboard", "is more comfortable", "is more cramped"),
    ],
    "software": [
        ("menus", "are easier to use", "are more confusing"),
        ("software", "is more stable", "crashes more often"),
        ("interface", "is simpler", "is clunkier"),
    ],
    "price": [
        ("price", "is lower", "is higher"),
        ("", "costs less", "costs more"),
        ("", "is cheaper", "is pricier"),
    ],
    "support": [
        ("customer service", "is more helpful", "is less helpful"),
        ("support", "answers faster", "takes longer to answer"),
    ],
    "overall": [("", "is better", "is worse"), ("", "works better", "works worse")],
}
OTHERS = [
    "my old phone",
    "my old one",
    "the previous model",
    "my friend's",
    "the one it replaced",
    "my last laptop",
    "my old camera",
    "my old player",
    "most of the competition",
    "the older version",
    "the cheaper model",
]
PLURAL = frozenset({"pictures", "photos", "apps", "keys", "menus"})


def _sentence(rng: random.Random, aspect: str) -> tuple[str, str, str]:
    """(text, polarity, term) of one comparison about `aspect`."""
    term, better, worse = rng.choice(PHRASES[aspect])
    other = rng.choice(OTHERS)
    subject = f"the {term}" if term else "it"
    polarity = rng.choice(("positive", "negative"))
    verb = better if polarity == "positive" else worse
    form = rng.random()
    if form < 0.35:  # this one against another
        text = f"{subject} {verb} than {other if rng.random() < 0.8 else 'I expected'}"
    elif form < 0.5:
        text = f"compared to {other}, {subject} {verb}"
    elif form < 0.65:  # "though": a concession that keeps its polarity
        text = f"{subject} {verb} on this one though"
    elif form < 0.85 and term:  # the other one has the better (or worse) thing
        which = "worse" if polarity == "positive" else "better"
        text = f"{other} had {which if term in PLURAL else 'a ' + which} {term}"
    elif term:  # about the same
        polarity, text = "neutral", f"{subject} is about the same as on {other}"
    else:
        text = f"{subject} {verb} than {other}"
    return text, polarity, term


def comparison_sentences(slots: list[str], count: int, seed: int = 0) -> list[Doc]:
    """`count` comparison sentences over the `slots` this module has phrases for, half
    written as Hu & Liu's lower-cased, space-tokenised reviews, half as plain sentences."""
    from distill.doc import make_doc
    from distill.plugins.sentiment.task import Opinion

    aspects = [slot for slot in slots if slot in PHRASES]
    rng = random.Random(seed)
    out: list[Doc] = []
    while aspects and len(out) < count:
        aspect = rng.choice(aspects)
        text, polarity, term = _sentence(rng, aspect)
        if rng.random() < 0.5:  # Hu & Liu: lower case, punctuation split off
            text = text.lower().replace(",", " ,").replace("'s", " 's") + " ."
        else:
            text = text[0].upper() + text[1:] + "."
        opinion = Opinion(aspect=aspect, polarity=polarity)  # type: ignore[arg-type]
        named = re.search(rf"\b{re.escape(term)}\b", text.lower()) if term else None
        if named:
            opinion = opinion.model_copy(
                update={"term": term, "start": named.start(), "end": named.end()}
            )
        doc = make_doc(text, f"comparison:{len(out)}", {})
        doc._.opinions = [opinion]
        out.append(doc)
    return out
