"""Render a local, self-contained HTML file in headless Chromium and report what a careful reviewer
checks: broken images, console errors, network requests (blocked: a report must need none),
horizontal overflow, title, headings, tables, and a full-page screenshot.

A helper for tests, not a test file. It drives the SYSTEM Chromium (Debian's `chromium` package)
through the Python `playwright` package; no browser is ever downloaded (never `playwright install`).

    import browser

    chromium = browser.fixture()            # a pytest fixture: one launch per test module

    def test_report(chromium, tmp_path):
        page = chromium.render(REPORT_HTML, tmp_path / "shot.png", width=390)
        assert not page.problems(), page.problems()

Outside pytest: `with browser.Browser() as b: b.render(...)`, or `browser.render(...)` (one launch per call).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

SYSTEM_CHROMIUM = "/usr/bin/chromium"

# Headless as root without a display. The background-networking/component/sync flags keep Chromium
# from calling Google's services at start-up (there is no network here but package registries). The
# host-resolver rule makes any host name that slipped past the request blocking (render() routes every
# request and aborts all but file: and data:) unresolvable, so nothing leaves the machine; loopback
# stays reachable so that a test can prove the blocking itself. /dev/shm may be small in containers:
# --disable-dev-shm-usage puts shared memory in /tmp.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)

LOCAL_SCHEMES = ("file:", "data:")


def _missing() -> str | None:
    """Why the browser cannot be used here, or None when it can."""
    if _executable() is None:
        return f"no system Chromium ({SYSTEM_CHROMIUM} or `chromium` on PATH; Debian package `chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (pip install -e '.[test]')"
    return None


def _executable() -> str | None:
    if os.access(SYSTEM_CHROMIUM, os.X_OK):
        return SYSTEM_CHROMIUM
    return shutil.which("chromium")


def available() -> str | None:
    """The path of a usable system Chromium when it and the `playwright` package are both there, else None."""
    return None if _missing() else _executable()


def require() -> str:
    """The Chromium path; otherwise skip the calling test, or fail it when CI_REQUIRE_BROWSER=1."""
    why = _missing()
    if why is None:
        return _executable()  # type: ignore[return-value]
    if os.environ.get("CI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CI_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(f"browser checks skipped: {why}")


class Image(NamedTuple):
    src: str  # the first 40 characters of the src attribute as written (else currentSrc, for srcset)
    alt: str
    natural_width: int
    natural_height: int
    complete: bool


class Wide(NamedTuple):
    element: str  # tag#id.class
    right: float  # right edge of its bounding box, CSS px from the viewport's left


class Overflow(NamedTuple):
    px: int  # document.documentElement.scrollWidth - window.innerWidth
    elements: list[Wide]  # up to 5, in document order (so outermost first)


@dataclass(frozen=True)
class Page:
    """What one render saw. Lists are in document (or arrival) order."""

    images: list[Image]
    broken: list[Image]  # naturalWidth == 0 or not complete
    console: list[str]  # "error: ...", "warning: ...", "pageerror: ..."
    requests: list[str]  # URLs other than file:/data: the page tried; all were blocked
    overflow: Overflow
    title: str
    headings: list[str]  # h1/h2 texts
    tables: int
    screenshot: Path
    width: int
    height: int

    def problems(self) -> list[str]:
        """One line per thing a reviewer would object to (empty when the page is clean)."""
        out = [f"broken image {i.src!r} (alt {i.alt!r})" for i in self.broken]
        out += [f"console {c}" for c in self.console]
        out += [f"network request {u}" for u in self.requests]
        if self.overflow.px > 0 or self.overflow.elements:  # elements alone: cut off (overflow:hidden, fixed)
            wide = ", ".join(f"{w.element} (right {w.right:g})" for w in self.overflow.elements)
            out.append(f"overflows {self.overflow.px}px at width {self.width}: {wide}")
        return out


# Switch lazy images to eager so every image is loaded and checked, not only those near the top.
_EAGER = "() => { for (const i of document.images) if (i.loading === 'lazy') i.loading = 'eager'; }"
_IMAGES_DONE = "() => Array.from(document.images).every(i => i.complete)"
_FONTS = "() => document.fonts.ready.then(() => true)"

_SURVEY = """() => {
  const vw = window.innerWidth;
  const name = el => {
    const cls = (el.getAttribute('class') || '').trim();
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls.split(/\\s+/).join('.') : '');
  };
  const insideScroller = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === 'auto' || ox === 'scroll') && a.getBoundingClientRect().right <= vw + 0.5) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.querySelectorAll('*')) {
    if (wide.length >= 5) break;
    const right = el.getBoundingClientRect().right;
    if (right > vw + 0.5 && !insideScroller(el)) wide.push([name(el), Math.round(right * 100) / 100]);
  }
  const text = el => el.textContent.replace(/\\s+/g, ' ').trim();
  return {
    images: Array.from(document.images).map(i => [
      (i.getAttribute('src') || i.currentSrc || '').slice(0, 40), i.alt, i.naturalWidth, i.naturalHeight, i.complete]),
    overflow: document.documentElement.scrollWidth - vw,
    wide: wide,
    title: document.title,
    headings: Array.from(document.querySelectorAll('h1, h2')).map(text),
    tables: document.querySelectorAll('table').length,
  };
}"""


class _Driver:
    """The one Playwright driver of this process: its sync API refuses a second one while the first
    runs, so Browsers open at the same time share it (counted; stopped when the last one closes)."""

    playwright = None
    users = 0

    @classmethod
    def acquire(cls):
        if cls.playwright is None:
            from playwright.sync_api import sync_playwright

            cls.playwright = sync_playwright().start()
        cls.users += 1
        return cls.playwright

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.playwright is not None:
            playwright, cls.playwright = cls.playwright, None
            playwright.stop()


class Browser:
    """One Chromium launch that renders many pages, one after another in the same tab (a fresh tab
    costs a renderer process, ~0.3 s). Every render navigates anew and starts from empty findings;
    a render that fails (a timeout, a crash) discards the tab, and the next render opens a new one.

    Use as a context manager: `with Browser() as b: page = b.render(html, png, width=390)`."""

    def __init__(self, executable: str | None = None, timeout_ms: float = 30_000):
        self.executable = executable or available()
        if self.executable is None:
            raise RuntimeError(f"cannot render: {_missing()}")
        self.timeout_ms = timeout_ms
        self._browser = None
        self._context = None
        self._tab = None
        # What the current render has seen so far (the event handlers below write here).
        self._url = ""
        self._requests: list[str] = []
        self._console: list[str] = []

    def __enter__(self) -> Browser:
        if self._browser is not None:
            raise RuntimeError("this Browser is already started")
        playwright = _Driver.acquire()
        try:
            self._browser = playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=list(CHROMIUM_ARGS), timeout=self.timeout_ms)
        except BaseException:
            _Driver.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._browser is None:
            return
        try:
            self._discard()
            self._browser.close()
        finally:
            self._browser = None
            _Driver.release()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
            return
        if url not in self._requests:
            self._requests.append(url)
        route.abort("blockedbyclient")

    def _on_console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            where = msg.location.get("url") or ""
            # Chromium names no file in "Failed to load resource": add where it came from.
            self._console.append(f"{msg.type}: {msg.text}" + (f" ({where[:120]})" if where and where != self._url else ""))

    def _on_pageerror(self, err) -> None:
        self._console.append(f"pageerror: {err.name or 'Error'}: {err.message}")

    def _open_tab(self):
        if self._tab is None or self._tab.is_closed():
            self._discard()
            self._context = self._browser.new_context(device_scale_factor=1, service_workers="block")
            self._context.set_default_timeout(self.timeout_ms)
            self._context.route("**/*", self._route)
            self._tab = self._context.new_page()
            self._tab.on("console", self._on_console)
            self._tab.on("pageerror", self._on_pageerror)
        return self._tab

    def _discard(self) -> None:
        context, self._context, self._tab = self._context, None, None
        if context is not None:
            try:
                context.close()
            except Exception:  # a crashed or already closed tab: nothing left to close
                pass

    def render(self, html: Path, screenshot: Path, width: int, height: int = 900) -> Page:
        """Load `html` (a local file) at a `width` x `height` CSS-px viewport and report on it."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if self._browser is None:
            raise RuntimeError("Browser.render outside `with Browser() as b:`")
        html, screenshot = Path(html).resolve(), Path(screenshot)
        if not html.is_file():
            raise FileNotFoundError(html)
        self._url, self._requests, self._console = html.as_uri(), [], []
        try:
            tab = self._open_tab()
            tab.set_viewport_size({"width": width, "height": height})
            tab.goto(self._url, wait_until="load")
            tab.evaluate(_EAGER)
            try:
                tab.wait_for_function(_IMAGES_DONE, timeout=self.timeout_ms)
            except PlaywrightTimeout:
                pass  # the images still loading are reported as not complete, hence broken
            tab.evaluate(_FONTS)
            seen = tab.evaluate(_SURVEY)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(screenshot), full_page=True)
            tab.evaluate("() => 0")  # one more round trip, so late console events have arrived
        except BaseException:
            self._discard()
            raise
        images = [Image(*i) for i in seen["images"]]
        return Page(
            images=images,
            broken=[i for i in images if i.natural_width == 0 or not i.complete],
            console=self._console,
            requests=self._requests,
            overflow=Overflow(int(seen["overflow"]), [Wide(*w) for w in seen["wide"]]),
            title=seen["title"],
            headings=seen["headings"],
            tables=seen["tables"],
            screenshot=screenshot,
            width=width,
            height=height,
        )


def render(html: Path, screenshot: Path, width: int, height: int = 900) -> Page:
    """Render one page with a browser launched for it alone (use Browser() to check several)."""
    with Browser() as b:
        return b.render(html, screenshot, width, height)


def fixture(scope: str = "module", name: str = "chromium"):
    """A pytest fixture yielding a started Browser, one launch per `scope`; it skips, or fails under
    CI_REQUIRE_BROWSER=1, when the browser is missing. In a test module: `chromium = browser.fixture()`."""

    @pytest.fixture(scope=scope, name=name)
    def _browser():
        with Browser(require()) as b:
            yield b

    return _browser
