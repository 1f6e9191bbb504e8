"""The headless-Chromium harness (tests/browser.py) on small synthetic pages: each test breaks one
rule a report must keep and checks that the harness sees it (and that a clean page stays clean)."""

from __future__ import annotations

import base64
import http.server
import struct
import threading
import zlib
from pathlib import Path

import browser
import pytest
from browser import Image, Wide

chromium = browser.fixture()

HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>{extra}</head>"""


def png(width: int, height: int) -> bytes:
    """A tiny RGB PNG made by hand (a colour gradient)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes((x * 4 % 256, y * 8 % 256, 128)) for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def page(tmp_path: Path, body: str, title: str = "Test page", extra: str = "") -> Path:
    path = tmp_path / "page.html"
    path.write_text(HEAD.format(title=title, extra=extra) + f"<body>{body}</body></html>", encoding="utf-8")
    return path


CHART = "data:image/png;base64," + base64.b64encode(png(64, 32)).decode()
GOOD_STYLE = """<style>
body { font-family: sans-serif; max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
img { max-width: 100%; height: auto; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .2rem .6rem; text-align: right; }
</style>"""
GOOD_BODY = f"""<h1>Labour supply 2024&ndash;2046</h1>
<h2>Labour force</h2><img src="{CHART}" alt="labour force chart" width="640" height="320">
<h2>Shortage by occupation</h2><div class="scroll"><table>
<tr><th>Occupation</th>{"".join(f"<th>{y}</th>" for y in range(2024, 2036))}</tr>
<tr><td>Nurses</td>{"".join(f"<td>{1000 + y}</td>" for y in range(12))}</tr>
</table></div>
<p>Figures are thousands of persons.</p>"""


@pytest.mark.parametrize("width", [390, 1280])
def test_good_page_is_clean(chromium, tmp_path, width):
    """A self-contained page (embedded PNG, scrollable table, responsive CSS) has no problem at phone and desktop width."""
    shot = tmp_path / "shot.png"
    seen = chromium.render(page(tmp_path, GOOD_BODY, "Good report", GOOD_STYLE), shot, width=width)
    assert seen.images == [Image(CHART[:40], "labour force chart", 64, 32, True)]
    assert seen.broken == []
    assert seen.console == []
    assert seen.requests == []
    assert seen.overflow == (0, [])
    assert seen.problems() == []
    assert seen.title == "Good report"
    assert seen.headings == ["Labour supply 2024\u20132046", "Labour force", "Shortage by occupation"]
    assert seen.tables == 1
    shot_width, shot_height = png_size(shot)
    assert shot_width == width and shot_height >= 100


def test_render_alone_launches_its_own_browser(tmp_path):
    """browser.render() without a Browser() launches Chromium for one page and reports the same as Browser.render."""
    browser.require()
    seen = browser.render(page(tmp_path, GOOD_BODY, "Good report", GOOD_STYLE), tmp_path / "shot.png", width=800, height=600)
    assert seen.problems() == [] and seen.tables == 1 and len(seen.images) == 1
    assert png_size(tmp_path / "shot.png")[0] == 800


def test_findings_do_not_carry_over_between_renders(chromium, tmp_path):
    """Each render starts from nothing: a clean page rendered after a faulty one in the same Browser is clean."""
    bad = tmp_path / "bad" / "page.html"
    bad.parent.mkdir()
    bad.write_text('<img src="https://example.com/x.png"><script>console.error("x")</script>' + WIDE, encoding="utf-8")
    assert len(chromium.render(bad, tmp_path / "bad.png", width=390).problems()) >= 3
    seen = chromium.render(page(tmp_path, GOOD_BODY, "Good report", GOOD_STYLE), tmp_path / "good.png", width=390)
    assert seen.problems() == [] and seen.title == "Good report"


