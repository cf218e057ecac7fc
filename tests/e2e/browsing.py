"""What the browser tests share: a page of the dashboard in a browser context that lets no
request leave for another host (and records any that tries), and waiting for Streamlit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

VIEWPORT = {"width": 1440, "height": 900}
WAIT_MS = 60_000  # the first page load imports TensorFlow and loads the model
# URLs that name no host: inline images (the favicon, icons) and the page's own blobs.
HOSTLESS_SCHEMES = ("data", "blob", "about")


class RequestRecorder:
    """Every request a browser context makes; those for another host than the app's are
    blocked (``context.route``) and listed in :attr:`foreign`. ``page.on("request")`` sees
    what routing may not (requests a service worker serves), so both are recorded."""

    def __init__(self, app_url: str) -> None:
        self.origin = urlsplit(app_url).netloc
        self.seen: list[str] = []
        self.foreign: list[str] = []

    def is_own(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in HOSTLESS_SCHEMES or parts.netloc == self.origin

    def record(self, url: str) -> None:
        self.seen.append(url)
        if not self.is_own(url) and url not in self.foreign:
            self.foreign.append(url)

    def route(self, route) -> None:
        self.record(route.request.url)
        if self.is_own(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def attach(self, context) -> None:
        context.route("**/*", self.route)
        context.on("request", lambda request: self.record(request.url))


@contextmanager
def opened(browser, url: str) -> Iterator:
    """A new page at ``url``, once the research notice shows, in a context whose requests
    to other hosts are blocked; closed afterwards, failing if the page made any."""
    recorder = RequestRecorder(url)
    context = browser.new_context(viewport=VIEWPORT)
    recorder.attach(context)
    try:
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_text("Research prototype — not for clinical decisions").wait_for(
            timeout=WAIT_MS)
        yield page
        wait_for_run(page)  # what the last run shows has been asked for
    finally:
        context.close()
    assert recorder.seen, "the request recorder saw no request"
    assert recorder.foreign == [], f"the page asked other hosts: {recorder.foreign}"


def wait_for_run(page) -> None:
    """Until Streamlit's "Running..." indicator is gone."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=WAIT_MS)


def wait_for_idle(page) -> None:
    """Until Streamlit's "Running..." indicator is gone and every image has loaded."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
              && [...document.images].every(image => image.complete
                                                      && image.naturalWidth > 0)""",
        timeout=WAIT_MS)


def downloaded_report(page, write_timeout_ms: int = WAIT_MS):
    """The PDF report as a clinician gets it: "Prepare a PDF report" clicked, then its
    download button once the run that wrote it has ended (clicked while the page was still
    drawing, the browser once started no download under load), waiting up to
    ``write_timeout_ms`` for the report to be written. Playwright's ``Download``."""
    page.get_by_role("button", name="Prepare a PDF report").click()
    download_button = page.get_by_role("button", name="Download the PDF report")
    download_button.wait_for(timeout=write_timeout_ms)
    wait_for_run(page)
    with page.expect_download(timeout=WAIT_MS) as download:
        download_button.click()
    return download.value


def verdict(page):
    """The verdict's predicted class (``dxui.results.verdict_markdown``): the heading under
    "Model prediction"."""
    from dxui.results import VERDICT

    return page.get_by_test_id("stMarkdownContainer").filter(has_text=VERDICT).locator(
        "h3").first
