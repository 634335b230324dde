"""llama.cpp on whatever x86-64 CPU we land on: pick the CPU backend at run time, and turn a
crash of the native code into an error that says what to do.

`scripts/llama_wheel.sh` builds llama-cpp-python with `GGML_BACKEND_DL=ON` and
`GGML_CPU_ALL_VARIANTS=ON`: the ggml CPU backend exists once per instruction set (sse42,
haswell = AVX2, skylakex = AVX-512, sapphirerapids = AVX-512 + AMX, zen4, …) as a loadable
library, and ggml scores each against the running CPU and loads the best one. llama-cpp-python
does not call `ggml_backend_load_all` itself, so we do, through ctypes, before the first model
is loaded. A build without those libraries (a plain static build) needs nothing and is left
alone.

A build made for another CPU dies with SIGILL inside native code, where Python can neither
catch nor report it: the user sees `Illegal instruction` or nothing. So before the first
model load in a process we run a tiny generation in a child process, once per (build, CPU,
model), and remember the result in the cache directory.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

from distill.errors import LLMError
from distill.paths import cache_dir

REBUILD_HINT = (
    "Rebuild it portably: `rm -rf .venv ~/.cache/distill/wheels && make install` "
    "(scripts/llama_wheel.sh builds with GGML_NATIVE=OFF and every CPU variant)."
)


def library_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).resolve().parent / "lib"


def cpu_variants() -> list[str]:
    """The CPU backend variants this build ships (empty for a static build)."""
    return sorted(
        path.name.removeprefix("libggml-cpu-").removesuffix(".so")
        for path in library_dir().glob("libggml-cpu-*.so")
    )


@functools.cache
def load_cpu_backends() -> list[str]:
    """Load ggml's dynamically loadable backends (best CPU variant first); return their names."""
    if not cpu_variants():
        return []  # static build: the CPU backend is linked in
    import llama_cpp  # noqa: F401  (loads libggml with the right search path first)

    ggml = ctypes.CDLL(str(library_dir() / "libggml.so"), mode=ctypes.RTLD_GLOBAL)
    ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load_all_from_path(str(library_dir()).encode())
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    ggml.ggml_backend_reg_get.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    ggml.ggml_backend_reg_name.restype = ctypes.c_char_p
    ggml.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    names = [
        ggml.ggml_backend_reg_name(ggml.ggml_backend_reg_get(i)).decode()
        for i in range(ggml.ggml_backend_reg_count())
    ]
    if not names:
        raise LLMError(
            f"llama.cpp found no CPU backend among {cpu_variants()} in {library_dir()} that "
            f"this CPU can run. {REBUILD_HINT}"
        )
    return names


def build_info() -> dict[str, str]:
    """What the installed llama-cpp-python was built with (written by scripts/llama_wheel.sh)."""
    stamp = library_dir().parent / "distill_build.json"
    if stamp.exists():
        return json.loads(stamp.read_text())
    return {"flags": "unknown (not built by scripts/llama_wheel.sh)", "key": "unknown"}


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


def preflight(model_path: str) -> None:
    """Prove in a child process that this build runs this model on this CPU (once, cached)."""
    import llama_cpp

    key = hashlib.sha256(
        "|".join(
            [
                llama_cpp.__version__,
                build_info().get("key", ""),
                str(Path(llama_cpp.__file__).stat().st_mtime),
                _cpu_flags(),
                model_path,
            ]
        ).encode()
    ).hexdigest()[:16]
    stamp = cache_dir() / "llama-preflight" / f"{key}.ok"
    if stamp.exists():
        return
    probe = "import sys; from distill.llm.runtime import _probe; _probe(sys.argv[1])"
    try:
        result = subprocess.run(
            [sys.executable, "-c", probe, model_path],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        raise LLMError(f"llama.cpp did not answer a 2-token probe in 600 s ({model_path})") from exc
    if result.returncode in (-signal.SIGILL, 128 + signal.SIGILL):
        raise LLMError(
            "llama.cpp crashed with 'Illegal instruction': the installed llama-cpp-python was "
            f"built for another CPU (build: {build_info().get('flags')}). {REBUILD_HINT}"
        )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise LLMError(
            f"llama.cpp failed a 2-token probe with exit code {result.returncode}: {detail}"
        )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(result.stdout)


def _probe(model_path: str) -> None:
    """Child side of `preflight`: load the model and generate two tokens."""
    from llama_cpp import Llama

    backends = load_cpu_backends()
    llama = Llama(model_path=model_path, n_ctx=128, n_batch=32, verbose=False)
    llama.create_completion("Hello", max_tokens=2, temperature=0.0)
    llama.close()
    print(json.dumps({"backends": backends, "variants": cpu_variants(), **build_info()}))
