"""Many structured-output requests to the embedded model at once: one llama.cpp batch per step.

On a CPU a single-token decode step is bound by reading the weights; a step that advances
eight sequences costs two to three times as much and yields eight tokens. `ChatLocalLlama`
decodes one conversation at a time on its llama.cpp context, so a prompt backend asking
for hundreds of short answers (the teacher of the distillation loop) spends its time
re-reading weights. `ParallelDecoder` keeps a second context on the *same loaded model*
(no second copy of the weights) whose unified KV cache holds up to `n_seq` sequences:

- the prompt prefix every request shares (instructions, few-shot examples) is evaluated
  once into a reserved sequence, shared by every request's sequence (`seq_cp` shares the
  KV cells, it copies nothing) and kept for the next batch;
- each request evaluates only its own suffix, all suffixes in one batch;
- decoding is greedy under each request's JSON schema, compiled by llguidance (the
  constrained-decoding library llama.cpp itself can be built with). The schema is checked
  against the unconstrained best token first and the whole vocabulary masked only when it
  refuses it: the same choice, a fraction of the work;
- text the schema forces (`{"opinions":[["battery life","`, a closing `"]]}`) is not
  decoded token by token: llguidance's fast-forward tokens are appended at once and
  evaluated in the sequence's next step like prompt tokens, so a step advances a sequence
  to its next real choice (the answers of a term-polarity task are mostly forced);
- an answer ends when its JSON value closes (the schema allows nothing else), without
  decoding the end-of-turn token;
- longer prompts start first: a long text tends to have a long answer, and one started
  last would decode alone at the end of the batch while the other slots stand empty;
- while few sequences run (the tail of a batch), each also sends a *draft*: the tokens
  that followed its last tokens in its own prompt (answers copy names and terms from the
  text and JSON from the examples). A step checks them all at once and keeps the ones
  greedy decoding would have chosen, so a sequence may advance several tokens per step;
- steps run on every core while that is faster, on one while another job holds a core
  (`ThreadChooser`: llama.cpp's threads wait for each other at every layer).

Measured in BENCHMARKS.md, "Teacher speed".

Used by the prompt backend for the local model at temperature 0 with the model's own chat
template; anything else goes through LangChain's `batch`. Replies are cached in the chat
model's response cache (keyed by messages, schema and model).
"""

from __future__ import annotations

import atexit
import functools
import json
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGeneration

PARALLEL_SEQUENCES = 32
"""Sequences decoded together. On 2 cores a step of 32 tokens costs ~5 single-token steps
(0.48 s against 0.09 s), of 16 ~3; beyond ~32 a step costs as much per token as a prompt."""
CONTEXT = 32768
"""KV cells shared by the prefix and every running sequence's prompt, answer and draft
(~28 KB each for the 1.5B model: ~0.9 GB; only used cells are attended to)."""
BATCH = 1024
"""Tokens per `llama_decode` call (prompt suffixes of new sequences, drafts)."""
UBATCH = 128
"""Tokens per llama.cpp compute step in this context. Measured here (Xeon, zen4 variant, 2
threads): 512 tokens in one ubatch ran at 49 tokens/s, no faster than on one thread (51),
in ubatches of 128 at 96-108 (a step of 128 tokens alone: 108)."""
TIMED_STEP = 64
"""Steps of at most this many tokens are timed to choose the thread count."""
DRAFT = 4
"""Most draft tokens per sequence and step, looked up in its own prompt (0: no drafting)."""
STEP_TOKENS = 16
"""Drafts fill a step up to this many tokens, where a token still costs much less than a
step: none while 16 or more sequences run, several each in the last few (about a third
of drafted tokens are kept)."""
THREADS: int | None = None
"""Most CPU threads per step; None: llama-cpp-python's batch default (all cores). Fewer
are used while that is faster (`ThreadChooser`)."""
_PREFIX_SEQ = 0
"""The sequence holding the shared prompt prefix; requests use sequences 1..n_seq."""
_decoders: dict[int, ParallelDecoder] = {}
_decoders_lock = threading.Lock()


