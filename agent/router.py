"""The deterministic router: the common intents, recognised without a language model.

A 1.5B model sometimes answers from memory instead of calling a tool, and misreads a
table of counts often enough to matter. For the questions users ask most a few rules
find the products, the aspect and the shape of the question, and pick the tool calls:

- aggregates the graph answers outright (`summary`: overall / what people like /
  criticise, one product's aspect; `rank`; `compare`; `count`; `attributes` from the
  catalog; `facts` of a plugin task; `most_named`: the products the most reviews
  name). Their answers are *stated* from the numbers and
  quoted passages, with no language-model call at all;
- `product` questions that need reading (does it get updates? how many hours?): the
  calls are fixed, the model writes the answer from what they found;
- `unrecorded`: a question restricted to what the graph does not record about a review
  (when it was written, its stars): no count can apply the restriction, so the answer
  says so, with no model call, and quotes the reviews' own words if any use them;
- `search`: everything else; the model plans.

Product names are matched against the catalog and the graph (aliases included); a name
that looks like a product of a known brand but matches nothing is reported as unknown
rather than guessed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from spacy.lang.en.stop_words import STOP_WORDS as spacy_stop_words

from distill.plugins.linker.catalog import is_word, model_code_at, normalize

ASPECT_WORDS: dict[str, tuple[str, ...]] = {
    "battery": ("battery", "batteries", "charge", "charging", "lasts", "last longer", "power",
                "battery life", "standby"),
    "camera": ("camera", "cameras", "photo", "photos", "picture", "pictures", "zoom", "webcam",
               "selfie", "picture quality", "image", "images", "image quality", "lens", "flash",
               "megapixel"),
    "screen": ("screen", "display", "oled", "lcd", "brightness", "panel", "backlight", "colors",
               "colours", "wallpaper"),
    "performance": ("performance", "perform", "fast", "speed", "slow", "lag", "exports",
                    "reception", "signal", "memory"),
    "design": ("design", "size", "weight", "heavy", "build", "looks", "fit", "pocket", "small",
               "tiny", "compact", "sturdy"),
    "price": ("price", "cost", "costs", "expensive", "cheap", "value", "money", "cheaper"),
    "software": ("software", "updates", "update", "apps", "notifications", "os", "bloatware",
                 "menu", "menus", "games", "voice dialing", "voice dial", "interface",
                 "messaging", "texting"),
    "sound": ("sound", "speakers", "speaker", "audio", "bass", "noise cancelling", "music",
              "volume", "loud", "ringtone", "ringtones", "ring tones", "speakerphone",
              "speaker phone", "radio", "earpiece", "headset"),
    "keyboard": ("keyboard", "keys", "keypad", "buttons", "button", "trackpad", "touchpad",
                 "remote", "remote control", "scroll wheel"),
    "support": ("support", "customer service", "warranty", "carrier", "service"),
    "overall": ("overall",),
}  # fmt: skip
"""Words that name an aspect; the keys are the aspect labels of the shipped sentiment
model. Aspects the graph knows but this table does not are matched by their own name."""

CATEGORY_WORDS = {
    "phone": ("phone", "phones", "smartphone", "smartphones"),
    "laptop": ("laptop", "laptops", "notebook", "notebooks"),
    "tablet": ("tablet", "tablets"),
    "earbuds": ("earbuds", "earphones", "headphones", "buds", "pods"),
}

_RANK = re.compile(
    r"\b(which|what)\b.*\b(best|worst|most|least|top|better|worse|praise\w*|complain\w*|hate|"
    r"love|well|badly)\b",
    re.IGNORECASE,
)
_NEGATIVE_RANK = re.compile(
    r"\b(worst|complain\w*|criticis\w*|criticiz\w*|hate|least|worse|badly|negative)\b", re.I
)
_MOST_NAMED = re.compile(
    r"\b(?:which|what)\b.*\b(?:reviewed|mentioned|named|discussed|talked about|written about)"
    r"\b.*\b(?:most|more)\b|\bmost\s+(?:reviewed|mentioned|named|discussed)\b",
    re.I,
)
"""Which product the reviews name most: mention counts, not opinions."""
_WHICH_REVIEWED = re.compile(
    r"^\W*(?:which|what)\s+(?:products?|items?|devices?|models?)\s+(?:are|were|is|did|do)\b"
    r"(?!.*\b(?:best|worst|most|least|better|worse|than)\b)"
    r".*\b(?:reviewed|covered|discussed|rated|in (?:the|this) (?:graph|data)"
    r"|reviews? (?:cover|discuss))\b",
    re.I,
)
"""Which products the reviews are about: the ones with opinions, a file's subject too."""
_ANY_PRODUCT = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?(?:products?|devices?|models?|items?)\b"
    r"|\b(?:best|worst|most|least|top)\s+(?:\w+\s+)?(?:products?|devices?|models?|items?)\b",
    re.I,
)
"""A ranking over every category: "which products have the most negative opinions?"."""
_EACH_PRODUCT = re.compile(r"\b(?:each|every|per|by)\s+(?:product|device|model|item)\b", re.I)
_NO_PRODUCT = re.compile(
    r"\b(?:reviews?|documents?|posts?|tickets?)\b.{0,30}\b(?:(?:does|do|did)(?: not|n't)|never|"
    r"without)\s+(?:\w+\s+)?(?:mention\w*|nam\w+|talk\w* about|refer\w* to|about)?\s*"
    r"(?:a|any)\s+(?:specific\s+|particular\s+)?(?:product|device|model|item)s?\b"
    r"|\b(?:not about|about no)\s+(?:a|any)\s+(?:specific\s+|particular\s+)?"
    r"(?:product|device|model|item)s?\b",
    re.I,
)
"""Questions about the reviews that name no product ("a review that doesn't mention a
specific product", "reviews not about any device")."""
_COUNT = re.compile(
    r"\b(how many|number of|count)\b.*\b(reviews?|documents?|posts?|reviewers?|people|users|"
    r"owners|times)\b.*\b(mention\w*|talk\w*|discuss\w*|say|said|about|review\w*|like\w*|"
    r"complain\w*|praise\w*|comment\w*|write|wrote)|"
    r"\b(did|has|have) (anyone|anybody|someone|any reviewers?) "
    r"(review\w*|mention\w*|talk\w*|write|wrote|written)\b|\bhow (often|many times) "
    r"(is|are|was|were|do|does)\b.*\bmention|"
    r"\b(how many|number of)\s+(reviews?|documents?|posts?)\s*(are there|do you have|"
    r"in total|are in|have you|(is|are) in)?\b[^?]{0,40}\??\s*$",
    re.I,
)
_COUNT_TERM = re.compile(
    r"\b(?:mention\w*|about|discuss\w*|talk\w* about|comment\w* on|write about)\s+"
    r"(?:the |a |an |its |their )?"
    r"(.+?)\s*[?.!]*$",
    re.I,
)
_ATTRIBUTE = re.compile(
    r"\bhow much (?:does|do|is|are|did)\b|\bwhat (?:does|do) (?:it|the .+?) cost\b|"
    r"\b(?:price|cost) of\b|\bwhat is the price\b|\bwhen (?:was|were|did|is)\b.*\b(?:release\w*|"
    r"come out|came out|launch\w*|announc\w*|available)\b|\brelease date\b|\bspecs?\b|"
    r"\bspecifications?\b|\bhow (?:big|large|heavy)\b|\bscreen size\b|\bcapacity\b|\bmah\b|"
    r"\bhow much (?:storage|ram|memory)\b|\bwhich (?:chip|processor|soc)\b",
    re.I,
)
_OPINION_WORDS = re.compile(
    r"\b(reviewers?|people|users?|owners?|customers?|buyers?|critics?|say|said|says|think|"
    r"thinks|feel|feels|opinions?|complain\w*|criticis\w*|criticiz\w*|like|likes|love|"
    r"praise\w*|recommend\w*)\b",
    re.I,
)
_CRITICISE = re.compile(
    r"\b(complain\w*|criticis\w*|criticiz\w*|dislike\w*|hate\w*|cons|weak\w*|weakness\w*|"
    r"problems?|issues?|wrong|negatives?|downsides?|drawbacks?|flaws?|faults?|bad|worst "
    r"things?|annoy\w*|disappoint\w*)\b",
    re.I,
)
_NOT_LIKED = re.compile(
    r"\b(?:(?:do|does|did)n['’]?t\s+(?:\w+\s+)?|not\s+)(?:like|love|enjoy|appreciate)\b", re.I
)
"""Praise words negated: "what don't people like" asks for the complaints."""
_PRAISE = re.compile(
    r"\b(like|likes|liked|love|loves|loved|praise\w*|enjoy\w*|pros|strengths?|strong points?|"
    r"good things?|best things?|positives?|appreciate\w*|favou?rite)\b",
    re.I,
)
_OVERALL = re.compile(
    r"\b(overall|in general|generally|on the whole|sentiment|verdict|opinion of|opinions? on|"
    r"recommend\w*|worth (it|buying)|is it good|(is|are) (the |it )?.{0,40}\b(good|any good|"
    r"worth it)\b|how do .+ feel|what do .+ (think|say|feel) (of|about)|how (is|are|was) (the )?"
    r"\w+ (rated|received|reviewed)|tell me about|should (i|we|you) (buy|get|choose|pick)|"
    r"thoughts on)",
    re.I,
)
_OPINION_SHAPE = re.compile(
    r"^(?:so |and |overall,? )?(?:how (?:is|are|was|were|good|bad)\b|what do\b|what does\b|"
    r"what did\b|what are\b|what's\b|what is\b|how do\b|how does\b|tell me about\b|"
    r"is the\b|are the\b|any good\b|do (?:people|reviewers|users|owners) (?:like|love|hate)\b|"
    r"(?:and|what about|how about) (?:the |its |their )?[\w -]{2,30}\??$)",
    re.I,
)
_NEEDS_PLAN = re.compile(
    r"\b(how many|number of|count|list|which (?:products?|reviews?|documents?|brands?)|"
    r"most|least|every|all (?:the )?(?:products|reviews)|any reviews?|run|analy[sz]e|"
    r"extract|entities|tag|graph|products? (?:are|do you|does the))\b",
    re.IGNORECASE,
)
"""Questions a passage search cannot answer: counting, listing, running a tool."""
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_NAME_TOKEN = r"(?:[A-Z][\w-]*|[a-z]+[A-Z][\w-]*|[\w-]*\d[\w-]*)"
_COMPARED_NAME = re.compile(
    r"\b(?:than|with|to|against|versus|vs\.?)\s+(?:(?:my|the|a|an|our|his|her|their)\s+)?"
    r"(?:(?:old|older|new|newer|previous|last|current|other)\s+)?"
    rf"({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})*)"
)
"""A name a question compares with ("better than my old Sony", "compared with the Rio
Karma"): capitalised words, or words with a digit or an inner capital ("iPod")."""
_ALONGSIDE = re.compile(
    r"\b(?:which|what)\b.{0,60}\bcompar\w*\b.{0,40}\b(?:with|to|against)\b"
    r"|\bcompar\w* (?:it |them )?(?:with|to|against) (?:what|which)\b"
    r"|\b(?:other|competing|rival)\s+(?:products?|phones?|brands?|models?|devices?|laptops?|"
    r"tablets?)\b.{0,40}\b(?:mention\w*|nam\w+|compar\w*|come up|talk\w*)"
    r"|\b(?:alternatives?|competitors?|rivals?)\b"
    r"|\bswitch\w* (?:from|to)\b|\b(?:upgrad\w*|mov\w+ up|came|coming) from\b"
    r"|\b(?:mentioned|named) (?:with|alongside|together with)\b|\balongside\b",
    re.I,
)
"""Questions about the other products and brands a product's reviews name ("which phones
do reviewers compare the 6610 with?", "what did people switch from?")."""
"""A year in a question is something the reviews must say ("reviewed most in 2025")."""
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
UNRECORDED: list[tuple[str, re.Pattern[str], bool]] = [
    (
        "dates",
        re.compile(
            r"\b(?:in|during|from|since|before|after|until)\s+(?:the )?(?:early |late )?"
            r"((?:19|20)\d\d|" + _MONTHS + r")\b|\b((?:last|this|past|previous)\s+(?:few\s+)?"
            r"(?:week|month|year|quarter|summer|winter|spring|autumn|fall)s?)\b|"
            r"\b(newest|latest|oldest|earliest|most recent)\s+reviews?\b|"
            r"\bwhen (?:was|were) (?:the |these |this |those )?(?:reviews?|it|they) "
            r"(written|posted|published)\b",
            re.I,
        ),
        True,
    ),
    (
        "star ratings",
        re.compile(
            r"\b(?:\d(?:\.\d)?[- ]?(stars?)|(stars?)|(?:star|user|customer|reviewers?'?|average)"
            r"\s+(ratings?|scores?))\b|\b(?:rated|rating|score) out of (?:5|five|10|ten)\b",
            re.I,
        ),
        False,
    ),
    (
        "star ratings",
        re.compile(
            r"\b(?:what|which|overall) (ratings?|scores?)\b|\b(ratings?|scores?) "
            r"(?:do|does|did|given|from)\b",
            re.I,
        ),
        True,
    ),
]
"""Qualifiers on a property of the reviews themselves (when written, how many stars) that
the graph does not record: a review is stored as its text (`graph.schema.DocumentNode`).
A count or summary cannot apply them, so stating one would answer another question.
(kind, pattern, whether the question must also be about reviews); a pattern's groups
are the words the reviews' text would use for it."""
_ABOUT_REVIEWS = re.compile(r"\b(?:review\w*|mention\w*)\b", re.I)
_MODEL_TOKEN = r"[a-z]*\d+[a-z0-9]*|pro|max|plus|mini|ultra|lite|s"
_SUFFIX_TOKEN = re.compile(r"^(?:pro|max|plus|mini|ultra|lite|[a-z]?\d+[a-z0-9]*)$")

