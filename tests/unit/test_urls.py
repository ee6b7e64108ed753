"""The cached request URLs agree with werkzeug's own, request after request, host after host."""

from __future__ import annotations

import pytest
from flask import Flask, request

from hub.api import urls

CASES = [
    ("http://localhost/fhir/Patient", "/", None),
    ("https://hub.example.org:8443/fhir/Patient?x=1", "/", None),
    ("http://[::1]:5000/fhir/metadata", "/", None),
    ("http://xn--fiq228c.example/fhir", "/", None),  # an IDNA host comes back as werkzeug gives it
    ("http://127.0.0.1:8000/hub/fhir/Patient", "/hub", "/hub"),
]


@pytest.mark.parametrize("url,base,script_root", CASES)
def test_root_and_host_urls_are_werkzeugs(url, base, script_root):
    app = Flask(__name__)
    for _ in range(2):  # the second time from the cache
        with app.test_request_context(url, base_url=None, environ_overrides=_script(script_root)):
            assert urls.root_url() == request.url_root.rstrip("/")
            assert urls.host_url() == request.host_url.rstrip("/")


def test_another_host_is_not_given_the_first_hosts_url():
    app = Flask(__name__)
    seen = []
    for host in ("a.example", "b.example", "a.example"):
        with app.test_request_context("/fhir", base_url=f"http://{host}"):
            seen.append(urls.root_url())
    assert seen == ["http://a.example", "http://b.example", "http://a.example"]


def _script(root):
    return {"SCRIPT_NAME": root} if root else {}
