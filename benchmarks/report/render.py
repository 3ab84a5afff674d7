"""Markdown and HTML rendering of the blocks, and the contents with the anchors both share."""

import base64
import html
import re
from pathlib import Path

from benchmarks.report.blocks import Block, Bullets, Heading, Image, Paragraph, Table


def markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(table: Table) -> list[str]:
    cells = [[markdown_cell(c) for c in row] for row in [table.headers, *table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]

    def line(row: list[str]) -> str:
        padded = [
            c.rjust(w) if i in table.numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [("-" * (w - 1) + ":") if i in table.numeric else "-" * w for i, w in enumerate(widths)]
    return [line(cells[0]), "| " + " | ".join(rule) + " |", *(line(r) for r in cells[1:]), ""]


def to_markdown(blocks: list[Block], base: Path) -> str:
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                out += ["#" * level + " " + text, ""]
            case Paragraph(text):
                out += [text, ""]
            case Bullets(items):
                out += [f"- {item}" for item in items] + [""]
            case Table():
                out += markdown_table(block)
            case Image(path, alt):
                out += [f"![{alt}]({path.relative_to(base).as_posix()})", ""]
    return "\n".join(out)


def inline_html(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"``(.+?)``|`(.+?)`", lambda m: f"<code>{m[1] or m[2]}</code>", escaped)
    escaped = re.sub(r"\[([^\]]+)\]\((#[\w-]+)\)", r'<a href="\2">\1</a>', escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


def html_table(table: Table) -> str:
    def cells(row: list[str], tag: str) -> str:
        return "".join(
            f"<{tag}{' class=num' if i in table.numeric else ''}>{inline_html(c)}</{tag}>"
            for i, c in enumerate(row)
        )

    body = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in table.rows)
    head = f"<thead><tr>{cells(table.headers, 'th')}</tr></thead>"
    return f"<table>\n{head}\n<tbody>\n{body}\n</tbody>\n</table>"


def html_image(image: Image) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    alt = html.escape(image.alt)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{alt}"></figure>'


def html_block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f'<h{level} id="{anchor(text)}">{inline_html(text)}</h{level}>'
        case Paragraph(text):
            return f"<p>{inline_html(text)}</p>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>"
        case Table():
            return html_table(block)
        case Image():
            return html_image(block)
    raise TypeError(block)


CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
h2 { margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { background: #f2f2f2; padding: 0 3px; border-radius: 3px; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
"""


def to_html(blocks: list[Block]) -> str:
    body = "\n".join(html_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>ormbench report</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def contents(blocks: list[Block]) -> list[Block]:
    """Links to every second-level heading (GitHub and the HTML page use the same anchors)."""
    headings = [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]
    return [Heading(2, "Contents"), Bullets([f"[{plain(t)}](#{anchor(t)})" for t in headings])]


def plain(text: str) -> str:
    return text.replace("`", "").replace("**", "")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", plain(heading).lower()).replace(" ", "-")