INTENT_WORDS = frozenset(
    re.findall(
        r"\S+",
        """a about according actually all also an and any anyone anything are as at be been best
    better big bit buy can could cost costs criticise criticised criticises criticize
    criticized criticizes criticism complain complained complaining complains complaint
    complaints con cons did do does doing dislike dislikes downside downsides drawback
    drawbacks enjoy feel feels flaw flaws for from general generally get gets give given go
    good got great had has have how however i in is issue issues it its it's just know like
    liked likes love loved loves main me mention mentioned mentions mentioning most much my
    negative negatives of on one ones opinion opinions or other others overall own owner
    owners people person point points positive positives problem problems pro pros rate
    rated rating really recommend review reviewed reviewer reviewers reviews say said says
    should so some someone strength strengths strong tell than that the their them there
    these they thing things think thinks this those to too us user users very was we weak
    weakness weaknesses well were what what's when which who whole why will with worst
    worth would wrong you your bad praise praised praises hate hated hates thought thoughts
    whats do dont don't isn't aren't compared compare versus vs between either both long
    many often anything something everything much get gets got come came feature features
    aspect aspects describe describes described describing write writes wrote talk talks
    find finds found finding want wants wanted wanting need needs needed needing wish
    wishes hope hoping prefer prefers looking considering consider choose choosing pick
    picking decide deciding summarize summarise summarizes summarises summarized summarised
    summarizing summarising summary sum overview list show explain someone somebody buyer
    buyers wonder wondering product products device devices model models item items don
    doesn didn isn aren wasn weren not take takes taking took common commonly frequent
    frequently usual typical biggest major report reports reported reporting""",
    )
)
"""Words that shape a question without naming what it is about: its verbs of asking
("summarize", "list", "describe") and wanting ("wants", "looking", "choose")."""


