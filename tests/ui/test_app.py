"""The app's launch options: analytics off, --auth parsing."""

from __future__ import annotations

import os

import pytest

from index.errors import InputError
from ui.app import parse_auth


def test_analytics_are_off() -> None:
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_auth_is_user_colon_password() -> None:
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(InputError):
            parse_auth(bad)
