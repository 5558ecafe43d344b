"""Follow-up rewriting by the LLM: "And when did they meet?" after a question becomes a standalone question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kbqa.qa.followup import MAX_FOLLOWUP_WORDS, Rewrite, rewrite

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

SYSTEM = """You rewrite a follow-up question into one standalone question that can be understood without the \
conversation. Keep its language (Vietnamese stays Vietnamese, English stays English), replace words such as \
"they", "it", "họ", "còn ... thì sao" by what they refer to in the previous question, and add nothing else. \
Reply with the rewritten question only."""

EXAMPLES = [
    ("Mỹ và Hàn Quốc hợp tác về công nghệ nào?", "Còn Nhật Bản thì sao?", "Mỹ và Nhật Bản hợp tác về công nghệ nào?"),
    ("When did Korea and the US sign the deal?", "Where was it signed?", "Where did Korea and the US sign the deal?"),
]
MAX_GROWTH = 4  # a rewrite longer than this many times question + previous is the model rambling: not used


def _messages(question: str, previous: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("system", SYSTEM)]
    for before, follow, standalone in EXAMPLES:
        out += [("human", f"Previous question: {before}\nFollow-up: {follow}"), ("ai", standalone)]
    return [*out, ("human", f"Previous question: {previous}\nFollow-up: {question}")]


def may_follow_up(question: str, rules: Rewrite) -> bool:
    """Worth asking the model: the rules saw a follow-up, or the question is short enough to lean on the last."""
    return rules.rewritten or len(question.split()) <= MAX_FOLLOWUP_WORDS


def llm_rewrite(model: BaseChatModel, question: str, previous: str | None) -> Rewrite:
    """A standalone query for `question` written by `model` (a LangChain chat model) from the previous standalone
    query; the rule-based rewrite (kbqa.qa.followup) when there is nothing to rewrite, or the model fails or rambles.
    A "what about X?" focus found by the rules is kept."""
    rules = rewrite(question, previous)
    if not previous or not may_follow_up(rules.question, rules):
        return rules
    try:
        reply = model.invoke(_messages(rules.question, " ".join(previous.split())))
    except Exception:  # unreachable, timed out: the rules' rewrite stands
        return rules
    text = reply.content if isinstance(reply.content, str) else "".join(map(str, reply.content))
    text = " ".join(text.strip().strip("\"'`").split())
    if text.lower().startswith(("follow-up:", "standalone question:")):
        text = text.split(":", 1)[1].strip()
    if not text or len(text) > MAX_GROWTH * (len(question) + len(previous)):
        return rules
    return Rewrite(rules.question, text, rules.focus)