STOP_WORDS = frozenset(spacy_stop_words) - {
    "call", "back", "bottom", "front", "side", "top", "empty", "full", "first", "last",
    "used", "serious",
}  # fmt: skip
"""spaCy's English stop words, but for those that name something in a review ("call"
quality, the "back" cover): "after a few months" asks about "months", not "after"."""


def model_forms(name: str) -> list[str]:
    """A product name and its shorter forms that still name the model: every prefix that
    reaches the first model code ("Lumix Z5 camera" → "Lumix Z5"; "Apex AD2600
    Progressive-scan DVD player" → "Apex AD2600", …), and each of them without its first
    word ("Z5", "AD2600"). A name with no model code ("40GB" is a capacity) answers to each
    run of two or more of its words that are not all English words ("Creative Labs Nomad
    Jukebox Zen Xtra 40GB" → "Zen Xtra", "Nomad Jukebox Zen Xtra"; not "Nomad Jukebox")."""
    words = name.split()
    first = model_code_at(words)
    if first is None:
        core = [w for w in words if not re.search(r"\d", w)]
        runs = [
            " ".join(core[i:j])
            for i in range(len(core))
            for j in range(i + 2, len(core) + 1)
            if " ".join(core[i:j]) != name
        ]
        return [name, *(run for run in runs if not is_word(run))]
    if first == 0:
        return [name]
    forms = [" ".join(words[: end + 1]) for end in range(len(words) - 1, first - 1, -1)]
    # without the maker's name, as reviewers write it ("the MX40", "the Coolpix 4300")
    return forms + [" ".join(words[1 : end + 1]) for end in range(len(words) - 1, first - 1, -1)]


