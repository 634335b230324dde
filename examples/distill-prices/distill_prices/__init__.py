"""Find prices in text: a whole distill plugin (task spec + backend) in one module."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field
from spacy.tokens import Doc

from distill.backend import Backend
from distill.registry import register_backend, register_task
from distill.spec import TaskSpec

CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "usd": "USD", "eur": "EUR", "gbp": "GBP"}
AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
PRICE = re.compile(
    rf"(?P<pre>[$€£])\s?(?P<a>{AMOUNT})|(?P<b>{AMOUNT})\s?(?P<post>(?:usd|eur|gbp)\b|€)",
    re.IGNORECASE,
)


class Price(BaseModel):
    text: str
    amount: float
    currency: str = Field(description="ISO 4217 code")
    start: int
    end: int


class Prices(BaseModel):
    prices: list[Price] = Field(default_factory=list)


@register_task
class PricesTask(TaskSpec):
    name = "prices"
    description = "Find the prices mentioned in a text, with amount and currency."
    default_labels = ("USD", "EUR", "GBP")
    output_schema = Prices
    default_backend = "rules"

    def read(self, doc: Doc) -> Prices:
        return doc._.results.get(self.name) or Prices()

    def write(self, doc: Doc, output: BaseModel) -> None:
        doc._.results[self.name] = output


@register_backend("prices", "rules")
class PriceRules(Backend):
    """A regular expression: no model, no LLM, microseconds per review."""

    def predict(self, docs: Sequence[Doc]) -> list[Doc]:
        for doc in docs:
            found = [_price(match) for match in PRICE.finditer(doc.text)]
            self.task.write(
                doc, Prices(prices=[p for p in found if p.currency in self.task.labels])
            )
        return list(docs)


def _price(match: re.Match[str]) -> Price:
    symbol = match["pre"] or match["post"]
    amount = (match["a"] or match["b"]).replace(",", "")
    return Price(
        text=match.group(0),
        amount=float(amount),
        currency=CURRENCIES[symbol.lower()],
        start=match.start(),
        end=match.end(),
    )
