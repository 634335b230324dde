"""Hu & Liu (KDD 2004) annotated customer reviews: `feature[+n]/[-n]##sentence` lines.

`read(path)` gives one gold `Doc` per sentence (`##`), id `<file>:<review>:<line>`, with
one opinion per annotated feature: aspect = the default aspect the feature maps to
(`feature_aspect`; unmapped features keep their own text), polarity from the sign, the
feature as the term and, when the feature's words occur in the sentence, their span.
`reviews(path)` groups the sentences by review (`[t]` starts one) for whole-review
benchmarks. Lines are read as Latin-1 (the files are ASCII with a few stray bytes), and
HTML entities the crawl left in them ("at &#38; t") are decoded.

Feature → aspect (`FEATURE_RULES`, first match wins, whole words; written for product
reviews in general, not for one file): e.g. "battery life" → battery, "speakerphone",
"ring tone", "volume", "radio" → sound, "size", "weight" → design, "menu", "game",
"voice dialing" → software, "reception", "signal" → performance, "customer service",
"t-mobile" (the carrier) → support, "phone", "product", "quality" → overall.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spacy.tokens import Doc

from distill.corpora.errors import CorpusError, CorpusWarning
from distill.doc import make_doc

_FEATURE = re.compile(r"([^,\[\]]+?)\s*((?:\[[^\]]*\])+)")
_POLARITY = re.compile(r"\[([+-])(\d)\]")

FEATURE_RULES: list[tuple[str, str]] = [
    # (regular expression over the lower-cased feature, aspect); first match wins
    (r"price|cost|value|expensive|cheap|\bplans?\b|rate plan|money|deal", "price"),
    (
        r"customer service|customer rep|\bcsr\b|support|warranty|service|t-mobile$|sprint$|"
        r"at&t|verizon|cingular|carrier|shipping|return",
        "support",
    ),
    (r"battery|charger|charging|power", "battery"),
    (r"camera|picture|photo|lens|zoom|flash|image|video|optical|megapixel", "camera"),
    (
        r"screen|display|lcd|backlight|resolution|brightness|wallpaper|screensaver|background|"
        r"^colou?rs?$",
        "screen",
    ),
    (r"\bkeys?\b|keypad|keyboard|button|touchpad|trackpad|mouse|joystick", "keyboard"),
    (
        r"speaker|sound|volume|\bring|tone|tune|earpiece|\bears?\b|headset|headphone|audio|"
        r"radio|\bfm\b|mp3|music|voice quality|loud|\bmic",
        "sound",
    ),
    (
        r"menu|software|interface|application|\bapps?\b|game|\bpim\b|calendar|phone ?book|"
        r"message|\bmms\b|\bsms\b|internet|\bweb\b|brows|voice dial|command|\bpc\b|sync|"
        r"setting|t-zone|firmware|operating system|\bos\b|driver|voice$|organizer",
        "software",
    ),
    (
        r"reception|signal|network|\bgsm\b|\bgprs\b|bluetooth|infrared|wifi|connect|speed|"
        r"fast|slow|performance|memory|processor|\bcpu\b|\bram\b|call|lag",
        "performance",
    ),
    (
        r"size|weight|design|look|sturdy|construction|build|ergonomic|layout|durab|compact|"
        r"\bcase\b|cover|colou?r|style|feel|vibrat|jack|cable|portab",
        "design",
    ),
    (
        r"phone|product|nokia|feature|quality|\bwork|\buse\b|operate|device|unit|player|"
        r"overall|telephone|laptop|computer|machine",
        "overall",
    ),
]


def feature_aspect(feature: str) -> str | None:
    """The default aspect a Hu & Liu feature is about, or None when no rule matches."""
    text = feature.strip().lower()
    for pattern, aspect in FEATURE_RULES:
        if re.search(pattern, text):
            return aspect
    return None


@dataclass
class Feature:
    name: str
    sign: str
    strength: int
    flags: list[str] = field(default_factory=list)

    @property
    def polarity(self) -> str:
        return "positive" if self.sign == "+" else "negative"


@dataclass
class Sentence:
    line: int
    text: str
    features: list[Feature]


@dataclass
class Review:
    id: str
    title: str
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def parse_features(path: Path, line: int, raw: str) -> list[Feature]:
    """The opinions annotated before a sentence's `##`. The files are hand-tagged and say
    "errors and inconsistencies are inevitable": an annotation that cannot be read
    ("zoom[+2", "[+2]" with no feature, "lens[+]") is skipped with a `CorpusWarning`
    (it costs that opinion, never the file); flags alone ("[cs]", "[s]") carry none."""
    features = []
    for match in _FEATURE.finditer(raw):
        tags = match.group(2)
        polarity = _POLARITY.search(tags)
        if polarity is None:
            if re.search(r"[+-]", tags):
                _skip(path, line, match.group(0), "a sign without a strength 1-3")
            continue  # [u]/[p]/[s] flags alone carry no opinion
        flags = [t for t in re.findall(r"\[([a-z]+)\]", tags)]
        features.append(
            Feature(match.group(1).strip(), polarity.group(1), int(polarity.group(2)), flags)
        )
    rest = _FEATURE.sub("", raw)
    if _POLARITY.search(rest):
        _skip(path, line, raw.strip(), "an opinion with no feature before it")
    elif re.search(r"\[[+-]", rest):
        _skip(path, line, raw.strip(), "an unclosed bracket")
    return features


def _skip(path: Path, line: int, annotation: str, why: str) -> None:
    message = f"skipped the annotation {annotation!r} ({why}); the sentence is kept"
    warnings.warn(CorpusWarning(path, message, line), stacklevel=3)


def reviews(path: Path) -> list[Review]:
    """The file's reviews in order, ids `<file stem>#<n>` (n from 1)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise CorpusError(path, f"cannot read: {exc.strerror}") from None
    return parse(lines, path)


