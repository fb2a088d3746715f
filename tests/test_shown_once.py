"""``ShownOnce`` (oauth_cc/shown_once.py): a plain-text secret whose ``repr`` is masked."""

from __future__ import annotations

import json
import secrets
import sys

from django.template import Context, Template
from django.views.debug import ExceptionReporter

from oauth_cc.shown_once import ShownOnce

MASK = "'********'"


def test_it_is_the_secret_wherever_it_is_shown():
    plain = secrets.token_urlsafe(32)
    secret = ShownOnce(plain)
    assert isinstance(secret, str)
    assert secret == plain and hash(secret) == hash(plain)
    assert str(secret) == plain
    assert f"{secret}" == plain and "%s" % secret == plain  # noqa: UP031
    assert json.dumps({"client_secret": secret}) == json.dumps({"client_secret": plain})


def test_a_template_renders_the_secret_itself():
    secret = ShownOnce("a<b&c")
    assert Template("{{ secret }}").render(Context({"secret": secret})) == "a&lt;b&amp;c"


def test_its_repr_is_masked_however_it_is_nested():
    plain = secrets.token_urlsafe(32)
    secret = ShownOnce(plain)
    assert repr(secret) == MASK
    assert f"{secret!r}" == MASK
    for holder in ([secret], {"secret": secret}, (secret,), {"nested": [secret]}):
        assert plain not in repr(holder)
        assert MASK in repr(holder)


def error_report(secret: ShownOnce) -> str:
    """Django's report of an error raised where ``secret`` is a local variable (this frame
    is the report's first: the caller's variables are not in it)."""
    try:
        raise RuntimeError("failed while showing the secret")
    except RuntimeError:
        return ExceptionReporter(None, *sys.exc_info()).get_traceback_html()


def test_an_error_report_shows_the_mask():
    """Django's error reports print the repr of every local variable."""
    plain = secrets.token_hex(24)  # made here, so it is in no line of source shown
    html = error_report(ShownOnce(plain))
    assert "<td>secret</td>" in html
    assert "&#x27;********&#x27;" in html
    assert plain not in html
    assert plain in error_report(plain)  # type: ignore[arg-type] # what a str would show


def test_it_holds_nothing_but_the_text():
    secret = ShownOnce("s")
    assert not hasattr(secret, "__dict__")