@dataclass
class _Sequence:
    seq_id: int
    prompt: list[int]
    matcher: Any
    """llguidance's `LLMatcher`: the schema's state after the answer so far."""
    max_tokens: int
    tokens: list[int] = field(default_factory=list)
    evaluated: int = 0
    """Answer tokens already in the KV cache; the rest are evaluated in the next step."""
    done: bool = False
    history: list[int] = field(default_factory=list)
    """Prompt and answer so far: where drafts are looked up."""
    after_pair: dict[tuple[int, int], int] = field(default_factory=dict)
    """Token pair -> index in `history` of the token after its latest occurrence."""
    after_one: dict[int, int] = field(default_factory=dict)
    """Token -> index in `history` of the token after its latest occurrence."""

    def __post_init__(self) -> None:
        self.history = list(self.prompt)
        h = self.history
        for i in range(1, len(h)):
            self.after_one[h[i - 1]] = i
            if i >= 2:
                self.after_pair[(h[i - 2], h[i - 1])] = i

    def append(self, token: int) -> None:
        self.tokens.append(token)
        h = self.history
        h.append(token)
        if len(h) >= 2:
            self.after_one[h[-2]] = len(h) - 1
        if len(h) >= 3:
            self.after_pair[(h[-3], h[-2])] = len(h) - 1

    def draft(self, limit: int, spaced: int | None = None) -> list[int]:
        """Prompt-lookup drafting: the tokens that followed the last two tokens (else the
        last one; else `spaced`, the last token with a leading space, as a name is written
        inside the text rather than after a JSON quote) where they last occurred before.
        Answers copy the text (entities, terms) and the examples' JSON, so runs of tokens
        are guessed right and checked in one step."""
        h = self.history
        if limit <= 0 or len(h) < 2:
            return []
        at = self.after_pair.get((h[-2], h[-1]))
        if at is None:
            at = self.after_one.get(h[-1])
        if at is None and spaced is not None:
            at = self.after_one.get(spaced)
        return [] if at is None else h[at : at + limit]


