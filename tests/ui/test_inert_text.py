"""What users, proxies and documents write reaches the browser as text: no image fetched, no link, no formatting.

Rendered with a real CommonMark parser (markdown-it-py, the one rich uses) the way Streamlit's Markdown would."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from ui.views.card import highlighted
from ui.views.common import md

HOSTILE = [
    "Dr ![pixel](http://evil.example/track.png) Ada",
    "[click me](javascript:alert(1)) and <img src=x onerror=alert(1)>",
    "**bold** _it_ `code` # heading\n\n![after a blank line](http://evil.example/b.png)",
    ":red[coloured] $x^2$ ~~struck~~ | a | b |",
    "ALT ≤ 2.5 × ULN (≤ 5 × ULN with liver metastases); 1. item\n- bullet\n> quote",
]
PARSER = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def visible_text(rendered_html: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html))


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escaping_shows_the_text_as_written(text):
    rendered = PARSER.render(md(text))
    assert "<img" not in rendered and "<a " not in rendered
    for tag in ("<strong>", "<em>", "<code>", "<h1>", "<s>", "<table>", "<ol>", "<ul>", "<blockquote>"):
        assert tag not in rendered, (tag, rendered)
    assert " ".join(visible_text(rendered).split()) == " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_highlighted_criterion_text_stays_one_html_block(text):
    quote = text[3:12]
    block = '<div style="white-space:pre-wrap">' + highlighted(text, quote) + "</div>"
    rendered = PARSER.render(block)
    assert "<img" not in rendered.replace("&lt;img", "") and "<a " not in rendered
    assert "<mark" in rendered and rendered.count("<div") == 1
    assert visible_text(rendered).strip() == text.strip()
