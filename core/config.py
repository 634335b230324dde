"""Configuration: `distill.toml`, overridden by environment variables, overridden by CLI flags.

Every value remembers where it came from, so `distill config show` can answer
"why is the NER backend `prompt`?" without guesswork.

    [llm]
    provider = "local"              # local | ollama | openai | anthropic | a plugin's
    model = "qwen2.5-coder-1.5b"    # embedded model name or .gguf path; or the provider's model id

    [tasks.ner]
    backend = "trained"             # or "prompt"; swapping is this one line
    model = "models/ner"

Environment: `DISTILL_LLM__PROVIDER=ollama`, `DISTILL_TASKS__NER__BACKEND=prompt`
(double underscore between levels). Flags: `--set llm.provider=ollama`, `--backend ner=prompt`.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distill.errors import ConfigError

CONFIG_FILE = "distill.toml"
ENV_PREFIX = "DISTILL_"
DEFAULT = "default"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LLMConfig(_Strict):
    """Which chat model the prompt backends and the agent use."""

    provider: str = Field("local", description="local, ollama, openai, anthropic, or a plugin's")
    model: str | None = Field(
        None,
        description="local: embedded model name or .gguf path; others: model id "
        "(empty: the provider's default)",
    )
    base_url: str | None = Field(None, description="server URL for ollama / OpenAI-compatible")
    api_key_env: str | None = Field(
        None, description="environment variable holding the API key (default per provider)"
    )
    temperature: float = 0.0
    max_tokens: int = Field(512, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    max_concurrency: int = Field(4, gt=0, description="parallel requests for batched prompts")
    cache: bool = Field(True, description="reuse responses from the on-disk cache")
    n_ctx: int = Field(4096, gt=0, description="context window (local)")
    n_threads: int | None = Field(None, description="CPU threads (local); default: all cores")


class TaskConfig(_Strict):
    """How one task runs: which backend, which model directory, which labels."""

    backend: str | None = Field(None, description="empty: the task's default (usually trained)")
    model: str | None = Field(None, description="trained model directory")
    labels: list[str] | None = Field(None, description="override the task's default labels")
    options: dict[str, Any] = Field(
        default_factory=dict, description="backend-specific settings, e.g. the linker's catalog"
    )


class GraphConfig(_Strict):
    store: str = "ladybug"
    path: str = ".distill/graph"


class IndexConfig(_Strict):
    """The document index: passages of every ingested document, embedded, for search."""

    path: str = Field(".distill/index", description="folder of the SQLite + faiss index")
    enabled: bool = Field(True, description="build it at ingest (the chat agent searches it)")
    reuse_sentence_vectors: bool = Field(
        True,
        description="pool passage vectors from the sentence vectors the sentiment pass "
        "already computed (one MiniLM pass per review instead of two); false embeds "
        "every passage whole",
    )


class PipelineConfig(_Strict):
    """What `distill ingest` runs on every document, in order: built-in tasks and any
    registered plugin task. A plugin task's output is written to the graph as `Fact`
    nodes with provenance (`(:Document)-[:HAS_FACT]->(:Fact)`)."""

    tasks: list[str] = Field(
        default_factory=lambda: ["ner", "linker", "sentiment"],
        description='tasks in order, e.g. ["ner", "linker", "sentiment", "prices"]',
    )


class AgentConfig(_Strict):
    """The chat agent: where conversations persist and how much evidence it gathers."""

    checkpoints: str = Field(
        ".distill/chat.sqlite", description="SQLite file of conversation threads"
    )
    passages: int = Field(5, gt=0, description="passages a document search returns")
    history: int = Field(2, ge=0, description="earlier turns shown to the model")


class CatalogColumns(_Strict):
    """Which column of the catalog file holds each field (JSONL keys or CSV header names).

    Only the mapped or default columns are read as fields; every other column becomes an
    attribute. Without an `id` column (and none mapped), ids are made from the name.
    """

    id: str = Field("id", description="unique product id (absent: made from the name)")
    name: str = Field("name", description="product name, e.g. 'Nokia 6610'")
    brand: str = Field("brand", description="brand (absent: none, or see brand_from_name)")
    category: str = Field("category", description="e.g. phone, laptop (absent: from the name)")
    aliases: str = Field("aliases", description="other names: a JSON list, or '|'-separated")
    release_date: str = Field("release_date", description="announce or release date")


class CatalogConfig(_Strict):
    """Your product catalog: the one file the NER gazetteer, the linker, the graph and the
    agent read. No catalog: NER still runs, the linker links nothing."""

    path: str | None = Field(None, description="catalog file, .jsonl or .csv")
    columns: CatalogColumns = Field(
        default_factory=CatalogColumns, description='field -> column, e.g. {name = "Model"}'
    )
    brand_from_name: bool = Field(
        False,
        description="no brand column: the name's first word is the brand ('Nokia 6610'), "
        "its first two where they are a line of their own ('Sony Ericsson T610')",
    )
    cache: str = Field(
        ".distill/catalog", description="folder of the candidate index, per catalog version"
    )


class Config(_Strict):
    llm: LLMConfig = LLMConfig()
    tasks: dict[str, TaskConfig] = Field(default_factory=dict)
    catalog: CatalogConfig = CatalogConfig()
    graph: GraphConfig = GraphConfig()
    index: IndexConfig = IndexConfig()
    pipeline: PipelineConfig = PipelineConfig()
    agent: AgentConfig = AgentConfig()
    guardrail: Literal["flag", "remove", "refuse"] = Field(
        "flag",
        description="unsupported claims in agent answers: flag them, remove them, or refuse",
    )

    def task(self, name: str) -> TaskConfig:
        """The settings of one task; a task absent from the file runs with defaults."""
        return self.tasks.get(name) or TaskConfig()

    def with_task(self, name: str, **changes: Any) -> Config:
        """A copy with some of one task's settings changed (checked like the file's):
        `--labels`, `model:DIR` sources, benchmarks that pin a task's labels."""
        settings = TaskConfig.model_validate(self.task(name).model_dump() | changes)
        return self.model_copy(update={"tasks": {**self.tasks, name: settings}})

    def catalog_source(self) -> CatalogConfig:
        """`[catalog]`; when its path is unset, the deprecated `tasks.linker.options.catalog`
        (with `options.columns`), so older config files keep working."""
        if self.catalog.path:
            return self.catalog
        options = self.task("linker").options
        if not options.get("catalog"):
            return self.catalog
        columns = options.get("columns") or options.get("catalog_columns") or {}
        return self.catalog.model_copy(
            update={
                "path": str(options["catalog"]),
                "columns": CatalogColumns.model_validate(
                    {k: v for k, v in columns.items() if v is not None}
                ),
                # the older mapping spelt "brand = first word of the name" as brand = None
                "brand_from_name": "brand" in columns and columns["brand"] is None,
            }
        )