def kind_forms(names: Iterable[str]) -> dict[str, str]:
    """What a product is, as its name says after the model ("MP3 player" of the "Sonata
    MX40 MP3 player"), for each name whose kind no other of `names` shares: with several
    products in the graph, "the DVD player" names one. One word ("camera", "phone") is
    left out: it names an aspect or every product."""
    kinds: dict[str, list[str]] = {}
    for name in names:
        words = name.split()
        model = model_code_at(words)
        if model is not None and len(words) - model - 1 >= 2:
            kinds.setdefault(" ".join(words[model + 1 :]).lower(), []).append(name)
    return {kind: found[0] for kind, found in kinds.items() if len(found) == 1}


def maker_forms(names: Iterable[str], brands: Collection[str] = ()) -> dict[str, str]:
    """The maker's name alone ("the Lumix" of the "Lumix Z5 camera"), for each name whose
    first word comes before its model code and is no English word, no catalog brand
    (`brands`, normalized) and no other name's maker: reviewers call a product by it."""
    makers: dict[str, list[str]] = {}
    for name in names:
        words = name.split()
        if model_code_at(words) not in (None, 0) and not is_word(words[0]):
            makers.setdefault(words[0], []).append(name)
    return {
        maker: found[0]
        for maker, found in makers.items()
        if len(found) == 1 and normalize(maker) not in brands
    }


@dataclass(frozen=True)
class ProductName:
    """A name the resolver knows: the product id it means and how it is displayed."""

    product_id: str
    display: str
    label: str = "Product"
    """`Product` for catalog products, `Entity` for names the linker left unlinked."""


@dataclass
class Intent:
    """What the router understood; `calls` are (tool name, arguments) to run."""

    name: str
    products: list[ProductName] = field(default_factory=list)
    unknown_products: list[str] = field(default_factory=list)
    aspect: str | None = None
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    focus: str | None = None
    """`liked`, `criticised` or `overall` for summaries; `best`/`worst` for rankings."""
    terms: list[str] = field(default_factory=list)
    """Content words of the question that name no product, aspect or question shape
    ("overheating"): a summary is not the answer when the reviews never use them."""
    unrecorded: list[str] = field(default_factory=list)
    """Properties of the reviews the question restricts to that the graph does not record
    ("dates", "star ratings"); see `UNRECORDED`."""

    @property
    def stated(self) -> bool:
        """The answer is stated from tool results, with no language-model call."""
        return self.name in STATED_INTENTS

    @property
    def planned(self) -> bool:
        """Only unrouted questions that count, list or analyse need the model to choose
        tools (Cypher, the product list, an NLP tool); the rest are a passage search."""
        return self.name == "search" and self.needs_plan

    needs_plan: bool = False


STATED_INTENTS = frozenset(
    {
        "summary",
        "rank",
        "compare",
        "count",
        "attributes",
        "facts",
        "mentioned_with",
        "most_named",
        "reviewed",
    }
)


_PLAIN_WORDS = INTENT_WORDS | {w for words in CATEGORY_WORDS.values() for w in words}
"""Words no product name is misspelled from ("phone 11" is not "iphone 11")."""
SPELLING_RATIO = 80
"""How close each word before a model number must be spelled for a question to name a
known product ("motorola t720" names the reviews' "motorolla t720"); the model number
itself must be the same."""


