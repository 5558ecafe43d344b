"""Follow-up rewriting by the LLM (kbqa.qa.llm.followup), with LangChain's fake chat models; the chat's path to it."""

from __future__ import annotations

from dataclasses import replace

from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from kbqa.qa.followup import rewrite
from kbqa.qa.llm.followup import llm_rewrite

PREVIOUS = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"


class Recorder(FakeListChatModel):
    """A fake chat model that keeps the prompts it was given."""

    seen: list = []

    def invoke(self, messages, *args, **kwargs):
        self.seen.append(messages)
        return super().invoke(messages, *args, **kwargs)


def test_the_model_writes_the_standalone_query_and_the_rules_keep_the_focus():
    model = Recorder(responses=["Nhật Bản và Mỹ nhất trí hợp tác về những công nghệ nào?"], seen=[])
    turn = llm_rewrite(model, "Còn Nhật Bản thì sao?", PREVIOUS)
    assert turn.query == "Nhật Bản và Mỹ nhất trí hợp tác về những công nghệ nào?"
    assert turn.question == "Còn Nhật Bản thì sao?" and turn.focus == "Nhật Bản"
    prompt = model.seen[0]
    assert prompt[0][0] == "system" and "standalone" in prompt[0][1]
    assert prompt[-1] == ("human", f"Previous question: {PREVIOUS}\nFollow-up: Còn Nhật Bản thì sao?")


def test_a_pronoun_follow_up_the_rules_cannot_resolve_goes_to_the_model():
    question = "What did the two sides promise?"
    assert not rewrite(question, PREVIOUS).rewritten  # the rules see no cue here
    model = FakeListChatModel(responses=['"What did Korea and the US promise?"'])
    assert llm_rewrite(model, question, PREVIOUS).query == "What did Korea and the US promise?"


def test_no_previous_question_or_a_long_new_question_asks_no_model():
    model = Recorder(responses=["should not be used"], seen=[])
    assert llm_rewrite(model, "Giá vàng hôm nay bao nhiêu?", None).query == "Giá vàng hôm nay bao nhiêu?"
    long = "Bộ Y tế yêu cầu các bệnh viện hoàn thành hồ sơ bệnh án điện tử trước mốc thời gian nào?"
    assert llm_rewrite(model, long, PREVIOUS).query == long
    assert model.seen == []


def test_a_failing_or_rambling_model_leaves_the_rules_rewrite():
    class Down(GenericFakeChatModel):
        def invoke(self, *args, **kwargs):
            raise ConnectionError("refused")

    rules = rewrite("Còn Nhật Bản thì sao?", PREVIOUS)
    down = Down(messages=iter([]))
    assert llm_rewrite(down, "Còn Nhật Bản thì sao?", PREVIOUS) == rules
    rambling = GenericFakeChatModel(messages=iter([AIMessage(content="Sure! " * 200)]))
    assert llm_rewrite(rambling, "Còn Nhật Bản thì sao?", PREVIOUS) == rules
    empty = FakeListChatModel(responses=["  "])
    assert llm_rewrite(empty, "Còn Nhật Bản thì sao?", PREVIOUS) == rules


def test_the_assistant_and_the_chat_rewrite_through_the_llm_when_one_answers(seed_settings, monkeypatch):
    import kbqa.qa.llm
    from kbqa.qa.chain import Assistant
    from kbqa.ui.service import ChatService

    replies = ["Which technologies did Japan and the US agree on?", "Nhật Bản [1]."]
    monkeypatch.setattr(kbqa.qa.llm, "chat_model", lambda *args, **kwargs: FakeListChatModel(responses=replies))
    assistant = Assistant(replace(seed_settings, llm="openai:fake", llm_base_url="http://127.0.0.1:1/v1"))
    service = ChatService(assistant.settings, assistant=assistant)
    events = list(service.stream("What about Japan?", "Which technologies did Korea and the US agree on?"))
    assert events[0].query == "Which technologies did Japan and the US agree on?"
    assert events[0].focus == "Japan"
    plain = Assistant(seed_settings)  # extractive: the rules rewrite (they swap the last name, not the right one)
    previous = "Which technologies did Korea and the US agree on?"
    assert plain.rewrite("What about Japan?", previous) == rewrite("What about Japan?", previous)
    assert plain.rewrite("What about Japan?", previous).query == "Which technologies did Korea and the Japan agree on?"