class ParallelDecoder:
    """Greedy, schema-constrained generation for many prompts on one loaded `Llama`."""

    def __init__(
        self,
        llama: Any,
        n_seq: int | None = None,
        n_ctx: int | None = None,
        draft: int | None = None,
        threads: int | None = None,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals, llama_chat_format
        from llguidance.llamacpp import lltokenizer_from_vocab

        self.llama = llama
        self.n_seq = n_seq or PARALLEL_SEQUENCES
        self.draft = DRAFT if draft is None else draft
        self.n_batch = BATCH
        self.step_tokens = STEP_TOKENS
        self.n_vocab = llama.n_vocab()
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx or CONTEXT
        params.n_batch = BATCH
        params.n_ubatch = UBATCH
        params.n_seq_max = self.n_seq + 1
        params.kv_unified = True  # the shared prefix is stored once
        # a step decodes a few tokens of many sequences: compute-bound like a prompt, so
        # every core (llama.cpp's generation default of half the cores leaves one idle),
        # unless other jobs make one thread faster
        most = threads or THREADS or llama.context_params.n_threads_batch
        self.threads = ThreadChooser(most, timed_most=TIMED_STEP)
        self._threads_set = params.n_threads = params.n_threads_batch = most
        params.no_perf = True
        self.ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.n_ctx = self.ctx.n_ctx()
        self.batch = llama_cpp.llama_batch_init(BATCH, 0, self.n_seq + 1)
        self.vocab = llama._model.vocab
        self.prefix: list[int] = []
        self.lock = threading.Lock()
        self.stats = {
            "steps": 0,
            "drafted": 0,
            "accepted": 0,
            "tokens": 0,
            "forced": 0,
            "masked": 0,
        }
        """Steps, draft tokens sent and kept, answer tokens chosen by the model and forced by
        the schema, tokens chosen under the full mask (the model's best was refused)."""
        with warnings.catch_warnings():  # it calls a deprecated alias once per token
            warnings.simplefilter("ignore", DeprecationWarning)
            self.tokenizer = lltokenizer_from_vocab(llama._model.vocab)  # ~1 s per model
        eos, bos = llama.token_eos(), llama.token_bos()
        self.formatter = llama_chat_format.Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"],
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
        )
        self._spaces: dict[int, int | None] = {}

    def close(self) -> None:
        import llama_cpp

        llama_cpp.llama_batch_free(self.batch)
        self.ctx.close()

    # public API

    def tokens(self, messages: list[dict[str, Any]]) -> list[int]:
        """The prompt tokens `create_chat_completion` would evaluate for `messages`."""
        prompt = self.formatter(messages=messages).prompt
        return self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def generate(
        self, prompts: Sequence[list[int]], schemas: Sequence[dict[str, Any]], max_tokens: int
    ) -> list[str]:
        """The completion of each prompt, decoded greedily under its JSON schema."""
        for prompt in prompts:
            if not self.fits(prompt, max_tokens):
                raise ValueError(f"a prompt of {len(prompt)} tokens does not fit {self.n_ctx}")
        if not prompts:
            return []
        sequences = [
            _Sequence(0, list(p), self._matcher(schema), max_tokens)
            for p, schema in zip(prompts, schemas, strict=True)
        ]
        for s in sequences:  # the answer's forced opening goes in with the prompt
            self._force(s)
        with self.lock:
            shared = _common_prefix(prompts)
            shared = min([shared, *(len(p) - 1 for p in prompts)])
            self._prefill_prefix(list(prompts[0][:shared]))
            queue = sorted((s for s in sequences if not s.done), key=lambda s: -len(s.prompt))
            self._run(queue, shared)
        return [
            self.llama.detokenize(s.tokens, special=False).decode("utf-8", errors="replace")
            for s in sequences
        ]

    def fits(self, prompt: list[int], max_tokens: int) -> bool:
        return len(prompt) + max_tokens + self.draft + 1 <= self.n_ctx

    # internals

    def _run(self, queue: list[_Sequence], shared: int) -> None:
        """Continuous batching: `n_seq` slots; a finished sequence frees its slot for the next
        prompt, whose suffix is evaluated in the same step as the others' next tokens. Each
        running sequence sends the tokens it has not evaluated yet (its last choice and the
        forced text after it) and a draft; the longest run of draft tokens that greedy
        decoding would have chosen is kept, the rest dropped from the KV cache."""
        waiting = list(queue)
        active: dict[int, _Sequence] = {}  # slot -> sequence
        free = list(range(1, self.n_seq + 1))
        budget = self.n_ctx - shared
        try:
            while waiting or active:
                entries: list[tuple[int, int, int, bool]] = []
                plans: list[tuple[_Sequence, int, list[int]]] = []
                pending = sum(len(s.tokens) - s.evaluated for s in active.values())
                room = max(0, self.step_tokens - pending) // max(1, len(active))
                for s in active.values():  # each running sequence: its new tokens, a draft
                    pos = len(s.prompt) + s.evaluated
                    new = s.tokens[s.evaluated :]
                    entries.extend(
                        (s.seq_id, t, pos + i, i == len(new) - 1) for i, t in enumerate(new)
                    )
                    limit = min(self.draft, room, s.max_tokens - len(s.tokens))
                    draft = self._draft(s, limit) if limit > 0 else []
                    plans.append((s, len(entries) - 1, draft))
                    pos += len(new)
                    entries.extend((s.seq_id, t, pos + i, True) for i, t in enumerate(draft))
                    s.evaluated = len(s.tokens)
                while waiting and free:  # start new sequences while the batch and KV allow
                    s = waiting[0]
                    need = len(s.prompt) - shared + s.max_tokens + self.draft
                    size = len(s.prompt) - shared + len(s.tokens)
                    if need > budget or len(entries) + size > self.n_batch:
                        if not active and not entries:
                            self._start(s, free.pop(0), shared, entries, big=True)
                            active[s.seq_id] = s
                            plans.append((s, len(entries) - 1, []))
                            waiting.pop(0)
                            budget -= need
                        break
                    s = waiting.pop(0)
                    self._start(s, free.pop(0), shared, entries, big=False)
                    active[s.seq_id] = s
                    plans.append((s, len(entries) - 1, []))
                    budget -= need
                self._decode(entries)
                self.stats["steps"] += 1
                for s, first, draft in plans:
                    for j in range(len(draft) + 1):
                        token = self._choose(s, first + j)
                        if s.done or j == len(draft) or token != draft[j]:
                            break
                        s.evaluated += 1  # the draft token was the right one: it is in the cache
                    self.stats["drafted"] += len(draft)
                    self.stats["accepted"] += j
                    if not s.done:
                        self._force(s)
                    if s.done:
                        del active[s.seq_id]
                        self.ctx.kv_cache_seq_rm(s.seq_id, -1, -1)
                        free.append(s.seq_id)
                        budget += len(s.prompt) - shared + s.max_tokens + self.draft
                    elif j < len(draft):  # drop the rejected draft tokens' cells
                        self.ctx.kv_cache_seq_rm(s.seq_id, len(s.prompt) + s.evaluated, -1)
        finally:
            for s in active.values():
                self.ctx.kv_cache_seq_rm(s.seq_id, -1, -1)

    def _start(
        self,
        s: _Sequence,
        slot: int,
        shared: int,
        entries: list[tuple[int, int, int, bool]],
        *,
        big: bool,
    ) -> None:
        """Give `s` a slot holding the shared prefix and queue its own prompt tokens and the
        answer's forced opening (a prompt too long for one batch is evaluated now, all but
        its last token)."""
        s.seq_id = slot
        self.ctx.kv_cache_seq_rm(slot, -1, -1)
        if shared:
            self.ctx.kv_cache_seq_cp(_PREFIX_SEQ, slot, 0, shared)
        own = s.prompt[shared:] + s.tokens
        rest = [(slot, tok, shared + i, False) for i, tok in enumerate(own)]
        rest[-1] = (*rest[-1][:3], True)
        s.evaluated = len(s.tokens)
        if big:
            for start in range(0, len(rest) - 1, self.n_batch):
                self._decode(rest[start : min(start + self.n_batch, len(rest) - 1)])
            rest = rest[-1:]
        entries.extend(rest)

    def _matcher(self, schema: dict[str, Any]) -> Any:
        """A fresh llguidance matcher for `schema`; a schema it cannot compile is an error."""
        from llguidance import LLMatcher

        matcher = LLMatcher(self.tokenizer, _grammar(json.dumps(schema, sort_keys=True)))
        if matcher.is_error():
            raise ValueError(f"the JSON schema cannot be decoded: {matcher.get_error()}")
        return matcher

    def _force(self, s: _Sequence) -> None:
        """Append the tokens the schema forces next (they are evaluated in the next step);
        the answer is done when the schema allows nothing more."""
        forced = s.matcher.compute_ff_tokens()[: s.max_tokens - len(s.tokens)]
        if forced and s.matcher.consume_tokens(forced):
            for token in forced:
                s.append(token)
            self.stats["forced"] += len(forced)
        s.done = s.done or s.matcher.is_stopped() or len(s.tokens) >= s.max_tokens

    def _draft(self, s: _Sequence, limit: int) -> list[int]:
        """The forced text llguidance keeps back from its fast-forward tokens (its last token
        might merge with what follows; the model checks it), else a prompt-lookup draft."""
        forced = s.matcher.compute_ff_bytes()
        if forced:
            return self.llama.tokenize(forced, add_bos=False, special=False)[:limit]
        return s.draft(limit, self._spaced(s.tokens[-1]) if s.tokens else None)

    def _prefill_prefix(self, prefix: list[int]) -> None:
        """Keep the shared prefix in its own sequence; evaluate only what changed."""
        keep = _common_prefix([self.prefix, prefix])
        self.ctx.kv_cache_seq_rm(_PREFIX_SEQ, keep, -1)
        rest = [(_PREFIX_SEQ, tok, keep + i, False) for i, tok in enumerate(prefix[keep:])]
        for start in range(0, len(rest), self.n_batch):
            self._decode(rest[start : start + self.n_batch])
        self.prefix = list(prefix)

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        import llama_cpp

        batch = self.batch
        batch.n_tokens = len(entries)
        for i, (seq_id, token, pos, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq_id
            batch.logits[i] = logits
        threads = self.threads.next(len(entries))
        if threads != self._threads_set:
            llama_cpp.llama_set_n_threads(self.ctx.ctx, threads, threads)
            self._threads_set = threads
        start = time.perf_counter()
        status = llama_cpp.llama_decode(self.ctx.ctx, batch)
        self.threads.record(threads, len(entries), time.perf_counter() - start)
        if status != 0:
            raise RuntimeError(f"llama_decode failed ({status}) on {len(entries)} tokens")

    def _choose(self, s: _Sequence, index: int) -> int:
        """Greedy under the schema: the best token if the schema allows it, else the best
        the schema allows. Ends the sequence on an end-of-generation token, when the JSON
        value is complete (the schema allows nothing more) or at max_tokens."""
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.ctx.ctx, index), shape=(self.n_vocab,)
        )
        token = int(np.argmax(logits))
        if s.matcher.try_consume_tokens([token]) != 1:  # refused: the best the schema allows
            self.stats["masked"] += 1
            bits = np.frombuffer(s.matcher.compute_bitmask(), dtype=np.uint8)
            allowed = np.unpackbits(bits, bitorder="little")[: self.n_vocab].astype(bool)
            if not allowed.any():  # nothing allowed: the answer is complete or stuck
                s.done = True
                return -1
            token = int(np.argmax(np.where(allowed, logits, -np.inf)))
            s.matcher.consume_token(token)
        if llama_cpp.llama_vocab_is_eog(self.vocab, token):
            s.done = True
            return token
        s.append(token)
        self.stats["tokens"] += 1
        s.done = len(s.tokens) >= s.max_tokens or s.matcher.is_stopped()
        return token

    def _piece(self, token: int) -> bytes:
        return self.llama._model.token_to_piece(token).rstrip(b"\0")

    def _spaced(self, token: int) -> int | None:
        """The token for the same text after a space ('Paris' -> ' Paris'), if one is."""
        if token not in self._spaces:
            piece = self._piece(token)
            ids = self.llama.tokenize(b" " + piece, add_bos=False, special=False)
            self._spaces[token] = ids[0] if len(ids) == 1 and piece[:1].isalnum() else None
        return self._spaces[token]