class ProductResolver:
    """Finds product names in free text: longest match first, whole words, aliases too.

    Forms are looked up by word n-grams of the question, so a catalog of tens of
    thousands of products costs a few dictionary lookups per question."""

    def __init__(
        self, names: Iterable[tuple[str, ProductName]], brands: Iterable[str] = ()
    ) -> None:
        """`names`: (surface form, product) pairs; the first product of a form wins."""
        self.forms: dict[str, ProductName] = {}
        for form, product in names:
            key = normalize(form)
            if key and key not in self.forms:
                self.forms[key] = product
        self.brands = {normalize(b) for b in brands if b}
        self.displays: dict[str, str] = {}
        for product in self.forms.values():
            self.displays.setdefault(product.product_id, product.display)
        self._longest = max((len(form.split()) for form in self.forms), default=0)
        self._by_model: dict[str, list[str]] = {}  # "t720" -> forms ending on it
        for form in self.forms:
            last = form.split()[-1]
            if any(c.isdigit() for c in last) and len(form.split()) > 1:
                self._by_model.setdefault(last, []).append(form)
        self._prefixes = {
            " ".join(words[:n])
            for words in (form.split() for form in self.forms)
            for n in range(1, len(words) + 1)
        }

    def find(self, text: str) -> list[ProductName]:
        """Products named in `text`, in order of appearance, each once."""
        normalized = normalize(_drop_possessives(text))
        return [product for _, product in self._matches(normalized, self._extended(normalized))]

    def resolve(self, name: str) -> ProductName | None:
        """The product a tool argument names: exact form, else the best whole-word match."""
        key = normalize(name)
        if key in self.forms:
            return self.forms[key]
        found = self.find(name)
        return found[0] if found else None

    def unknown(self, text: str) -> list[str]:
        """Product-like names that match no known product: a known brand with a model
        number ("Nebula X4"), or a known name with a model suffix it does not have
        ("Lumen Tab 11 Pro" when only the Tab 11 exists)."""
        normalized = normalize(_drop_possessives(text))
        extended = self._extended(normalized)
        matched = {span for span, _ in self._matches(normalized, extended)}
        out = [normalized[s:e].title() for s, e in extended]
        for brand in self.brands:
            if f" {brand} " not in f" {normalized} ":
                continue
            pattern = rf"\b{re.escape(brand)}(?: (?:{_MODEL_TOKEN}))+\b"
            for match in re.finditer(pattern, normalized):
                span = match.span()
                covered = any(s <= span[0] and span[1] <= e for s, e in matched | set(extended))
                if not covered and match.group(0) not in self.forms:
                    out.append(match.group(0).title())
        return list(dict.fromkeys(out))

    def _candidates(self, normalized: str) -> list[tuple[int, int, int, str]]:
        """(first token, token count, …) of every known form in the text: (start char,
        end char, next token index, form)."""
        tokens = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[a-z0-9]+", normalized)]
        words = [t[2] for t in tokens]
        out = []
        for i in range(len(tokens)):
            for n in range(1, min(self._longest, len(tokens) - i) + 1):
                form = " ".join(words[i : i + n])
                if form not in self._prefixes:
                    break
                if form in self.forms:
                    out.append((tokens[i][0], tokens[i + n - 1][1], i + n, form))
        exact_ends = {c[2] - 1 for c in out}
        for j, word in enumerate(words):
            if j in exact_ends:
                continue
            for form in self._by_model.get(word, ()):
                before = form.split()[:-1]
                start = j - len(before)
                if start >= 0 and all(
                    a not in _PLAIN_WORDS and fuzz.ratio(a, b) >= SPELLING_RATIO
                    for a, b in zip(words[start:j], before, strict=True)
                ):
                    out.append((tokens[start][0], tokens[j][1], j + 1, form))
        return out

    def _matches(
        self, normalized: str, blocked: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[tuple[int, int], ProductName]]:
        taken: list[tuple[int, int]] = list(blocked)
        found: list[tuple[tuple[int, int], ProductName]] = []
        candidates = sorted(self._candidates(normalized), key=lambda c: (c[0] - c[1], c[0]))
        for start, end, _, form in candidates:
            if all(end <= s or start >= e for s, e in taken):
                taken.append((start, end))
                found.append(((start, end), self.forms[form]))
        found.sort(key=lambda item: item[0][0])
        unique: dict[str, tuple[tuple[int, int], ProductName]] = {}
        for span, product in found:
            unique.setdefault(product.product_id, (span, product))
        return list(unique.values())

    def _extended(self, normalized: str) -> list[tuple[int, int]]:
        """Spans of a known name followed by a model suffix no known name has ("… 11 pro")."""
        tokens = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[a-z0-9]+", normalized)]
        spans = []
        for start, _, following, form in self._candidates(normalized):
            if form.split()[0] not in self.brands and len(form.split()) < 2:
                continue  # a bare alias ("x2") followed by "pro" is too weak a signal
            if following >= len(tokens):
                continue
            suffix = tokens[following][2]
            if _SUFFIX_TOKEN.match(suffix) and f"{form} {suffix}" not in self._prefixes:
                spans.append((start, tokens[following][1]))
        return spans


def _drop_possessives(text: str) -> str:
    """ "the Lumen One's camera" is about the Lumen One, not the Lumen One S."""
    return re.sub(r"(?<=\w)['’]s\b", "", text)


_SUPPORT_VERB = re.compile(
    r"\b(?:does|do|did|can|will|would|could)\b(?:(?!\b(?:customer|tech|technical)\s).)*?"
    r"\bsupports?\s+(?!team|staff|line|service|people)\w",
    re.I,
)
""""support" as a verb ("does the phone support 5G?"), not the support aspect."""


def _topic_text(question: str) -> str:
    """The question as its topic words read it: "support" used as a verb ("does it
    support 5G?") asks about a feature, so it names no aspect and is no term."""
    if not _SUPPORT_VERB.search(question):
        return question
    return re.sub(r"\bsupports?\b", " ", question, flags=re.I)


def find_aspect(text: str, known: Sequence[str] = ()) -> str | None:
    """The aspect a question is about: a known aspect's name (the graph's or the configured
    labels), else a word from the table (an aspect the graph has no opinion on is still
    what the question is about: the answer says there are none)."""
    normalized = f" {normalize(text)} "
    for aspect in known:
        if f" {normalize(aspect)} " in normalized and aspect != "overall":
            return aspect
    for aspect, words in ASPECT_WORDS.items():
        if aspect != "overall" and any(f" {word} " in normalized for word in words):
            return aspect
    return None


def listed_aspects(text: str, aspect: str | None, known: Sequence[str] = ()) -> list[str]:
    """`aspect` and the aspects listed with it ("the screen and the keypad", "battery,
    camera or price"): nouns of the table joined by "and", "or" or a comma. A qualifier
    ("is the screen *small*") is not a second aspect."""
    if not aspect:
        return []
    normalized = f" {normalize(text)} "
    table = {a: words for a, words in ASPECT_WORDS.items() if a != "overall"}
    table |= {a: (normalize(a),) for a in known if a not in table and a != "overall"}
    places: list[tuple[int, int, str]] = []  # (start, end, aspect)
    for name, words in table.items():
        for word in words:
            if word in QUALIFIERS:
                continue
            for found in re.finditer(rf" {re.escape(word)}(?= )", normalized):
                places.append((found.start() + 1, found.end(), name))
    places.sort()
    found = [aspect]
    for (_, end, first), (start, _, second) in itertools.pairwise(places):
        joined = _LIST_JOINER.fullmatch(normalized[end:start])
        if joined and first in found and second not in found:
            found.append(second)
    return found[:3]


_LIST_JOINER = re.compile(r"\s*(?:and|or|&)?\s*(?:the|its|their|a)?\s*")
"""What may stand between two listed aspects once commas are gone ("screen and the")."""


