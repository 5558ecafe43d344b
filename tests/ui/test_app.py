"""The app's launch options: analytics off, --auth parsing, the warning when the page is exposed."""

from __future__ import annotations

import os

import pytest

from index.errors import InputError
from ui import app as chat_app
from ui.app import parse_auth


def test_analytics_are_off() -> None:
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_auth_is_user_colon_password() -> None:
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(InputError):
            parse_auth(bad)


class _FakeApp:
    """Stands in for the Gradio app: records what launch was given."""

    def __init__(self, banner: str | None) -> None:
        self.banner = banner
        self.launched: dict = {}

    def queue(self, **kwargs) -> None:
        pass

    def launch(self, **kwargs) -> None:
        self.launched = kwargs


@pytest.mark.parametrize(
    ("host", "share", "auth", "warned"),
    [
        ("127.0.0.1", False, None, False),
        ("localhost", False, None, False),
        ("::1", False, None, False),
        ("0.0.0.0", False, None, True),
        ("192.168.1.20", False, None, True),
        ("127.0.0.1", True, None, True),
        ("0.0.0.0", True, "ann:pw", False),
    ],
)
def test_launch_warns_when_the_chat_is_reachable_beyond_this_machine_without_auth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, host: str, share: bool, auth, warned: bool
) -> None:
    monkeypatch.setattr(chat_app, "build_app", lambda service, banner=None: _FakeApp(banner))
    app = chat_app.launch(object(), host=host, share=share, auth=auth, block=False)
    err = capsys.readouterr().err
    assert ("Warning:" in err) == warned
    assert (app.banner is not None) == warned  # the same warning as a banner in the page
    assert app.launched["server_name"] == host and app.launched["share"] == share


def test_the_page_has_no_answer_mode_and_shows_the_banner(chat_service) -> None:
    page = chat_app.build_app(chat_service, banner="Warning: <exposed>")
    labels = [getattr(block, "label", None) for block in page.blocks.values()]
    assert "Answer mode" not in labels
    html = [block.value for block in page.blocks.values() if getattr(block, "elem_id", None) == "kbqa-banner"]
    assert html and "Warning: &lt;exposed&gt;" in html[0]