def parse(lines: list[str], path: Path) -> list[Review]:
    """Reviews from the lines of a file at `path` (named in ids and errors)."""
    found: list[Review] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("[t]"):
            found.append(Review(f"{path.stem}#{len(found) + 1}", line[3:].strip()))
        elif "##" in line:
            head, text = line.split("##", 1)
            if not found:
                found.append(Review(f"{path.stem}#1", ""))
            text = html.unescape(text.strip())  # the crawl kept entities: "at &#38; t"
            if text:
                found[-1].sentences.append(
                    Sentence(number, text, parse_features(path, number, head))
                )
    if not found:
        raise CorpusError(path, "no review ([t]) or sentence (##) lines: not a Hu & Liu file")
    return found


_TITLE_LINE = re.compile(r"^\[t\]", re.M)
_SENTENCE_LINE = re.compile(r"^[^#\n]*##[^#\s]", re.M)


_ANNOTATED_LINE = re.compile(r"^[^#\n]*\[[+-]\d\][^#\n]*##", re.M)


def looks_like(text: str) -> bool:
    """Whether `text` is a Hu & Liu file: review titles (`[t]`) and sentence lines
    (`##`) make at least half of its lines but the `*` header ("## Heading" in Markdown
    has a space and no `[t]` line). A file without titles counts when it has annotated
    sentences ("battery[+2]##..."): its sentences are then one review."""
    if not _TITLE_LINE.search(text) and not _ANNOTATED_LINE.search(text):
        return False
    lines = [x for x in text.splitlines() if x.strip() and not x.startswith("*")]
    marked = len(_TITLE_LINE.findall(text)) + len(_SENTENCE_LINE.findall(text))
    return marked * 2 >= len(lines)


def read(path: Path) -> Iterator[Doc]:
    from distill.plugins.sentiment import Opinion

    for review in reviews(path):
        for sentence in review.sentences:
            opinions = []
            for feature in sentence.features:
                found = re.search(rf"\b{re.escape(feature.name)}", sentence.text)
                start, end = (found.start(), found.end()) if found else (None, None)
                opinions.append(
                    Opinion(
                        aspect=feature_aspect(feature.name) or feature.name,
                        polarity=feature.polarity,  # type: ignore[arg-type]
                        term=feature.name,
                        start=start,
                        end=end,
                    )
                )
            doc = make_doc(
                sentence.text,
                doc_id=f"{review.id}:{sentence.line}",
                meta={
                    "source": str(path),
                    "line": sentence.line,
                    "review": review.id,
                    "document": review.id,
                },
            )
            doc._.opinions = opinions
            yield doc
