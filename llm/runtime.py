"""llama.cpp on whatever x86-64 CPU we land on: choose the CPU backend at run time, prove it
works before using it, and turn a crash of the native code into an error that says what to do.

`scripts/llama_wheel.sh` builds llama-cpp-python with `GGML_NATIVE=OFF`, `GGML_BACKEND_DL=ON`
and `GGML_CPU_ALL_VARIANTS=ON`: the ggml CPU backend exists once per instruction set (x64,
sse42, haswell = AVX2, skylakex/icelake = AVX-512, sapphirerapids = AVX-512 + AMX, zen4, …)
as a loadable library. llama-cpp-python does not load them itself, so we do, through ctypes,
before the first model.

Why not simply let ggml load the best-scoring variant: a CPU may advertise an instruction set
its hypervisor does not really give (on this project's Intel VMs the AMX variant dies with
SIGILL as soon as a prompt is long enough to use the AMX kernels). A SIGILL inside native
code can be neither caught nor reported by Python; the user sees nothing. So, once per
(build, CPU, model), `preflight` runs a realistic prompt in a child process with each
supported variant, best first, and pins the first that survives; the answer is cached.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from distill.errors import LLMError
from distill.paths import cache_dir

VARIANT_ENV = "DISTILL_GGML_CPU_VARIANT"
"""Force one CPU variant (e.g. `haswell` = AVX2) instead of the preflight's choice."""
PREFERENCE = [
    "sapphirerapids",
    "zen4",
    "cooperlake",
    "cascadelake",
    "icelake",
    "cannonlake",
    "skylakex",
    "alderlake",
    "haswell",
    "piledriver",
    "ivybridge",
    "sandybridge",
    "sse42",
    "x64",
]
"""Variants from the widest instruction set down; ggml refuses any the CPU lacks."""
REBUILD_HINT = (
    "Rebuild it portably: `rm -rf .venv ~/.cache/distill/wheels && make install` "
    "(scripts/llama_wheel.sh builds with GGML_NATIVE=OFF and every CPU variant)."
)
PROBE_PROMPT = "The battery lasts two days and the screen is bright. " * 24
"""~300 tokens: long enough for the batched matrix kernels, where wide instructions live."""


def library_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).resolve().parent / "lib"


def variant_dir() -> Path:
    """Where the wheel put the CPU variant libraries: `llama_cpp/lib`, or `site-packages/bin`
    (llama-cpp-python's CMake install rule for loadable backends)."""
    for folder in (library_dir(), library_dir().parents[1] / "bin"):
        if any(folder.glob("libggml-cpu-*.so")):
            return folder
    return library_dir()


def cpu_variants() -> list[str]:
    """The CPU backend variants this build ships, best first (empty for a static build)."""
    shipped = {
        path.name.removeprefix("libggml-cpu-").removesuffix(".so")
        for path in variant_dir().glob("libggml-cpu-*.so")
    }
    known = [name for name in PREFERENCE if name in shipped]
    return known + sorted(shipped - set(known))


@functools.cache
def load_cpu_backend(variant: str | None) -> str | None:
    """Load one CPU variant into llama.cpp's ggml; None for a static build. Once per process."""
    if not cpu_variants():
        return None  # static build: the CPU backend is linked in
    if variant not in cpu_variants():
        raise LLMError(f"llama.cpp CPU variant {variant!r} is not in this build: {cpu_variants()}")
    import llama_cpp  # noqa: F401  (loads libllama and its libggml first)
    from llama_cpp._utils import suppress_stdout_stderr

    # the very file libllama links to: the wheel holds copies, not symlinks, and "libggml.so"
    # would be a second library with a backend registry of its own
    ggml = ctypes.CDLL(str(library_dir() / "libggml.so.0"), mode=ctypes.RTLD_GLOBAL)
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    with suppress_stdout_stderr(disable=False):  # ggml logs each library it loads
        loaded = ggml.ggml_backend_load(str(variant_dir() / f"libggml-cpu-{variant}.so").encode())
    if not loaded:
        raise LLMError(f"llama.cpp CPU variant {variant!r} is not supported by this CPU")
    return variant


def prepare(model_path: str) -> str | None:
    """Make llama.cpp ready to run `model_path` in this process; return the CPU variant used."""
    return load_cpu_backend(preflight(model_path))


def load_cpu_backends(model_path: str | None = None) -> str | None:
    """`prepare` for the embedded default model (for a process that starts llama.cpp's own
    server or Llama objects itself)."""
    if model_path is None:
        from distill.llm.models import model_file

        model_path = str(model_file(None))
    return prepare(model_path)


def active_variant() -> str:
    """The CPU variant loaded in this process, for display."""
    if not cpu_variants():
        return "static build"
    return next((v for v in cpu_variants() if _is_loaded(v)), "not loaded yet")


def _is_loaded(variant: str) -> bool:
    try:
        return any(f"libggml-cpu-{variant}.so" in line for line in open("/proc/self/maps"))
    except OSError:
        return False


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


def preflight(model_path: str) -> str | None:
    """The CPU variant to use: the widest that runs a real prompt on this CPU (cached).

    A static build ("" variant) is probed too: one built natively on another machine is the
    classic source of `Illegal instruction`."""
    import llama_cpp

    forced = os.environ.get(VARIANT_ENV)
    parts = [llama_cpp.__version__, build_info().get("key", ""), _cpu_flags(), forced or ""]
    parts += [str(library_dir().stat().st_mtime), model_path]
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    stamp = cache_dir() / "llama-preflight" / f"{key}.json"
    if stamp.exists():
        return json.loads(stamp.read_text())["variant"] or None
    tried: list[str] = []
    for variant in [forced] if forced else (cpu_variants() or [""]):
        outcome = _probe_in_child(model_path, variant)
        if outcome == "ok":
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"variant": variant, "rejected": tried, **build_info()}))
            return variant or None
        tried.append(f"{variant}: {outcome}")
    raise LLMError(
        "llama.cpp cannot run on this CPU with any CPU variant of the installed build "
        f"({'; '.join(tried)}). {REBUILD_HINT}"
    )


def _probe_in_child(model_path: str, variant: str) -> str:
    """ "ok", or why this variant failed; a SIGILL kills only the child."""
    probe = "import sys; from distill.llm.runtime import _probe; _probe(sys.argv[1], sys.argv[2])"
    try:
        result = subprocess.run(
            [sys.executable, "-c", probe, model_path, variant],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        return "no answer in 900 s"
    if result.returncode == 0:
        return "ok"
    if result.returncode in (-signal.SIGILL, 128 + signal.SIGILL):
        return "illegal instruction"
    return (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]


def _probe(model_path: str, variant: str) -> None:
    """Child side of `preflight`: load the model with `variant` and run a ~300-token prompt."""
    load_cpu_backend(variant)
    from llama_cpp import Llama

    llama = Llama(model_path=model_path, n_ctx=512, n_batch=512, verbose=False)
    llama.create_completion(PROBE_PROMPT, max_tokens=2, temperature=0.0)
    llama.close()
