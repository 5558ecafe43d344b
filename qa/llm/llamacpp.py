"""A LangChain chat model over llama_cpp.Llama.create_chat_completion, in process (no langchain-community)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

N_CTX = 4096  # the prompt holds k passages of ~1,000 characters: ~1,500-2,500 tokens
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LlamaCppChat(BaseChatModel):
    """`llamacpp:<path.gguf>`: the model's own chat template (from the GGUF), greedy decoding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    llama: Any
    max_tokens: int  # kbqa.qa.llm.models sets it, as for every backend

    @classmethod
    def load(cls, path: str, max_tokens: int) -> LlamaCppChat:
        from llama_cpp import Llama

        return cls(llama=Llama(model_path=path, n_ctx=N_CTX, verbose=False), max_tokens=max_tokens)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _messages(self, messages: list[BaseMessage]) -> list[dict]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        out = self.llama.create_chat_completion(
            self._messages(messages), temperature=0.0, max_tokens=self.max_tokens, stop=stop
        )
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for part in self.llama.create_chat_completion(
            self._messages(messages), temperature=0.0, max_tokens=self.max_tokens, stop=stop, stream=True
        ):
            text = part["choices"][0].get("delta", {}).get("content") or ""
            if text:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
