"""What a reader hands on: the document's pages of raw text, numbered as in the original, plus metadata."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExtractedPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(description="1-based page number in the original document")
    text: str = Field(description="raw extracted text (not yet normalized)")
    source: Literal["text", "ocr"] = Field(
        default="text", description="'ocr': the page's text layer was garbled or absent and Tesseract read it"
    )
    health: str | None = Field(default=None, description="why the text layer was not used, for an OCR page")


class OutlineEntry(BaseModel):
    """One PDF bookmark: its title, nesting level (0 = top) and the 1-based page it points to."""

    model_config = ConfigDict(extra="forbid")

    title: str
    level: int = Field(ge=0)
    page: int = Field(ge=1)


class ExtractedDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    kind: Literal["pdf", "docx", "html", "text", "ctgov"]
    pages: list[ExtractedPage]
    # Metadata a format carries explicitly (a CT.gov record names its NCT id); None where the text must tell.
    protocol_id: str | None = None
    version: str | None = None
    title: str | None = None
    effective_date: dt.date | None = None
    problems: list[str] = Field(
        default_factory=list, description="what the reader noticed, e.g. which pages were OCRed and why"
    )
    # The document's own table of structure where the format carries one (PDF bookmarks), in document order.
    outline: list[OutlineEntry] = Field(default_factory=list)

    @property
    def ocr_pages(self) -> list[int]:
        return [page.number for page in self.pages if page.source == "ocr"]