class ThreadChooser:
    """The thread count for the next llama.cpp step, chosen by timing the steps.

    On an idle CPU every core is fastest. But llama.cpp's threads wait for each other at
    every layer, so while another job holds a core a step on both cores takes 10-20x longer
    than on one (measured here: 2.4 s against 0.13 s for one token), and that changes while
    a batch runs. So each option is timed twice (the first step of a process pages the
    weights in), the cheaper one per token is used, and the other is tried again now and
    then (half as often each time it loses, at least every 8 x `probe_every` steps).

    Only steps of at most `timed_most` tokens are timed and probed: a prompt-sized step costs
    a different amount per token than a decoding step, so comparing one thread's decoding
    step with two threads' prompt step picked the wrong option (the cause of NER teacher
    runs at 12 words/s instead of 19 on an idle machine); large steps take the current best."""

    OVERHEAD = 8
    """A step costs about as much as this many more tokens (reading the weights)."""

    def __init__(self, most: int, probe_every: int = 4, timed_most: int | None = None) -> None:
        self.timed_most = timed_most
        self.options = [most, 1] if most > 1 else [1]
        self.cost: dict[int, float] = {}
        """Threads -> seconds per token (steps averaged, the newest weighing half)."""
        self.samples: dict[int, int] = {}
        self.base = self.every = probe_every
        self.since = 0
        self.probe: int | None = None

    def best(self) -> int:
        return min(self.options, key=lambda n: self.cost.get(n, 0.0))

    def next(self, tokens: int = 1) -> int:
        if not self._timed(tokens):
            self.probe = None
            return self.best()
        self.probe = next((n for n in self.options if self.samples.get(n, 0) < 2), None)
        if self.probe is None and len(self.options) > 1 and self.since >= self.every:
            self.probe = next(n for n in self.options if n != self.best())
        return self.best() if self.probe is None else self.probe

    def _timed(self, tokens: int) -> bool:
        return self.timed_most is None or tokens <= self.timed_most

    def record(self, threads: int, tokens: int, seconds: float) -> None:
        if not self._timed(tokens):
            return
        cost = seconds / (tokens + self.OVERHEAD)
        old = self.cost.get(threads)
        probed = self.probe == threads
        self.samples[threads] = self.samples.get(threads, 0) + 1
        # a probe replaces the estimate; so does each option's second step (the first may
        # pay for paging the weights in)
        self.cost[threads] = cost if old is None or probed else (old + cost) / 2
        if probed:
            self.since = 0
            won = self.best() == threads
            self.every = self.base if won else min(self.every * 2, 8 * self.base)
        else:
            self.since += 1


