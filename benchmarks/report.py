"""Shared by every benchmark: the machine description and section-wise BENCHMARKS.md updates."""

from __future__ import annotations

import os
import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nEvery figure here is written by a script under `benchmarks/`; "
    "rerun it to refresh its section.\n"
)


def cpu() -> str:
    """CPU model and what decides MiniLM's speed on it, e.g. "AMD EPYC, AVX512-BF16": its
    bfloat16 hardware as the models see it (`bf16_hardware()`), else "AVX2" (float32)."""
    from distill.plugins.linker.embed import bf16_hardware

    name, flags = "unknown CPU", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        match = re.search(r"model name\s*:\s*(.+)", text)
        name = match.group(1).strip() if match else name
        match = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(match.group(1).split()) if match else set()
    label = bf16_hardware() or ("AVX2" if "avx2" in flags else None)
    return f"{name}, {label}" if label else name


def machine(measured: str | None = None) -> str:
    """One line: CPU model, cores, memory, Python, date (`measured`, else today: a section
    rebuilt from stored rows keeps the date they were measured)."""
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        memory = f", {int(match.group(1)) / 1024**2:.0f} GiB RAM" if match else ""
    return (
        f"{cpu()}, {os.cpu_count()} cores{memory}, no GPU; Python {platform.python_version()}; "
        f"measured {measured or date.today().isoformat()}"
    )


def write_section(title: str, body: str) -> None:
    """Replace the `## title` section of BENCHMARKS.md (or append it), leaving the others alone."""
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: section + "\n", text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{section}"
    )
    BENCHMARKS_MD.write_text(text.rstrip() + "\n", encoding="utf-8")