def test_a_hanging_page_fails_its_render_and_the_next_render_works(tmp_path):
    """A page that never finishes loading fails with a timeout; the same Browser then renders the next page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    hang = tmp_path / "hang.html"
    hang.write_text("<p>before</p><script>while (true) {}</script>", encoding="utf-8")
    with browser.Browser(browser.require(), timeout_ms=1500) as b:
        with pytest.raises(PlaywrightTimeout):
            b.render(hang, tmp_path / "hang.png", width=390)
        seen = b.render(page(tmp_path, GOOD_BODY, "Good report", GOOD_STYLE), tmp_path / "good.png", width=390)
    assert seen.problems() == [] and seen.tables == 1


@pytest.mark.parametrize("src", ["data:image/png;base64,iVBORw0KGgoAAAAbad", "missing.png"], ids=["bad-data-uri", "missing-file"])
def test_broken_image_is_reported(chromium, tmp_path, src):
    """An image that does not decode (bad data: URI) or whose file is missing is reported broken."""
    seen = chromium.render(page(tmp_path, f'<p>ok</p><img src="{src}" alt="chart">'), tmp_path / "shot.png", width=390)
    assert len(seen.images) == 1
    assert seen.broken == seen.images
    assert seen.broken[0].natural_width == 0 and seen.broken[0].alt == "chart"
    assert seen.broken[0].src == src[:40]
    assert any("broken image" in p for p in seen.problems())


def test_lazy_image_far_below_is_still_checked(chromium, tmp_path):
    """An image with loading=lazy far below the first screen is loaded and checked like any other."""
    body = (f'<div style="height:5000px"></div><img loading="lazy" src="{CHART}" alt="a">'
            '<img loading="lazy" src="nope.png" alt="b">')
    seen = chromium.render(page(tmp_path, body), tmp_path / "shot.png", width=390)
    assert [(i.alt, i.natural_width, i.complete) for i in seen.images] == [("a", 64, True), ("b", 0, True)]
    assert [i.alt for i in seen.broken] == ["b"]


@pytest.mark.parametrize("script, expected", [
    ('console.error("x")', "error: x"),
    ('console.warn("careful")', "warning: careful"),
    ('throw new TypeError("boom")', "pageerror: TypeError: boom"),
], ids=["console-error", "console-warn", "thrown"])
def test_script_errors_are_reported(chromium, tmp_path, script, expected):
    """console.error, console.warn and an uncaught exception all land in `console`."""
    seen = chromium.render(page(tmp_path, f"<p>text</p><script>{script}</script>"), tmp_path / "shot.png", width=390)
    assert seen.console == [expected]
    assert seen.problems() == [f"console {expected}"]


def test_console_log_is_not_a_problem(chromium, tmp_path):
    """console.log and console.info are not errors or warnings and are not reported."""
    seen = chromium.render(page(tmp_path, '<script>console.log("a"); console.info("b")</script>'), tmp_path / "s.png", width=390)
    assert seen.console == []


WIDE = '<div id="wide" class="chart big" style="width:800px;height:20px;background:#c00"></div>'


def test_fixed_wide_div_overflows_a_phone(chromium, tmp_path):
    """A fixed 800px-wide div overflows a 390px viewport by 410px and is named, not its parents; at 1280px it fits."""
    html = page(tmp_path, WIDE, extra="<style>body{margin:0}</style>")
    narrow = chromium.render(html, tmp_path / "narrow.png", width=390)
    assert narrow.overflow == (410, [Wide("div#wide.chart.big", 800)])
    assert any(p.startswith("overflows 410px at width 390: div#wide.chart.big") for p in narrow.problems())
    assert png_size(tmp_path / "narrow.png")[0] == 800  # the full-page screenshot shows the overflow
    wide = chromium.render(html, tmp_path / "wide.png", width=1280)
    assert wide.overflow == (0, [])


def test_wide_content_in_scroll_container_is_not_overflow(chromium, tmp_path):
    """The same wide div inside an overflow-x:auto container that fits the viewport is not page overflow."""
    html = page(tmp_path, f'<div id="scroller" style="overflow-x:auto">{WIDE}</div>', extra="<style>body{margin:0}</style>")
    seen = chromium.render(html, tmp_path / "shot.png", width=390)
    assert seen.overflow == (0, [])
    assert seen.problems() == []


def test_scroll_container_wider_than_viewport_still_overflows(chromium, tmp_path):
    """A scroll container that is itself wider than the viewport excuses nothing: it and its content are reported."""
    body = f'<div id="scroller" style="overflow-x:auto;width:600px">{WIDE}</div>'
    html = page(tmp_path, body, extra="<style>body{margin:0}</style>")
    seen = chromium.render(html, tmp_path / "shot.png", width=390)
    assert seen.overflow == (210, [Wide("div#scroller", 600), Wide("div#wide.chart.big", 800)])


def test_overflow_lists_at_most_five_elements(chromium, tmp_path):
    """Many overflowing elements are summarised by the first five in document order."""
    body = "".join(f'<p id="p{i}" style="width:500px">x</p>' for i in range(8))
    seen = chromium.render(page(tmp_path, body, extra="<style>body{margin:0}</style>"), tmp_path / "shot.png", width=390)
    assert seen.overflow.px == 110
    assert [w.element for w in seen.overflow.elements] == [f"p#p{i}" for i in range(5)]


@pytest.mark.parametrize("body, extra, url", [
    ('<img src="https://example.com/x.png" alt="x">', "", "https://example.com/x.png"),
    ("<p>styled</p>", '<link rel="stylesheet" href="http://example.com/style.css">', "http://example.com/style.css"),
    ("<p>font</p>", "<style>@font-face{font-family:F;src:url(https://example.com/f.woff2)} p{font-family:F}</style>",
     "https://example.com/f.woff2"),
], ids=["remote-image", "remote-stylesheet", "remote-font"])
def test_remote_resources_are_blocked_and_reported(chromium, tmp_path, body, extra, url):
    """A page that asks for anything over the network (image, stylesheet, font) has the request blocked and reported."""
    seen = chromium.render(page(tmp_path, body, extra=extra), tmp_path / "shot.png", width=390)
    assert seen.requests == [url]
    assert f"network request {url}" in seen.problems()


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png" if self.path.endswith(".png") else "text/css")
        self.end_headers()
        self.wfile.write(png(4, 4) if self.path.endswith(".png") else b"body{color:red}")

    def log_message(self, *args):
        pass


def test_blocked_requests_never_leave_the_page(chromium, tmp_path):
    """A request to a live server (on loopback) is reported and never reaches it: the page must need no network."""
    _Counting.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        html = page(tmp_path, f'<img src="{base}/x.png" alt="x">', extra=f'<link rel="stylesheet" href="{base}/s.css">')
        seen = chromium.render(html, tmp_path / "shot.png", width=390)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert _Counting.hits == []
    assert sorted(seen.requests) == [f"{base}/s.css", f"{base}/x.png"]
    assert [i.alt for i in seen.broken] == ["x"]


def test_require_skips_without_browser(monkeypatch):
    """Without Chromium or playwright, require() skips the test, naming what is missing."""
    monkeypatch.setattr(browser, "_missing", lambda: "no system Chromium (test)")
    monkeypatch.delenv("CI_REQUIRE_BROWSER", raising=False)
    assert browser.available() is None
    with pytest.raises(BaseException) as outcome:
        browser.require()
    assert outcome.type is pytest.skip.Exception
    assert "no system Chromium" in str(outcome.value)


def test_require_fails_in_ci_without_browser(monkeypatch):
    """With CI_REQUIRE_BROWSER=1 a missing browser fails the test instead of skipping it."""
    monkeypatch.setattr(browser, "_missing", lambda: "no system Chromium (test)")
    monkeypatch.setenv("CI_REQUIRE_BROWSER", "1")
    with pytest.raises(BaseException) as outcome:  # a skip would otherwise pass for this test
        browser.require()
    assert outcome.type is pytest.fail.Exception
    assert "CI_REQUIRE_BROWSER=1 but no system Chromium" in str(outcome.value)