@functools.lru_cache(maxsize=256)
def _grammar(schema_json: str) -> str:
    """llguidance's grammar for a JSON schema, compact (no optional whitespace: answers are
    short and the prompts' examples are compact too)."""
    from llguidance import LLMatcher

    return LLMatcher.grammar_from_json_schema(schema_json, defaults={"whitespace_flexible": False})


def _common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    if not sequences:
        return 0
    n = 0
    for tokens in zip(*sequences, strict=False):
        if any(t != tokens[0] for t in tokens):
            break
        n += 1
    return n


# the chat-model side: which models it serves, the response cache


def decoder_for(chat: Any) -> ParallelDecoder | None:
    """The parallel decoder of a local chat model, or None when it cannot serve it (another
    provider, sampling temperature, a chat format other than the model's own template)."""
    from distill.llm.local import ChatLocalLlama

    if not isinstance(chat, ChatLocalLlama) or chat.temperature != 0:
        return None
    llama, _ = chat.llama()
    if llama.chat_handler is not None or llama.chat_format != "chat_template.default":
        return None
    with _decoders_lock:
        decoder = _decoders.get(id(llama))
        if decoder is None or decoder.llama is not llama:
            decoder = _decoders[id(llama)] = ParallelDecoder(llama)
        return decoder


@atexit.register
def _close_decoders() -> None:
    """Free the contexts before `distill.llm.local` frees the models they run on (atexit
    runs this first: this module is imported after that one)."""
    for decoder in _decoders.values():
        decoder.close()
    _decoders.clear()


