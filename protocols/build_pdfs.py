"""Build the demo protocol PDFs (and the demo lab manual PDF) from their sources in this folder.

    .venv/bin/python protocols/build_pdfs.py [--out DIR]

Sources are a small, line-oriented Markdown subset (one block per line, blank lines between blocks), so the PDF
layout is fully determined by the source text and this script:

    % text                      centered title-page line (first one large)
    # 5. Study Population       numbered section heading; ## and ### for sub-sections
    1. text / 2a text / (a) text / i. text / E7. text / - text
                                a labelled item (criterion); two leading spaces per nesting level
    > text                      a note printed under the item above it, indented, smaller and italic
    Table 3. caption            a bold table caption
    | a | b |                   a pipe table (the first row is the header, the |---| row is skipped)
    <!-- pagebreak -->          start a new page
    <!-- break-after-lines: N --> end the page after the first N lines of the next block, so that the block
                                crosses a page break (a layout trap the parsers must handle)
    any other line              a paragraph

The documents list comes from manifest.yaml. The output is byte-for-byte reproducible: fixed creation dates,
fonts from a PyPI package (matplotlib's DejaVu Sans, which carries ≤ ≥ × µ ⁹ ² and is embedded with a
ToUnicode map so pypdf extracts them as written).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path

import yaml
from fpdf import FPDF
from fpdf.enums import XPos, YPos

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.yaml"

FONT_FAMILY = "DejaVu"
BODY_SIZE = 10.0
LINE_H = 5.0
NOTE_SIZE = 8.5
NOTE_LINE_H = 4.2
INDENT_PER_LEVEL = 8.0
LABEL_W = 10.0

LABEL_RE = re.compile(
    r"^(?P<indent> *)(?P<label>\d+\.|\d+[a-z]\.?|\([a-z]{1,4}\)|[ivx]{1,5}\.|[IE]\d+\.?|-)\s+(?P<text>\S.*)$"
)
HEADING_RE = re.compile(r"^(?P<hashes>#{1,3})\s+(?P<text>.+)$")
DIRECTIVE_RE = re.compile(r"^<!--\s*(?P<name>[a-z-]+)(?::\s*(?P<arg>\S+))?\s*-->$")


def _font_dir() -> Path:
    """DejaVu fonts shipped inside matplotlib (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("matplotlib is not installed: it ships the DejaVu TTF fonts this script embeds")
    font_dir = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
    if not (font_dir / "DejaVuSans.ttf").is_file():
        raise SystemExit(f"DejaVuSans.ttf not found in {font_dir}")
    return font_dir


class DemoPDF(FPDF):
    """A4 document with a running header and 'Page X of Y' footer."""

    def __init__(self, header_text: str, footer_text: str, created: dt.date) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        font_dir = _font_dir()
        self.add_font(FONT_FAMILY, "", str(font_dir / "DejaVuSans.ttf"))
        self.add_font(FONT_FAMILY, "B", str(font_dir / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT_FAMILY, "I", str(font_dir / "DejaVuSans-Oblique.ttf"))
        self.header_text = header_text
        self.footer_text = footer_text
        self.set_margins(left=20, top=22, right=20)
        self.set_auto_page_break(auto=True, margin=22)
        stamp = dt.datetime(created.year, created.month, created.day, tzinfo=dt.timezone.utc)
        self.set_creation_date(stamp)
        self.set_creator("TrialGuard protocols/build_pdfs.py")
        self.set_producer("fpdf2")
        self.alias_nb_pages()
        self.break_after: int | None = None  # set by the break-after-lines directive for the next block

    def header(self) -> None:
        self.set_font(FONT_FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        self.set_xy(self.l_margin, 10)
        self.cell(0, 4, self.header_text, align="L")
        self.set_draw_color(150, 150, 150)
        self.line(self.l_margin, 15, self.w - self.r_margin, 15)
        self.set_text_color(0, 0, 0)
        self.set_xy(self.l_margin, self.t_margin)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT_FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # --- layout primitives -------------------------------------------------------------------------------------

    def lines_for(self, text: str, width: float) -> list[str]:
        return self.multi_cell(width, LINE_H, text, dry_run=True, output="LINES")

    def room_for(self, height: float) -> bool:
        return self.get_y() + height <= self.page_break_trigger

    def ensure_room(self, height: float) -> None:
        if not self.room_for(height):
            self.add_page()

    def write_lines(self, lines: list[str], x: float, width: float, line_h: float, first_prefix=None) -> None:
        """Lines one by one so that a page break can fall between any two of them (keeps x on the new page)."""
        forced_break, self.break_after = self.break_after, None
        for i, line in enumerate(lines):
            if forced_break is not None and i == forced_break:
                self.add_page()
            self.ensure_room(line_h)
            if i == 0 and first_prefix is not None:
                label, label_x = first_prefix
                self.set_x(label_x)
                self.cell(x - label_x, line_h, label)
            self.set_x(x)
            self.cell(width, line_h, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _parse_table(rows: list[str]) -> list[list[str]]:
    table = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            continue
        table.append(cells)
    return table


def render_markdown(pdf: DemoPDF, source: str) -> None:
    pdf.add_page()
    lines = source.splitlines()
    i = 0
    break_after: int | None = None
    last_item_x = pdf.l_margin
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        if not raw.strip():
            continue
        directive = DIRECTIVE_RE.match(raw.strip())
        if directive:
            name = directive["name"]
            if name == "pagebreak":
                pdf.add_page()
            elif name == "break-after-lines":
                break_after = int(directive["arg"])
            else:
                raise SystemExit(f"unknown directive {name!r} in line {i}")
            continue
        if raw.startswith("|"):
            block = [raw]
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i].rstrip())
                i += 1
            _render_table(pdf, _parse_table(block))
            continue

        pdf.break_after = break_after
        break_after = None
        if raw.startswith("% "):
            _render_title_line(pdf, raw[2:].strip())
            continue
        heading = HEADING_RE.match(raw)
        if heading:
            level = len(heading["hashes"])
            size = {1: 13.0, 2: 11.5, 3: 10.5}[level]
            # Never leave a heading alone at the bottom of a page (nor a heading directly above a sub-heading).
            following = next((ln for ln in lines[i:] if ln.strip()), "")
            pdf.ensure_room(LINE_H * (7 if HEADING_RE.match(following) else 4))
            pdf.ln(3 if level == 1 else 2)
            pdf.set_font(FONT_FAMILY, "B", size)
            pdf.multi_cell(0, size * 0.55, heading["text"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
            continue
        if raw.startswith("> "):
            pdf.set_font(FONT_FAMILY, "I", NOTE_SIZE)
            width = pdf.w - pdf.r_margin - last_item_x
            lines_ = pdf.multi_cell(width, NOTE_LINE_H, raw[2:].strip(), dry_run=True, output="LINES")
            pdf.write_lines(lines_, last_item_x, width, NOTE_LINE_H)
            pdf.ln(1)
            continue
        item = LABEL_RE.match(raw)
        if item:
            level = len(item["indent"]) // 2
            label = "•" if item["label"] == "-" else item["label"]
            label_x = pdf.l_margin + level * INDENT_PER_LEVEL
            pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
            label_w = max(LABEL_W, pdf.get_string_width(label) + 2.5)
            text_x = label_x + label_w
            width = pdf.w - pdf.r_margin - text_x
            pdf.write_lines(pdf.lines_for(item["text"], width), text_x, width, LINE_H, (label, label_x))
            pdf.ln(1.2)
            last_item_x = text_x
            continue
        if raw.startswith("Table ") and re.match(r"^Table \d+[.:]", raw):
            pdf.set_font(FONT_FAMILY, "B", BODY_SIZE)
            pdf.ensure_room(LINE_H * 4)  # keep a caption with its table
        else:
            pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
        width = pdf.w - pdf.l_margin - pdf.r_margin
        pdf.write_lines(pdf.lines_for(raw.strip(), width), pdf.l_margin, width, LINE_H)
        pdf.ln(1.5)
        last_item_x = pdf.l_margin


def _render_title_line(pdf: DemoPDF, text: str) -> None:
    first = getattr(pdf, "_title_lines", 0) == 0
    pdf._title_lines = getattr(pdf, "_title_lines", 0) + 1
    if first:
        pdf.ln(30)
        pdf.set_font(FONT_FAMILY, "B", 16)
        pdf.multi_cell(0, 8, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)
    else:
        pdf.set_font(FONT_FAMILY, "", 11)
        pdf.multi_cell(0, 6, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)


def _render_table(pdf: DemoPDF, table: list[list[str]]) -> None:
    ncols = len(table[0])
    widths = {2: (60, 110), 3: (50, 60, 60)}.get(ncols)
    pdf.set_font(FONT_FAMILY, "", 9)
    pdf.ensure_room(LINE_H * 3)
    with pdf.table(
        col_widths=widths,
        line_height=4.6,
        text_align="LEFT",
        headings_style=_heading_style(),
        first_row_as_headings=True,
        repeat_headings=1,
    ) as t:
        for cells in table:
            row = t.row()
            for cell in cells:
                row.cell(cell)
    pdf.set_font(FONT_FAMILY, "", BODY_SIZE)
    pdf.ln(3)


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(family=FONT_FAMILY, emphasis="BOLD", fill_color=(225, 225, 225))


def build_protocol(entry: dict, out_dir: Path) -> Path:
    source = (HERE / entry["source"]).read_text(encoding="utf-8")
    eff = entry["effective_date"]
    header = (
        f"TrialGuard Demo  |  {entry['protocol_id']}  |  Clinical Study Protocol  |  "
        f"Version {entry['version']}  |  Effective {eff.isoformat()}"
    )
    pdf = DemoPDF(header, "Fictional demo document written for TrialGuard - not for clinical use", eff)
    pdf.set_title(f"{entry['protocol_id']} Clinical Study Protocol, Version {entry['version']}")
    pdf.set_author("TrialGuard Demo (fictional sponsor)")
    pdf.set_subject(entry.get("title", ""))
    render_markdown(pdf, source)
    target = out_dir / entry["file"]
    pdf.output(str(target))
    return target


def build_lab_manual(entry: dict, out_dir: Path) -> Path:
    eff = entry["effective_date"]
    header = f"TrialGuard Demo  |  {entry['title']}  |  Version {entry['version']}  |  Effective {eff.isoformat()}"
    pdf = DemoPDF(header, "Fictional demo document written for TrialGuard - not for clinical use", eff)
    pdf.set_title(entry["title"])
    pdf.set_author("TrialGuard Demo (fictional sponsor)")
    with (HERE / entry["source"]).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    intro = (HERE / entry["intro"]).read_text(encoding="utf-8") if entry.get("intro") else ""
    render_markdown(pdf, intro)
    pdf.set_font(FONT_FAMILY, "", 8.5)
    columns = ["analyte", "sex", "age_min", "age_max", "lln", "uln", "unit", "lab"]
    titles = ["Analyte", "Sex", "Age from (y)", "Age to (y)", "LLN", "ULN", "Unit", "Laboratory"]
    with pdf.table(
        col_widths=(22, 12, 18, 18, 18, 18, 26, 38),
        line_height=4.4,
        text_align="LEFT",
        headings_style=_heading_style(),
        repeat_headings=1,
    ) as t:
        head = t.row()
        for title in titles:
            head.cell(title)
        for row in rows:
            r = t.row()
            for col in columns:
                r.cell(row[col] or "-")
    target = out_dir / entry["pdf"]
    pdf.output(str(target))
    return target


def load_manifest(path: Path = MANIFEST) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def build_all(out_dir: Path = HERE) -> list[Path]:
    manifest = load_manifest()
    out_dir.mkdir(parents=True, exist_ok=True)
    built = [build_protocol(entry, out_dir) for entry in manifest["protocols"]]
    built += [build_lab_manual(entry, out_dir) for entry in manifest.get("lab_manuals", [])]
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: protocols/)")
    args = parser.parse_args(argv)
    for path in build_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
