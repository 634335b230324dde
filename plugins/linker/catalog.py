"""Product catalogs from CSV or JSONL, with a configurable column mapping.

A catalog is what the linker links *to*: entries with an id, a name, a brand,
aliases, a release date and free attributes. Loading is strict because every
later step (index files keyed by the catalog's hash, gold ids in evaluation data)
assumes ids are present and unique; the error names the file, line and column.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from distill.errors import DistillError

GENERIC_SUFFIXES = (
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


class CatalogError(DistillError):
    """A catalog is missing, malformed, lacks a mapped column or repeats an id."""

    def __init__(
        self, path: str | Path, message: str, line: int | None = None, column: str | None = None
    ) -> None:
        self.path, self.line, self.column = str(path), line, column
        where = f"{path}:{line}" if line is not None else str(path)
        what = f" (column {column!r})" if column else ""
        super().__init__(f"{where}{what}: {message}")


class Columns(BaseModel):
    """Which source column holds each field. `id=None`: ids are made from the name
    (for catalogs such as GSMArena that have none); `brand=None`: the name's first word."""

    id: str | None = "id"
    name: str = "name"
    brand: str | None = "brand"
    aliases: str | None = "aliases"
    release_date: str | None = "release_date"
    required: tuple[str, ...] = ("id", "name")
    """Fields whose column must exist (brand, aliases and date are optional)."""


class CatalogEntry(BaseModel):
    id: str
    name: str
    brand: str | None = None
    aliases: list[str] = Field(default_factory=list)
    release_date: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    def names(self) -> list[str]:
        """Every surface form the entry answers to: name, aliases and derived short forms."""
        forms = [self.name, *self.aliases]
        short = strip_suffix(self.name)
        forms.append(short)
        if self.brand and normalize(short).startswith(normalize(self.brand) + " "):
            forms.append(short[len(self.brand) :].strip())
        seen: dict[str, str] = {}
        for form in forms:
            if form and normalize(form) not in seen:
                seen[normalize(form)] = form
        return list(seen.values())

    def text(self) -> str:
        """One line describing the entry, for embeddings and the LLM's candidate list."""
        extra = ", ".join(f"{v}" for v in list(self.attributes.values())[:3] if v)
        date = f" ({self.release_date})" if self.release_date else ""
        return f"{self.name}{date}" + (f": {extra}" if extra else "")


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


class Catalog:
    """Entries in file order, looked up by id; `digest` keys the index files."""

    def __init__(
        self, entries: list[CatalogEntry], path: Path | None = None, digest: str = ""
    ) -> None:
        self.entries = entries
        self.path = path
        self.by_id = {e.id: e for e in entries}
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

    @classmethod
    def load(cls, path: str | Path, columns: Columns | dict[str, Any] | None = None) -> Catalog:
        """Read a `.csv` or `.jsonl` catalog; `columns` maps fields to source columns."""
        path = Path(path)
        mapping = Columns.model_validate(columns or {})
        if not path.is_file():
            raise CatalogError(path, "no such catalog file")
        rows = _jsonl_rows(path) if path.suffix in {".jsonl", ".json"} else _csv_rows(path)
        entries: list[CatalogEntry] = []
        first_line: dict[str, int] = {}
        checked = False
        for line, row in rows:
            if not checked:
                _check_columns(path, line, row, mapping)
                checked = True
            entry = _entry(path, line, row, mapping)
            if mapping.id is None and entry.id in first_line:
                # derived ids: two devices may slug alike ("OT-355", "OT 355"); number them
                entry.id = next(
                    f"{entry.id}-{n}"
                    for n in range(2, 10**6)
                    if f"{entry.id}-{n}" not in first_line
                )
            if entry.id in first_line:
                raise CatalogError(
                    path,
                    f"duplicate id {entry.id!r} (first on line {first_line[entry.id]})",
                    line,
                    mapping.id or mapping.name,
                )
            first_line[entry.id] = line
            entries.append(entry)
        if not entries:
            raise CatalogError(path, "the catalog has no entries")
        digest = hashlib.sha1(path.read_bytes() + mapping.model_dump_json().encode()).hexdigest()
        return cls(entries, path, digest[:16])


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise CatalogError(path, "empty CSV: no header row", 1)
            for row in reader:
                if None in row:
                    raise CatalogError(path, "more cells than header columns", reader.line_num)
                yield reader.line_num, row
    except UnicodeDecodeError as exc:
        raise CatalogError(path, f"not UTF-8: {exc.reason}") from None
    except csv.Error as exc:
        raise CatalogError(path, f"malformed CSV: {exc}") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CatalogError(path, f"invalid JSON: {exc.msg}", line_number) from None
            if not isinstance(row, dict):
                raise CatalogError(path, "each line must be a JSON object", line_number)
            yield line_number, row


def _check_columns(path: Path, line: int, row: dict[str, Any], mapping: Columns) -> None:
    for field in mapping.required:
        column = getattr(mapping, field, None)
        if column is None:  # derived (id from the name)
            continue
        if column not in row:
            raise CatalogError(
                path,
                f"missing column {column!r} for the catalog field {field!r}; columns: "
                f"{', '.join(map(str, row))} (map it with columns={{'{field}': '<column>'}})",
                line,
                column,
            )


def _cell(row: dict[str, Any], column: str | None) -> Any:
    if column is None:
        return None
    value = row.get(column)
    return value.strip() if isinstance(value, str) else value


def _entry(path: Path, line: int, row: dict[str, Any], mapping: Columns) -> CatalogEntry:
    name = _cell(row, mapping.name)
    if not name:
        raise CatalogError(path, "empty name", line, mapping.name)
    name = str(name)
    raw_id = _cell(row, mapping.id) if mapping.id else slug(name)
    if raw_id in (None, ""):
        raise CatalogError(path, "empty id", line, mapping.id)
    brand = _cell(row, mapping.brand) or (name.split()[0] if mapping.brand is None else None)
    aliases = _cell(row, mapping.aliases) or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in re.split(r"[|;]", aliases) if a.strip()]
    used = {mapping.id, mapping.name, mapping.brand, mapping.aliases, mapping.release_date}
    attributes = {
        str(k): str(v).strip()
        for k, v in row.items()
        if k not in used and v not in (None, "") and not isinstance(v, (list, dict))
    }
    date = _cell(row, mapping.release_date)
    return CatalogEntry(
        id=str(raw_id),
        name=name,
        brand=str(brand) if brand else None,
        aliases=[str(a) for a in aliases],
        release_date=str(date) if date else None,
        attributes=attributes,
    )


GSMARENA_COLUMNS = Columns(id=None, name="Model", brand=None, release_date="Year")
"""The GSMArena CSV: no id column (ids are slugs of the model name), brand = first word."""