def named_part(text: str, aspect: str) -> str:
    """What `text` calls `aspect`: the aspect's own name when it is used, else the first
    word naming a part of it ("the buttons" of a player's keyboard, "the picture" of a DVD
    player's camera), else the aspect's name. Qualifiers ("cheap", "loud") name no part."""
    lowered = f" {normalize(text)} "
    words = [w for w in ASPECT_WORDS.get(aspect, ()) if w not in QUALIFIERS and w not in _NO_PART]
    used = [w for w in words if f" {w} " in lowered]
    if not used or aspect in used or f"{aspect}s" in used:
        return aspect
    return min(used, key=lambda w: (lowered.index(f" {w} "), -len(w)))


_NO_PART = frozenset({"money", "costs", "perform", "exports", "lasts", "last longer"})


def aspect_words(aspect: str | None) -> set[str]:
    """The words that name `aspect` (its own name included), one word at a time."""
    if not aspect:
        return set()
    words = {aspect}
    for phrase in ASPECT_WORDS.get(aspect, ()):
        words |= set(phrase.split())
    return words


_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|this one|that one|the same|the other|both|either)\b", re.I
)


_IT = r"\b(?:it|this (?:one|phone|product|player|camera|device))\b"
_SELF_COMPARE = re.compile(
    rf"{_IT}.*\b(?:compare[sd]?|comparison|than|versus|vs|against)\b"
    rf"|\b(?:compare[sd]?|versus|vs)\b.*{_IT}",
    re.I,
)
"""A comparison of the product in question with one it names: "is it better than …"."""
_ITSELF = re.compile(rf"\bits\b|{_IT}", re.I)
"""The product in question, unnamed."""


def _compares_itself(question: str, resolver: ProductResolver) -> bool:
    """The one product the question names is compared with the product in question: "how
    does it compare to the T720?", or named only after "than" ("Is the battery better than
    the T610's?")."""
    if _SELF_COMPARE.search(question):
        return True
    parts = re.split(r"\bthan\b", question, maxsplit=1, flags=re.I)
    return len(parts) == 2 and not resolver.find(parts[0])


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous turn: "and its camera?", "what about them"."""
    return bool(_ANAPHORA.search(question)) or (
        len(question.split()) <= 5
        and question.lower().startswith(("and ", "what about", "how about"))
    )


def _known_category(category: str, categories: Collection[str]) -> bool:
    return category.rstrip("s") in {c.lower().rstrip("s") for c in categories if c}


def find_category(text: str) -> str | None:
    """The product category a question restricts to ("which *phone* …"), if any."""
    words = set(normalize(text).split())
    return next((c for c, names in CATEGORY_WORDS.items() if words & set(names)), None)


QUALIFIERS = frozenset(
    re.findall(
        r"\S+",
        """fast slow small tiny compact heavy expensive cheap cheaper loud lasts last longer
        charge charging power perform performance value money worth sturdy looks fit pocket
        build lag speed light""",
    )
)
"""Aspect words that qualify rather than name a part: "is it *loud*", not "the *radio*"."""


def content_terms(
    question: str,
    products: Sequence[ProductName],
    aspect: str | None,
    resolver: ProductResolver | None = None,
    keep: Collection[str] = (),
) -> list[str]:
    """Words of the question that are not about its shape, its products or its aspect;
    `keep`: category words that name a part here, not a kind of product."""
    normalized = normalize(_drop_possessives(question))
    if resolver is not None:
        for (start, end), _ in sorted(resolver._matches(normalized), reverse=True):
            normalized = normalized[:start] + " " + normalized[end:]
    for product in products:
        normalized = normalized.replace(normalize(product.display), " ")
    skip = INTENT_WORDS | STOP_WORDS | aspect_words(aspect)
    skip |= {w for ws in CATEGORY_WORDS.values() for w in ws} - set(keep)
    skip |= {word for phrase in ASPECT_WORDS.get(aspect or "", ()) for word in phrase.split()}
    # a hyphenated name is one term ("T-Mobile" is not "mobile")
    compounds = [normalize(c) for c in _COMPOUND.findall(question)]
    compounds = [c for c in compounds if f" {c} " in f" {normalized} "]
    compounds = [c for c in compounds if not set(c.split()) & skip]
    for compound in compounds:
        normalized = f" {normalized} ".replace(f" {compound} ", " ")
    return [*compounds] + [
        word
        for word in dict.fromkeys(normalized.split())
        if word not in skip
        and (len(word) > 2 or SHORT_SPEC.match(word))
        and (not word.isdigit() or _YEAR.match(word))
    ]


SHORT_SPEC = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9]{2}$")
""""5g", "4k": a short word with a digit and a letter is a specification, not noise."""


_COMPOUND = re.compile(r"\b[^\W\d_]+(?:-[^\W\d_]+)+\b")
"""Hyphenated words of letters ("T-Mobile", "wi-fi"); "X2-Pro"-like model names are the
resolver's."""


def feature_words(question: str, aspect: str | None) -> list[str]:
    """Parts of the aspect the question names ("speakerphone", "volume" of sound): the
    opinions to look at are those whose sentence names them."""
    if not aspect:
        return []
    normalized = f" {normalize(question)} "
    found = [
        phrase
        for phrase in ASPECT_WORDS.get(aspect, ())
        if f" {phrase} " in normalized and phrase not in QUALIFIERS
        and aspect not in phrase.split() and phrase.rstrip("s") != aspect.rstrip("s")
    ]  # fmt: skip
    return [p for p in found if not any(p != q and p in q.split() for q in found)]


_WHAT_LIKE = re.compile(
    r"(\bwhat(?:['’]s|\s+(?:is|are|was|were))\b[^?]*?\s)like\b(?=(?:\s+(?:on|for|with|in|of)\b"
    r"[^?]*)?\s*\??\s*$)",
    re.I,
)
""""What's the battery life like on the MX40?": the idiom asks how it is, not what is liked."""