def structured_batch(
    chat: Any, conversations: Sequence[list[BaseMessage]], schemas: Sequence[type]
) -> list[Any]:
    """Each conversation answered as its pydantic schema, decoded in parallel; an exception
    in place of an answer that does not parse. Cached in `chat.cache` like any reply."""
    from distill.llm.local import inline_refs

    decoder = decoder_for(chat)
    assert decoder is not None, "structured_batch needs a local model (see decoder_for)"
    json_schemas = [inline_refs(schema.model_json_schema()) for schema in schemas]
    model = json.dumps(chat._identifying_params, sort_keys=True, default=str)
    keys = [
        (dumps(messages), f"parallel|{model}|{json.dumps(schema, sort_keys=True)}")
        for messages, schema in zip(conversations, json_schemas, strict=True)
    ]
    cache = chat.cache if chat.cache not in (None, True, False) else None
    texts: list[str | None] = [None] * len(conversations)
    if cache is not None:
        for i, key in enumerate(keys):
            hit = cache.lookup(*key)
            texts[i] = hit[0].text if hit else None
    prompts = {
        i: decoder.tokens(convert_to_openai_messages(conversations[i]))
        for i, text in enumerate(texts)
        if text is None
    }
    todo = [i for i, prompt in prompts.items() if decoder.fits(prompt, chat.max_tokens)]
    fresh = (
        decoder.generate(
            [prompts[i] for i in todo], [json_schemas[i] for i in todo], chat.max_tokens
        )
        if todo
        else []
    )
    for i, text in zip(todo, fresh, strict=True):
        texts[i] = text
        if cache is not None:
            cache.update(*keys[i], [ChatGeneration(message=AIMessage(content=text))])
    answers: list[Any] = []
    for text, schema in zip(texts, schemas, strict=True):
        if text is None:
            answers.append(ValueError(f"the prompt does not fit the {decoder.n_ctx}-token context"))
            continue
        try:
            answers.append(schema.model_validate_json(text))
        except Exception as exc:  # a reply cut short by max_tokens, or refused by the schema
            answers.append(exc)
    return answers
