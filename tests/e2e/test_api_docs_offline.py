"""/docs and /redoc of every process of the stack with an API render with no network: every
script, stylesheet, icon and document they name is a path on the service itself, and it answers
200. The probe-only services serve no docs at all."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from services.devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

#: Services that answer only /healthz, /readyz and /metrics (shared/health_app.py).
PROBE_ONLY = {"scheduler", "webhooks", "dispatcher-fcm", "dispatcher-apns", "dispatcher-webpush"}

#: The API document Swagger UI loads, named in its inline script.
_SPEC_IN_SCRIPT = re.compile(r"""\burl:\s*['"]([^'"]+)['"]""")


class _References(HTMLParser):
    """Every URL an element of the page loads (src, href, ReDoc's spec-url)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v is not None]


def references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    return parser.urls + _SPEC_IN_SCRIPT.findall(page)


async def test_every_services_docs_load_only_what_the_service_serves(stack: LocalStack) -> None:
    checked: dict[str, list[str]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name, process in stack.services.items():
            for page in ("/docs", "/redoc"):
                answer = await http.get(process.url + page)
                if name in PROBE_ONLY:
                    assert answer.status_code == 404, (name, page)
                    continue
                assert answer.status_code == 200, (name, page)
                urls = references(answer.text)
                assert not re.search(r"https?://", answer.text), (name, page)
                assert all(not urlsplit(u).scheme and not urlsplit(u).netloc for u in urls), urls
                for url in urls:
                    loaded = await http.get(process.url + url)
                    assert loaded.status_code == 200, (name, url)
                checked[f"{name}{page}"] = urls

    assert len(checked) == 2 * len(stack.services.keys() - PROBE_ONLY)
    assert all(len(urls) >= 3 for urls in checked.values())
    assert "/docs-assets/swagger-ui-bundle.js" in checked["registry/docs"]
    assert "/docs-assets/swagger-ui.css" in checked["registry/docs"]
    assert "/openapi.json" in checked["ingest/redoc"]