def summary_focus(question: str) -> str | None:
    """`criticised`, `liked` or `overall` when the question asks for a summary of opinions
    ("pros and cons", "likes and dislikes": both sides, which the overall summary gives)."""
    question = _WHAT_LIKE.sub(r"\1", question)
    if _NOT_LIKED.search(question):
        return "criticised"
    if _CRITICISE.search(question) and _PRAISE.search(question):
        return "overall"
    if _CRITICISE.search(question):
        return "criticised"
    if _PRAISE.search(question):
        return "liked"
    if _OVERALL.search(question):
        return "overall"
    return None


def route(
    question: str,
    resolver: ProductResolver,
    *,
    aspects: Sequence[str] = (),
    previous_products: Sequence[ProductName] = (),
    fact_tasks: Sequence[str] = (),
    categories: Collection[str] | None = None,
    subject: ProductName | None = None,
) -> Intent:
    """The intent of `question` and the tool calls that answer it.

    `previous_products` resolve follow-ups ("and its camera?") to the products the
    conversation was about; `fact_tasks` are the plugin tasks with facts in the graph;
    `categories` are the known products' categories (None: not known); `subject` is the
    product the reviews are about, if one is ("how does *it* compare to the T720?").
    """
    products = resolver.find(question)
    unknown = resolver.unknown(question)
    topic = _topic_text(question)
    aspect = find_aspect(topic, aspects)
    category = find_category(question)
    part_words: set[str] = set()
    if category and categories is not None and not _known_category(category, categories):
        # no product is one: "the earbuds" of an MP3 player's reviews are a part of it
        part_words, category = set(CATEGORY_WORDS[category]), None
    follow_up = not products and not unknown and bool(previous_products) and is_follow_up(question)
    if follow_up:
        products = list(previous_products)
    itself = (previous_products or [subject])[0]
    if (
        len(products) == 1
        and itself
        and itself not in products
        and _compares_itself(question, resolver)
    ):
        products = [itself, *products]  # "how does it compare to the Motorola T720?"
    names = [p.display for p in products]
    search = {"query": question, "products": names}
    listed = listed_aspects(topic, aspect, aspects)
    terms = content_terms(topic, products, aspect, resolver, keep=part_words)
    if len(listed) > 1:  # the other listed aspects are asked about, not searched for
        terms = [t for t in terms if not set(t.split()) & set().union(*map(aspect_words, listed))]
    features = feature_words(question, aspect)
    focus = summary_focus(question)
    task = _fact_task(question, fact_tasks)

    unrecorded = unrecorded_qualifiers(question)
    if unknown and not products:
        intent = Intent("unknown_product", unknown_products=unknown, aspect=aspect)
        intent.calls = [("product_opinions", {"products": unknown, "aspect": aspect})]
    elif unrecorded:
        # no count or summary can apply the qualifier: say so, and show what the text says
        intent = Intent("unrecorded", products, unknown, aspect, terms=terms)
        intent.unrecorded = list(unrecorded)
        words = [w for found in unrecorded.values() for w in found]
        intent.calls = [("search_reviews", {**search, "require": words})]
    elif not products and _NO_PRODUCT.search(question):
        intent = Intent("count", terms=terms)
        intent.calls = [("count_reviews", {"no_product": True})]
    elif task:
        intent = Intent("facts", products, unknown, aspect, terms=terms)
        intent.calls = [("plugin_facts", {"task": task, "products": names})]
    elif _COUNT.search(question):
        term = _count_term(question, products, aspect)
        intent = Intent("count", products, unknown, aspect, terms=terms)
        each = bool(_EACH_PRODUCT.search(question)) and not products and not aspect and not term
        arguments = {"products": names, "aspect": aspect, "term": term}
        intent.calls = [("count_reviews", {**arguments, "each": True} if each else arguments)]
    elif products and _ATTRIBUTE.search(question) and not _OPINION_WORDS.search(question):
        intent = Intent("attributes", products[:3], unknown, aspect, terms=terms)
        intent.calls = [("catalog_attributes", {"products": names[:3], "question": question})]
    elif _ALONGSIDE.search(question) and (
        len(products) == 1 or (not products and itself and _ITSELF.search(question))
    ):
        # "which phones do reviewers compare it with?": "it" is the product in question
        alongside = products or [itself]
        intent = Intent("mentioned_with", alongside, unknown, aspect, terms=terms)
        intent.calls = [("mentioned_with", {"products": [alongside[0].display]})]
    elif len(products) >= 2:
        intent = Intent("compare", products[:3], unknown, aspect, terms=terms)
        intent.calls = [
            ("product_opinions", {"products": names[:3], "aspect": aspect}),
            ("search_reviews", {**search, "products": names[:3]}),
        ]
    elif products and _is_summary(question, focus, aspect):
        intent = Intent("summary", products[:1], unknown, aspect, focus=focus, terms=terms)
        intent.calls = [
            ("review_summary", _summary_args(names[:1], each, focus, [*features, *terms]))
            for each in listed or [aspect]
        ]
    elif products:
        intent = Intent("product", products[:1], unknown, aspect, terms=terms)
        # the part of the aspect the question names ("voice dialing") leads, not the aspect
        counts: tuple[str, dict[str, object]] = (
            ("review_summary", _summary_args(names[:1], aspect, "overall", features))
            if features
            else ("product_opinions", {"products": names[:1], "aspect": aspect})
        )
        intent.calls = [
            counts,
            ("search_reviews", {**search, "products": names[:1], "require": terms[:6]}),
        ]
    elif not products and _WHICH_REVIEWED.search(question):
        intent = Intent("reviewed", terms=terms)
        intent.calls = [("list_products", {"category": category, "reviewed": True})]
    elif _MOST_NAMED.search(question):
        intent = Intent("most_named", terms=terms)
        intent.calls = [("list_products", {"category": category, "most": True})]
    elif (
        _RANK.search(question)
        and (aspect or category or _ANY_PRODUCT.search(question))
        and not _no_ranking(question)
    ):
        order = "worst" if _NEGATIVE_RANK.search(question) else "best"
        intent = Intent("rank", aspect=aspect, focus=order, terms=terms)
        ranking = {"products": [], "aspect": aspect, "order": order, "category": category}
        intent.calls = [("product_opinions", ranking)]
    elif (focus or aspect) and _is_summary(question, focus, aspect):
        intent = Intent("summary", aspect=aspect, focus=focus, terms=terms)
        intent.calls = [
            ("review_summary", _summary_args([], each, focus, [*features, *terms]))
            for each in listed or [aspect]
        ]
    elif aspect and not _NEEDS_PLAN.search(question):
        # an aspect of the reviewed products, asked of no product ("does the battery last
        # long?"): the counts lead, the model reads what the reviews say
        intent = Intent("product", aspect=aspect, terms=terms)
        intent.calls = [
            ("review_summary", _summary_args([], aspect, "overall", features)),
            ("search_reviews", {**search, "require": terms[:6]}),
        ]
    else:
        intent = Intent("search", aspect=aspect, terms=terms)
        # a year, or a name the question compares with, that no review has is the answer;
        # "better than my old one" reads the reviews that compare with an old one
        required = [t for t in terms if _YEAR.match(t) or t in compared_words(question)]
        if not required and _OWN_OLD.search(question):
            required = list(OLD_WORDS)
        intent.calls = [
            ("search_reviews", {"query": question, "products": [], "require": required})
        ]
        intent.needs_plan = bool(_NEEDS_PLAN.search(question))
    return intent


