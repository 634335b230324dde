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
- decoding is greedy under each request's JSON schema, compiled to a llama.cpp grammar
  exactly as `create_chat_completion` compiles `response_format`. The grammar is checked
  against the unconstrained best token first and applied to the whole vocabulary only when
  it refuses it (what llama.cpp's own sampler does): the same choice, a fraction of the work.

Used by the prompt backend for the local model at temperature 0 with the model's own chat
template; anything else goes through LangChain's `batch`. Replies are cached in the chat
model's response cache (keyed by messages, schema and model).
"""

from __future__ import annotations

import atexit
import ctypes
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGeneration

PARALLEL_SEQUENCES = 16
"""Sequences decoded together. On 2 cores one step of 8 costs ~2.5 single steps, of 16 ~3."""
CONTEXT = 12288
"""KV cells shared by the prefix and every sequence's prompt and longest possible answer."""
BATCH = 512
_PREFIX_SEQ = 0
"""The sequence holding the shared prompt prefix; requests use sequences 1..n_seq."""
_decoders: dict[int, ParallelDecoder] = {}
_decoders_lock = threading.Lock()


@dataclass
class _Sequence:
    seq_id: int
    prompt: list[int]
    grammar: Any
    max_tokens: int
    tokens: list[int] = field(default_factory=list)
    done: bool = False


class ParallelDecoder:
    """Greedy, schema-constrained generation for many prompts on one loaded `Llama`."""

    def __init__(self, llama: Any, n_seq: int = PARALLEL_SEQUENCES, n_ctx: int = CONTEXT) -> None:
        import llama_cpp
        from llama_cpp import _internals, llama_chat_format

        self.llama = llama
        self.n_seq = n_seq
        self.n_vocab = llama.n_vocab()
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = BATCH
        params.n_seq_max = n_seq + 1
        params.kv_unified = True  # the shared prefix is stored once
        # a step decodes a few tokens per sequence: generation, so the generation thread
        # count (llama.cpp's batch threads spin-wait badly on a CPU shared with other jobs)
        params.n_threads = params.n_threads_batch = llama.context_params.n_threads
        params.no_perf = True
        self.ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.n_ctx = self.ctx.n_ctx()
        self.batch = llama_cpp.llama_batch_init(BATCH, 0, n_seq + 1)
        self.vocab = llama._model.vocab
        self.prefix: list[int] = []
        self.lock = threading.Lock()
        eos, bos = llama.token_eos(), llama.token_bos()
        self.formatter = llama_chat_format.Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"],
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
        )
        self._candidates = np.zeros(
            self.n_vocab, dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)])
        )
        self._candidates["id"] = np.arange(self.n_vocab, dtype=np.intc)
        self._one = (llama_cpp.llama_token_data * 1)()

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
        from llama_cpp.llama_grammar import LlamaGrammar

        for prompt in prompts:
            if not self.fits(prompt, max_tokens):
                raise ValueError(f"a prompt of {len(prompt)} tokens does not fit {self.n_ctx}")
        grammars = [LlamaGrammar.from_json_schema(json.dumps(s), verbose=False) for s in schemas]
        if not prompts:
            return []
        with self.lock:
            shared = _common_prefix(prompts)
            shared = min([shared, *(len(p) - 1 for p in prompts)])
            self._prefill_prefix(list(prompts[0][:shared]))
            sequences = [
                _Sequence(0, list(p), g, max_tokens) for p, g in zip(prompts, grammars, strict=True)
            ]
            self._run(sequences, shared)
        return [
            self.llama.detokenize(s.tokens, special=False).decode("utf-8", errors="replace")
            for s in sequences
        ]

    def fits(self, prompt: list[int], max_tokens: int) -> bool:
        return len(prompt) + max_tokens + 1 <= self.n_ctx

    # internals

    def _run(self, queue: list[_Sequence], shared: int) -> None:
        """Continuous batching: `n_seq` slots; a finished sequence frees its slot for the next
        prompt, whose suffix is evaluated in the same step as the others' next tokens."""
        import llama_cpp

        waiting = list(queue)
        active: dict[int, tuple[_Sequence, Any]] = {}  # slot -> (sequence, grammar sampler)
        free = list(range(1, self.n_seq + 1))
        budget = self.n_ctx - shared
        try:
            while waiting or active:
                entries: list[tuple[int, int, int, bool]] = []
                for s, _ in active.values():  # each running sequence: its last token
                    entries.append(
                        (s.seq_id, s.tokens[-1], len(s.prompt) + len(s.tokens) - 1, True)
                    )
                while waiting and free:  # start new sequences while the batch and KV allow
                    s = waiting[0]
                    need = len(s.prompt) - shared + s.max_tokens
                    if need > budget or len(entries) + len(s.prompt) - shared > BATCH:
                        if not active and not entries:
                            self._start(s, free.pop(0), shared, entries, big=True)
                            active[s.seq_id] = (s, self._grammar(s))
                            waiting.pop(0)
                        break
                    s = waiting.pop(0)
                    self._start(s, free.pop(0), shared, entries, big=False)
                    active[s.seq_id] = (s, self._grammar(s))
                    budget -= need
                self._decode(entries)
                for index, (seq_id, _, _, logits) in enumerate(entries):
                    if not logits:
                        continue
                    s, grammar = active[seq_id]
                    self._sample(s, grammar, index)
                    if s.done:
                        llama_cpp.llama_sampler_free(grammar)
                        del active[seq_id]
                        self.ctx.kv_cache_seq_rm(seq_id, -1, -1)
                        free.append(seq_id)
                        budget += len(s.prompt) - shared + s.max_tokens
        finally:
            for s, grammar in active.values():
                llama_cpp.llama_sampler_free(grammar)
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
        """Give `s` a slot holding the shared prefix and queue its own prompt tokens (a
        prompt too long for one batch is evaluated now, all but its last token)."""
        s.seq_id = slot
        self.ctx.kv_cache_seq_rm(slot, -1, -1)
        if shared:
            self.ctx.kv_cache_seq_cp(_PREFIX_SEQ, slot, 0, shared)
        rest = [(slot, tok, shared + i, False) for i, tok in enumerate(s.prompt[shared:])]
        rest[-1] = (*rest[-1][:3], True)
        if big:
            for start in range(0, len(rest) - 1, BATCH):
                self._decode(rest[start : min(start + BATCH, len(rest) - 1)])
            rest = rest[-1:]
        entries.extend(rest)

    def _grammar(self, s: _Sequence) -> Any:
        import llama_cpp

        return llama_cpp.llama_sampler_init_grammar(
            self.vocab, s.grammar._grammar.encode(), s.grammar._root.encode()
        )

    def _prefill_prefix(self, prefix: list[int]) -> None:
        """Keep the shared prefix in its own sequence; evaluate only what changed."""
        keep = _common_prefix([self.prefix, prefix])
        self.ctx.kv_cache_seq_rm(_PREFIX_SEQ, keep, -1)
        rest = [(_PREFIX_SEQ, tok, keep + i, False) for i, tok in enumerate(prefix[keep:])]
        for start in range(0, len(rest), BATCH):
            self._decode(rest[start : start + BATCH])
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
        status = llama_cpp.llama_decode(self.ctx.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed ({status}) on {len(entries)} tokens")

    def _sample(self, s: _Sequence, grammar: Any, index: int) -> None:
        """Greedy under the grammar: the best token if the grammar allows it, else the best
        the grammar allows. Ends the sequence on an end-of-generation token or max_tokens."""
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.ctx.ctx, index), shape=(self.n_vocab,)
        )
        token = int(np.argmax(logits))
        if not self._allowed(grammar, token, float(logits[token])):
            candidates = self._candidates
            candidates["logit"] = logits
            array = llama_cpp.llama_token_data_array(
                data=candidates.ctypes.data_as(llama_cpp.llama_token_data_p),
                size=self.n_vocab,
                selected=-1,
                sorted=False,
            )
            llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))
            token = int(np.argmax(candidates["logit"]))
            if candidates["logit"][token] == -np.inf:  # nothing allowed: the grammar is done
                s.done = True
                return
        llama_cpp.llama_sampler_accept(grammar, token)
        if llama_cpp.llama_vocab_is_eog(self.vocab, token):
            s.done = True
            return
        s.tokens.append(token)
        s.done = len(s.tokens) >= s.max_tokens

    def _allowed(self, grammar: Any, token: int, logit: float) -> bool:
        import llama_cpp

        self._one[0].id, self._one[0].logit, self._one[0].p = token, logit, 0.0
        array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(array))
        return self._one[0].logit != -np.inf


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
