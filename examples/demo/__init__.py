"""The product-review demo (`distill demo`): code and data together, outside the product.

`run` trains the demo's small models from the labelled reviews here, ingests them and
evaluates on the held-out ones; `claims` builds the fact-checker's training claims from
the same reviews. Only the CLI's `demo` command (and the chat's fallback to the demo
graph) imports this package; nothing in the product layers does.
"""