_OWN_OLD = re.compile(
    r"\b(?:than|with|to|against)\s+(?:my|our|the|their)\s+(?:old|older|previous|former|last)"
    r"(?:\s+one)?\b",
    re.I,
)
"""A comparison with the asker's previous product, unnamed: "better than my old one"."""
OLD_WORDS = ["old", "previous", "former"]
"""What reviews comparing with their previous product say ("my old phone", "my previous
one"): the passages to read."""


def compared_words(question: str) -> set[str]:
    """The words of a name the question compares with and no product resolved, as
    `content_terms` spells them ("Is it better than my old Sony?" -> {"sony"})."""
    return {w for m in _COMPARED_NAME.finditer(question) for w in normalize(m.group(1)).split()}


def unrecorded_qualifiers(question: str) -> dict[str, list[str]]:
    """The review properties the graph does not record that a question restricts the
    reviews to, each with the words naming it in the question ("in 2025" → "2025")."""
    about_reviews = bool(_ABOUT_REVIEWS.search(question) or _OPINION_WORDS.search(question))
    found: dict[str, list[str]] = {}
    for kind, pattern, needs_reviews in UNRECORDED:
        if needs_reviews and not about_reviews:
            continue
        for match in pattern.finditer(question):
            words = [g.lower() for g in match.groups() if g]
            found.setdefault(kind, []).extend(words)
    return {kind: list(dict.fromkeys(words)) for kind, words in found.items()}


def _is_summary(question: str, focus: str | None, aspect: str | None) -> bool:
    """A question whose answer is the opinions themselves: "what do people like about X",
    "overall, how do reviewers feel", "how is the X's battery" (not "does the X have …")."""
    if focus:
        return True
    return bool(aspect) and bool(_OPINION_SHAPE.search(question.strip()))


def _no_ranking(question: str) -> bool:
    """ "Which phone did the reviewer keep?" names no order, and "what do people like most
    about this phone?" asks what is liked, not which product: not rankings."""
    if _ABOUT_LIKING.search(question):
        return True
    return not re.search(r"\b(best|worst|most|least|top|better|worse|well|badly)\b", question, re.I)


_ABOUT_LIKING = re.compile(
    r"^\s*what (?:do|did|does) (?:people|reviewers?|users?|owners?|customers?|buyers?|they|you)"
    r" (?:\w+ )?(?:like|love|enjoy|hate|dislike|complain|praise|critici[sz]e|appreciate)\b",
    re.I,
)
"""Questions whose answer is the things liked or criticised ("what do people like most
about this phone?", "what do reviewers complain about most?"), whatever order they ask."""


def _summary_args(
    names: list[str], aspect: str | None, focus: str | None, terms: list[str]
) -> dict[str, object]:
    return {
        "products": names,
        "aspect": aspect,
        "focus": focus or "overall",
        "about": ", ".join(terms),
    }


def _count_term(question: str, products: Sequence[ProductName], aspect: str | None) -> str | None:
    """The words after "mention" when they name neither a product nor only an aspect; a
    product's own words and an owner's are dropped ("the Nokia 6610's battery", "the
    camera's battery" count "battery")."""
    match = _COUNT_TERM.search(question)
    if not match:
        return None
    term = re.split(r"['’]s\b", match.group(1))[-1].strip()  # "the camera's battery"
    if any(fuzz.ratio(normalize(term), normalize(p.display)) >= 85 for p in products):
        return None  # the product itself (also as misspelled in the reviews)
    named = {w for p in products for w in normalize(p.display).split()}
    words = [w for w in normalize(term).split() if w not in INTENT_WORDS | named]
    return " ".join(words) or None


def _fact_task(question: str, tasks: Sequence[str]) -> str | None:
    """A plugin task the question names ("which *prices* do reviewers mention?")."""
    words = set(normalize(question).split())
    return next((task for task in tasks if normalize(task) in words), None)
