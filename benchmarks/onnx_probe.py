"""Would ONNX Runtime run the MiniLM cross-encoder (the fact-checker) faster than torch?

Issue 14 lists "int8/ONNX inference for the MiniLM models" among the ideas to measure. This
probe exports the shipped fact-checker (encoder + mean pool + head) to ONNX once, then scores
HaluEval qa (length-matched) and dialogue and the demo's claims, on the dev or test carve of
`benchmarks/factcheck_data.py`, with four engines on the same length-sorted batches of 8:
torch float32, torch bfloat16 (what the backend runs where the CPU has bfloat16 hardware),
ONNX Runtime float32, and ONNX Runtime with per-channel dynamic int8 weights. It prints
checks/s and the supported-vs-not accuracy (the guardrail's decision) of each.

    pip install onnx onnxruntime      # not dependencies of distill
    python -m benchmarks.onnx_probe [--split dev|test] [--data ../shared/data]

Not part of the product: it prints a table, BENCHMARKS.md (*Fact-checking*) quotes it.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.factcheck_data import demo_split, halueval_split, length_matched
from distill.plugins.factcheck.general import general_model_path
from distill.plugins.factcheck.model import Check
from distill.plugins.factcheck.nli import NliModel
from distill.plugins.factcheck.nli_train import examples
from distill.plugins.linker.embed import attention_kernel, in_bf16

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
Engine = Callable[[dict[str, torch.Tensor]], np.ndarray]


class Logits(nn.Module):
    """The checker's forward pass (`NliModel.logits`) as one module, for the exporter."""

    def __init__(self, model: NliModel) -> None:
        super().__init__()
        self.encoder, self.head = model.encoder, model.head  # registered: exported weights
        self.model = [model]  # in a list: not a second registration of the same modules

    def forward(self, input_ids, attention_mask, token_type_ids):
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.model[0].logits(batch | {"token_type_ids": token_type_ids})


def export(model: NliModel, folder: Path) -> tuple[Path, Path]:
    """float32 and per-channel int8 ONNX files of a copy of `model` (exporting the model
    itself left it giving other logits afterwards, in this process)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    twin = copy.deepcopy(model)
    example = twin.batch(twin.tokenize([("Q: who? A: a claim", "some evidence")] * 2))
    fp32, int8 = folder / "factcheck.onnx", folder / "factcheck.int8.onnx"
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"logits": {0: "batch"}}
    with attention_kernel(twin.encoder, "eager"), torch.no_grad():
        torch.onnx.export(
            Logits(twin).eval(),
            tuple(example[name] for name in INPUTS),
            str(fp32),
            input_names=list(INPUTS),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return fp32, int8


def torch_engine(model: NliModel) -> Engine:
    def run(batch: dict[str, torch.Tensor]) -> np.ndarray:
        with torch.inference_mode(), attention_kernel(model.encoder, "sdpa"):
            return model.logits(batch).float().numpy()

    return run


def onnx_engine(path: Path) -> Engine:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(batch: dict[str, torch.Tensor]) -> np.ndarray:
        return session.run(None, {name: batch[name].numpy() for name in INPUTS})[0]

    return run


def logits(model: NliModel, engine: Engine, checks: Sequence[Check], size: int = 8) -> np.ndarray:
    """Length-sorted batches of `size`, as `NliModel.probabilities` makes them."""
    ids = model.tokenize(model.pairs(checks))
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), 3), dtype=np.float32)
    for start in range(0, len(order), size):
        rows = order[start : start + size]
        out[rows] = engine(model.batch([ids[i] for i in rows]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    part = {"dev": 1, "test": 2}[args.split]
    halueval = args.data / "halueval"
    sets = {
        "halueval_qa (length-matched)": examples(
            length_matched(halueval_split(halueval / "qa_data.first20pct.json")[part])
        ),
        "halueval_dialogue": examples(
            halueval_split(halueval / "dialogue_data.first20pct.json")[part]
        ),
        "demo_claims": examples(demo_split()[part]),
    }
    model = NliModel.load(general_model_path())
    model.train(False)
    bf16 = copy.deepcopy(model)
    bf16.encoder, bf16.head = in_bf16(bf16.encoder), in_bf16(bf16.head)
    with tempfile.TemporaryDirectory() as folder:
        fp32_file, int8_file = export(model, Path(folder))
        engines = {
            "torch float32": torch_engine(model),
            "torch bfloat16": torch_engine(bf16),
            "ONNX Runtime float32": onnx_engine(fp32_file),
            "ONNX Runtime int8 (per channel)": onnx_engine(int8_file),
        }
        print(f"| set ({args.split}) | engine | n | supported vs. not | checks/s |")
        print("|---|---|---|---|---|")
        for name, (checks, targets, _) in sets.items():
            supported = np.array(targets) == 0
            for engine_name, engine in engines.items():
                logits(model, engine, checks[:16])  # warm up
                started = time.perf_counter()
                scores = logits(model, engine, checks)
                seconds = time.perf_counter() - started
                p = torch.tensor(scores).softmax(-1)[:, 0].numpy()
                accuracy = float(((p >= model.threshold) == supported).mean())
                print(
                    f"| {name} | {engine_name} | {len(checks)} | {accuracy:.3f} | "
                    f"{len(checks) / seconds:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