class LoadedConfig(BaseModel):
    """The effective config and, for every value set anywhere, where it came from."""

    config: Config
    sources: dict[str, str]

    def source_of(self, dotted_key: str) -> str:
        return self.sources.get(dotted_key, DEFAULT)

    def rows(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every leaf, defaults included, sorted by key."""
        flat = _flatten(self.config.model_dump(mode="json"))
        return [(key, value, self.source_of(key)) for key, value in sorted(flat.items())]


def load_config(
    path: str | Path | None = None,
    *,
    overrides: Iterable[str] = (),
    backends: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Merge defaults < `distill.toml` < `DISTILL_*` environment < CLI flags, then validate.

    `path=None` reads `./distill.toml` when it exists. `overrides` are `key=value`
    strings (`llm.provider=ollama`); `backends` are `task=backend` (`ner=prompt`,
    `all=prompt` for every task).
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    file = Path(path) if path is not None else Path(CONFIG_FILE)
    if path is not None or file.exists():
        for key, value in _flatten(_read_toml(file)).items():
            _set(merged, sources, key, value, str(file))

    for name, raw in sorted(environ.items()):
        if name.startswith(ENV_PREFIX) and "__" in name:
            key = name[len(ENV_PREFIX) :].lower().replace("__", ".")
            _set(merged, sources, key, _parse_value(raw), f"env {name}")

    for item in overrides:
        key, value = _split_assignment(item, "--set", "llm.provider=ollama")
        _set(merged, sources, key, _parse_value(value), f"--set {item}")

    for item in backends:
        task, backend = _split_assignment(item, "--backend", "ner=prompt")
        tasks = [task] if task != "all" else _known_task_names(merged)
        for name in tasks:
            _set(merged, sources, f"tasks.{name}.backend", backend, f"--backend {item}")

    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, sources)) from None
    return LoadedConfig(config=config, sources=sources)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def _known_task_names(merged: dict[str, Any]) -> list[str]:
    from distill.registry import registry

    return sorted(set(registry().tasks) | set(merged.get("tasks", {})))


def _split_assignment(item: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{flag} expects KEY=VALUE, e.g. {flag} {example}; got {item!r}")
    return key.strip().lower(), value.strip()


def _parse_value(raw: str) -> Any:
    """Environment and flag values are strings; accept JSON/TOML scalars and lists too."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        lowered = raw.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return raw


def _set(tree: dict[str, Any], sources: dict[str, str], key: str, value: Any, source: str) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: {key!r} sets a field inside {part!r}, which is a value")
        node = child
    node[leaf] = value
    sources[key] = source


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _explain(exc: ValidationError, sources: dict[str, str]) -> str:
    lines = ["invalid configuration:"]
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        where = sources.get(key) or next(
            (source for k, source in sources.items() if k.startswith(key + ".")), DEFAULT
        )
        if error["type"] == "extra_forbidden":
            known = _fields_at(Config, loc[:-1])
            hint = difflib.get_close_matches(loc[-1], known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            allowed = f" (known: {', '.join(sorted(known))})" if known else ""
            lines.append(f"  unknown key {key!r} from {where}{suggestion}{allowed}")
        else:
            lines.append(f"  {key} = {error.get('input')!r} from {where}: {error['msg']}")
    return "\n".join(lines)


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    """Field names of the model reached by walking `loc`; a dict field consumes one key."""
    current: Any = model
    parts = iter(loc)
    for part in parts:
        field = current.model_fields.get(part) if _is_model(current) else None
        if field is None:
            return []
        current = field.annotation
        if getattr(current, "__origin__", None) is dict:
            current = current.__args__[1]
            next(parts, None)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)
