"""The `trained` NER backend: a spaCy pipeline or a MiniLM tagger, plus the catalog gazetteer.

The model card's `kind` says which: `minilm-ner` (`distill train ner --set arch=minilm`,
`plugins/ner/transformer.py`; predicts character spans, snapped to the doc's tokens, in
bfloat16 where `use_bf16()` says it is fast, `options.bf16` overrides), else spaCy.

The pipeline is the one `distill train ner` saved (`tasks.ner.model`), or, when no
model is configured, the general product/brand model that ships in
`plugins/ner/general/` (built by `scripts/build_ner_model.py` from WNUT-17 and review
sentences filled with product names from product tables). When a
catalog is configured (`[catalog] path`) and the task's labels include PRODUCT or
BRAND, the gazetteer's matches come first and the model adds what they do not cover:
names the catalog knows are found whatever the model learnt, and the model finds the
products and brands the catalog lacks (a product of the model that holds a catalog brand
and a model number, "sony f717", replaces the brand). `options.gazetteer = false` turns
it off.

A model trained with `--teacher` carries the reviewed forms (`reviewed_forms.json`,
`corrections.py`): its spans are relabelled and completed by them, as its training data
were.

The model's spans of name labels (PRODUCT and BRAND; `options.names = [...]` declares
others, `[]` none) are cleaned of junk the way names need (`gazetteer.clean`: no
"#38", no span of plain lower-case English words); spans of other labels, such as a
cooking task's INGREDIENT "garlic", are kept as the model found them.

The pipeline's components run on a copy of each input doc's tokens (same words,
same spaces), so the input tokenization is kept: gold CoNLL tokens stay gold, and
entities transfer back by token index without any offset guesswork. Only the labels
the model was trained for (its card's) come out: a model started from a pretrained
NER (`--set base=en_core_web_md --set start=ner`) still holds the base's labels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from distill.backend import Backend, BackendOptions
from distill.errors import ConfigError, PluginError
from distill.model_card import dir_size_mb, load_card
from distill.plugins.linker.catalog import Catalog, catalog_option
from distill.plugins.linker.embed import use_bf16
from distill.plugins.ner import transformer
from distill.plugins.ner.corrections import load_forms
from distill.plugins.ner.gazetteer import NAMES, Gazetteer, clean, merge
from distill.plugins.ner.transformer import TokenNER
from distill.registry import register_backend
from distill.spec import TaskSpec

GENERAL_MODEL = Path(__file__).resolve().parent / "general"
"""The shipped general product/brand model (WNUT-17, CoNLL ORG, template reviews with product
names; cased and lower-cased)."""


def catalog_gazetteer(options: BackendOptions, labels: Sequence[str]) -> Gazetteer | None:
    """The gazetteer of the configured catalog, when there is one and the labels fit."""
    settings = catalog_option(options.extra.get("catalog"), options.extra.get("columns"))
    if settings is None or options.extra.get("gazetteer") is False:
        return None
    if labels and not {"PRODUCT", "BRAND"} & set(labels):
        return None
    return _gazetteer(Catalog.from_config(settings))


def name_labels(options: BackendOptions) -> frozenset[str]:
    """The labels whose spans must look like names (`options.names`, default PRODUCT, BRAND)."""
    names = options.extra.get("names", NAMES)
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ConfigError(
            f'tasks.ner.options.names must be a list of labels, e.g. names = ["PRODUCT"], '
            f"not {names!r}"
        )
    return frozenset(names)


_built: dict[str, Gazetteer] = {}


def _gazetteer(catalog: Catalog) -> Gazetteer:
    """One gazetteer per catalog version per process (building one takes a second or two)."""
    if catalog.digest not in _built:
        _built.clear()
        _built[catalog.digest] = Gazetteer(catalog)
    return _built[catalog.digest]


@register_backend("ner", "trained")
class TrainedNER(Backend):
    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        if not self.options.model_path:
            if not (GENERAL_MODEL / "pipeline").is_dir():
                raise PluginError(
                    f"the general NER model is missing ({GENERAL_MODEL}); rebuild it with "
                    "`python scripts/build_ner_model.py`, or set tasks.ner.model"
                )
            self.options.model_path = str(GENERAL_MODEL)
        self.card = load_card(self.options.model_path, task.name)
        labels = list(task.labels) or list(self.card.labels)
        self.gazetteer = catalog_gazetteer(self.options, labels)  # a bad catalog fails first
        self.names = name_labels(self.options)
        self.trained_labels = frozenset(self.card.labels)
        self.nlp: Language | None = None
        self.transformer: TokenNER | None = None
        self.forms = load_forms(Path(self.options.model_path))
        if self.card.kind == transformer.KIND:
            self.transformer = TokenNER.load(self.options.model_path)
            self.transformer.bf16 = use_bf16(self.options.extra.get("bf16"))
        else:
            self.nlp = spacy.load(Path(self.options.model_path) / "pipeline")

    def _model_spans(self, docs: Sequence[Doc]) -> Iterator[list[Span]]:
        """Each doc's entities as the model found them, on the doc's own tokens."""
        if self.transformer is not None:
            for doc, spans in zip(
                docs, self.transformer.predict([d.text for d in docs]), strict=True
            ):
                yield transformer.char_spans(doc, spans)
            return
        assert self.nlp is not None
        copies = (_copy(doc, self.nlp.vocab) for doc in docs)
        for doc, annotated in zip(
            docs, self.nlp.pipe(copies, batch_size=self.options.batch_size), strict=True
        ):
            yield [Span(doc, e.start, e.end, label=e.label_) for e in annotated.ents]

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc, spans in zip(docs, self._model_spans(docs), strict=True):
            found = clean(
                (s for s in spans if not self.trained_labels or s.label_ in self.trained_labels),
                self.names,
            )
            if self.forms is not None:  # the reviewer's forms keep the reviewer's labels
                found = self.forms.spans(doc, filter_spans(found))
            if self.gazetteer is not None:
                doc.ents = merge(self.gazetteer.spans(doc), found)
            else:
                doc.ents = filter_spans(found)
        return list(docs)

    def model_name(self) -> str:
        name = str(self.options.model_path)
        if self.gazetteer is not None:
            name += f"+gazetteer@{self.gazetteer.catalog.digest[:8]}"
        return name

    def size_mb(self) -> float | None:
        return dir_size_mb(self.options.model_path or ".")


@register_backend("ner", "gazetteer")
class GazetteerNER(Backend):
    """Only the catalog's names and brands: no model, nothing outside the catalog."""

    def __init__(self, task: TaskSpec, options: BackendOptions | None = None) -> None:
        super().__init__(task, options)
        gazetteer = catalog_gazetteer(self.options, [])
        if gazetteer is None:
            raise PluginError(
                'the gazetteer NER backend needs a catalog: set [catalog] path = "products.jsonl"'
                " in distill.toml"
            )
        self.gazetteer = gazetteer

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc in docs:
            doc.ents = self.gazetteer.spans(doc)
        return list(docs)

    def model_name(self) -> str:
        return f"gazetteer@{self.gazetteer.catalog.digest[:8]}"


def _copy(doc: Doc, vocab: Vocab) -> Doc:
    """`doc`'s tokens in the model's vocab; one pass, as spaCy makes a Token per access."""
    pairs = [(token.text, bool(token.whitespace_)) for token in doc]
    return Doc(vocab, words=[word for word, _ in pairs], spaces=[space for _, space in pairs])
