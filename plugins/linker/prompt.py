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
from distill.plugins.linker.candidates import CandidateIndex
from distill.plugins.linker.catalog import Catalog
from distill.plugins.linker.task import is_pair
from distill.plugins.prompt_backend import PromptBackend
from distill.registry import register_backend
from distill.spec import TaskSpec

TOP_K = 5


@register_backend("linker", "prompt")
class PromptLinker(PromptBackend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        self.catalog_path, self.columns = self._catalog_source()
        self.top_k = int(self.options.extra.get("top_k", TOP_K))  # type: ignore[arg-type]
        self._indexes: dict[str, CandidateIndex] = {}

    def _catalog_source(self) -> tuple[str | None, dict | None]:
        if self.options.extra.get("catalog"):
            return str(self.options.extra["catalog"]), self.options.extra.get("columns")  # type: ignore[return-value]
        model = Path(self.options.model_path) if self.options.model_path else None
        if model and model.is_file():
            return str(model), None
        if model and (model / "linker.json").is_file():
            import json

            info = json.loads((model / "linker.json").read_text(encoding="utf-8"))
            return info.get("catalog_path"), info.get("catalog_columns")
        return None, None

    def index(self, path: str | None) -> CandidateIndex:
        path = path or self.catalog_path
        if not path:
            from distill.errors import PluginError

            raise PluginError(
                "the prompt linker needs a catalog: --model CATALOG_FILE, a trained linker "
                'directory, or BackendOptions.extra["catalog"]'
            )
        if path not in self._indexes:
            semantic = bool(self.options.extra.get("semantic", True))
            self._indexes[path] = CandidateIndex(Catalog.load(path, self.columns), semantic)
        return self._indexes[path]

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
