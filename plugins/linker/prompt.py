"""The linker's `prompt` backend: the generic prompt backend, after candidate generation.

The LLM never sees the catalog, only the top-k candidates of each mention (put in
`doc._.meta["candidates"]` for the task's prompt hooks) and picks one or none,
under a schema that allows only those numbers. Pair docs (Ditto) need no catalog.

The catalog comes from `BackendOptions.extra["catalog"]`, the doc's meta
(`"catalog"`), a trained linker's directory (`--model`, its recorded catalog) or
`--model` naming the catalog file itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spacy.tokens import Doc

from distill.backend import BackendOptions
from distill.config import CatalogConfig
from distill.plugins.linker.candidates import CandidateIndex
from distill.plugins.linker.catalog import Catalog, catalog_option, settings_for
from distill.plugins.linker.task import is_pair
from distill.plugins.prompt_backend import PromptBackend
from distill.registry import register_backend
from distill.spec import TaskSpec

TOP_K = 5


@register_backend("linker", "prompt")
class PromptLinker(PromptBackend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        self.settings = self._catalog_source()
        self.top_k = int(self.options.extra.get("top_k", TOP_K))  # type: ignore[arg-type]
        self._indexes: dict[str, CandidateIndex] = {}

    def _catalog_source(self) -> CatalogConfig | None:
        extra = self.options.extra
        configured = catalog_option(extra.get("catalog"), extra.get("columns"))
        if configured is not None:
            return configured
        model = Path(self.options.model_path) if self.options.model_path else None
        if model and model.is_file():
            return settings_for(model)
        if model and (model / "linker.json").is_file():
            import json

            info = json.loads((model / "linker.json").read_text(encoding="utf-8"))
            if info.get("catalog_path"):
                return settings_for(info["catalog_path"], info.get("catalog_columns"))
        return None

    def index(self, path: str | None) -> CandidateIndex:
        settings = settings_for(path) if path else self.settings
        if settings is None:
            from distill.errors import PluginError

            raise PluginError(
                'the prompt linker needs a catalog: set [catalog] path = "products.jsonl" in '
                "distill.toml, or --model CATALOG_FILE or a trained linker directory"
            )
        key = settings.model_dump_json()
        if key not in self._indexes:
            semantic = bool(self.options.extra.get("semantic", True))
            cache = settings.cache if settings is self.settings else None
            catalog = Catalog.from_config(settings)
            self._indexes[key] = CandidateIndex(catalog, semantic, cache=cache)
        return self._indexes[key]

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        linking = [d for d in docs if not is_pair(d) and len(d.ents)]
        for doc in linking:
            index = self.index((doc._.meta or {}).get("catalog"))
            found = index.generate([e.text for e in doc.ents], k=self.top_k)
            entries = index.catalog.entries
            doc._.meta["candidates"] = {
                f"{ent.start_char}:{ent.end_char}": [
                    {"id": entries[c.index].id, "text": entries[c.index].text()[:160]}
                    for c in cands[: self.top_k]
                ]
                for ent, cands in zip(doc.ents, found, strict=True)
            }
        active = [d for d in docs if is_pair(d) or len(d.ents)]
        if active:
            super().predict(active)
        return list(docs)
