"""Convert UIT-ViNewsQA dev (contexts.jsonl + questions.jsonl) to `kbqa eval`'s corpus and question files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def convert(src: Path, out: Path) -> tuple[int, int]:
    """Write out/corpus.jsonl ({"id","title","text"}) and out/questions.jsonl ({"qid","question","doc_id",
    "answers"}); returns (documents, questions)."""
    out.mkdir(parents=True, exist_ok=True)
    n_docs = n_questions = 0
    with (src / "contexts.jsonl").open(encoding="utf-8") as lines, (out / "corpus.jsonl").open("w") as corpus:
        for line in lines:
            ctx = json.loads(line)
            corpus.write(json.dumps({"id": ctx["cid"], "title": ctx["title"], "text": ctx["text"]}, ensure_ascii=False))
            corpus.write("\n")
            n_docs += 1
    with (src / "questions.jsonl").open(encoding="utf-8") as lines, (out / "questions.jsonl").open("w") as questions:
        for line in lines:
            q = json.loads(line)
            row = {"qid": q["qid"], "question": q["question"], "doc_id": q["cid"], "answers": q["answers"]}
            questions.write(json.dumps(row, ensure_ascii=False) + "\n")
            n_questions += 1
    return n_docs, n_questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", type=Path, help="folder with contexts.jsonl and questions.jsonl")
    parser.add_argument("out", type=Path, nargs="?", default=Path("/tmp/vinewsqa"), help="output folder")
    args = parser.parse_args()
    if not (args.src / "contexts.jsonl").is_file() or not (args.src / "questions.jsonl").is_file():
        sys.exit(f"convert_vinewsqa: error: {args.src} has no contexts.jsonl and questions.jsonl")
    docs, questions = convert(args.src, args.out)
    print(f"wrote {docs} documents, {questions} questions to {args.out}/corpus.jsonl, questions.jsonl")


if __name__ == "__main__":
    main()
