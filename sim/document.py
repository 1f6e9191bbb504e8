"""A report as plain blocks, rendered to Markdown (report.md) and to one self-contained HTML page
(report.html: charts embedded as data URIs, inline CSS, no scripts, no fonts or anything else
fetched), readable on a laptop and a phone.

Blocks are tuples: ("h1" | "h2" | "p", text), ("table", header, rows, caption),
("chart", Drawn), ("pre", text). Text may hold `code` and **bold**.
"""

from __future__ import annotations

import base64
import html
import re
import struct
from pathlib import Path

CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#222;background:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
p{margin:.5rem 0;overflow-wrap:anywhere}
.headline{font-size:1.05rem;background:#f4f6f8;border-left:4px solid #0072B2;padding:.6rem .9rem}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
td code{white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;color:#555;font-size:.85rem;padding:.2rem 0}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f8;white-space:nowrap}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
figure{margin:1rem 0 1.5rem}
figure img{display:block;width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9rem;margin-top:.3rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem;background:#f7f7f7;padding:.6rem}
@media (max-width:40rem){body{font-size:15px}main{padding:.6rem}h1{font-size:1.3rem}}
""".strip()


def markdown(blocks: list[tuple]) -> str:
    """report.md: charts as links to their PNG files (for people who build their own documents)."""
    lines: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            lines += [f"# {block[1]}", ""]
        elif kind == "h2":
            lines += [f"## {block[1]}", ""]
        elif kind in ("p", "headline"):
            lines += [block[1], ""]
        elif kind == "table":
            _, header, rows, caption = block
            lines += ([caption, ""] if caption else [])
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif kind == "chart":
            drawn = block[1]
            alt = drawn.title.replace("[", "\\[").replace("]", "\\]")
            lines += [f"![{alt}]({drawn.stem}.png)", "", f"*{drawn.caption}*", ""]
        elif kind == "pre":
            lines += ["```", block[1], "```", ""]
    return "\n".join(lines)


def page(title: str, blocks: list[tuple], folder: Path) -> str:
    """report.html: one page; each chart's PNG in `folder` embedded as a data URI."""
    body = [_block(b, folder) for b in blocks]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _block(block: tuple, folder: Path) -> str:
    kind = block[0]
    if kind in ("h1", "h2"):
        return f"<{kind}>{inline(block[1])}</{kind}>"
    if kind == "p":
        return f"<p>{inline(block[1])}</p>"
    if kind == "headline":
        return f"<p class=\"headline\">{inline(block[1])}</p>"
    if kind == "pre":
        return f"<pre>{html.escape(block[1])}</pre>"
    if kind == "table":
        _, header, rows, caption = block
        numeric = [all(_numeric(str(r[k])) for r in rows) and rows for k in range(len(header))]
        cap = f"<caption>{inline(caption)}</caption>" if caption else ""
        head = "".join(f"<th scope=\"col\">{inline(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td class=\"n\">{inline(str(c))}</td>" if numeric[k] else
                                        f"<td>{inline(str(c))}</td>" for k, c in enumerate(row)) + "</tr>\n"
                       for row in rows)
        return f"<div class=\"scroll\"><table>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table></div>"
    if kind == "chart":
        drawn = block[1]
        data = (Path(folder) / f"{drawn.stem}.png").read_bytes()
        width, height = png_size(data)
        source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return (f"<figure id=\"{drawn.stem}\"><img src=\"{source}\" alt=\"{html.escape(drawn.title)}\" "
                f"width=\"{width}\" height=\"{height}\">\n<figcaption>{inline(drawn.caption)} "
                f"Files: <code>{drawn.stem}.png</code>, <code>{drawn.stem}.svg</code>.</figcaption></figure>")
    raise ValueError(f"unknown block {kind!r}")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height (pixels) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_NUMBER = re.compile(r"^[-+−]?[\d,]*\.?\d+%?$|^[-+]?HK\$[\d,.]+$|^$|^-?[\d,]+ to -?[\d,]+$")


def inline(text: str) -> str:
    """HTML for text with `code` and **bold**."""
    escaped = html.escape(text, quote=False)
    return _BOLD.sub(r"<strong>\1</strong>", _CODE.sub(r"<code>\1</code>", escaped))


def _numeric(text: str) -> bool:
    return bool(_NUMBER.match(text.replace("**", "")))
