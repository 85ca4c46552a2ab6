"""Protocol id, version and effective date as documents state them."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.metadata import find_effective_date, find_protocol_id, find_version


@pytest.mark.parametrize(
    ("head", "version"),
    [
        ("Study Code D5164C00001\nEdition 6.0\nDate 09 August 2023", "6.0"),
        ("Edition Number 4.0", "4.0"),
        ("Version 5\nDate January 10, 2017", "5"),
        ("Clinical Study Protocol Amendment Version (a) I8F-JE-GPGO", "a"),
        ("POSTPRANDIAL AMBULATION | Version 3: 9.19.2022", "3"),
        ("Protocol TG-ONC-001 Version 2.0", "2.0"),
        ("No version stated here", None),
        # the versions of cited standards are not the protocol's
        ("Tumour response by RECIST Version 1.1 every 6 weeks\nProtocol Version 3.0", "3.0"),
        ("Adverse events graded by NCI CTCAE Version 5.0", None),
        ("Coded with MedDRA (Version 26.0); Edition 2.0", "2.0"),
    ],
)
def test_version(head, version):
    assert find_version(head) == version


@pytest.mark.parametrize(
    ("head", "date"),
    [
        ("Date 09 August 2023", dt.date(2023, 8, 9)),
        ("Approval Date: 17-Jan-2019", dt.date(2019, 1, 17)),
        ("Date January 10, 2017", dt.date(2017, 1, 10)),
        ("Last updated: Mar 15th 2023", dt.date(2023, 3, 15)),
        ("Version 1, 26/10/2023", dt.date(2023, 10, 26)),
        ("Version 3: 9.19.2022", dt.date(2022, 9, 19)),
        ("Date 5/6/2020", None),  # day and month cannot be told apart: no guess
        ("Effective Date: 2024-03-01", dt.date(2024, 3, 1)),
    ],
)
def test_effective_date(head, date):
    assert find_effective_date(head) == date


def test_protocol_id_prefers_the_file_name_then_the_text_then_the_stem():
    assert find_protocol_id("NCT02151981_Prot_000.pdf", "see NCT99999999") == "NCT02151981"
    assert find_protocol_id("protocol.pdf", "registered as NCT06158269 in 2023") == "NCT06158269"
    assert find_protocol_id("TG ONC 001.pdf", "no id") == "TG_ONC_001"


def test_title_prefers_a_labelled_line_then_a_title_case_study_line():
    from ingest.metadata import find_title

    assert find_title("Version 1\nStudy title: The Feasibility of Virtual Reality Rehabilitation\nmore") == (
        "The Feasibility of Virtual Reality Rehabilitation"
    )
    head = "Protocol: D5160C00007\nA Phase III, Double-Blind, Randomised Study of Drug X\nversus Placebo in Adults\n"
    head += "Sponsor: Example Pharma"
    assert find_title(head) == "A Phase III, Double-Blind, Randomised Study of Drug X versus Placebo in Adults"


def _pages_with_header(header: str, footer: str, n: int = 6) -> list[str]:
    return [f"{header}\n{footer.format(page=k)}\nBody text of page {k} about the study visits.\nMore text."
            for k in range(1, n + 1)]


def test_the_running_header_states_the_version_in_force_over_the_cover_history():
    from ingest.metadata import current_version

    cover = ("Protocol Version/Date: Original: 3 February 2011\nAmendment 1: 9 May 2012\n"
             "Amendment 2: 30 January 2014")
    pages = [cover] + _pages_with_header("Zentoril Protocol ZT-12 Version 3.0", "CONFIDENTIAL Page {page} 30 January 2014")
    assert current_version(pages, cover) == ("3.0", dt.date(2014, 1, 30))


def test_without_a_header_version_the_latest_history_entry_is_in_force():
    from ingest.metadata import current_version

    cover = "Protocol history\nOriginal: 3 February 2011\nAmendment 1: 9 May 2012\nAmendment 2: 30 January 2014"
    pages = [cover] + _pages_with_header("Zentoril Protocol ZT-12", "Page {page} of 6")
    assert current_version(pages, cover) == ("Amendment 2", dt.date(2014, 1, 30))


def test_an_amendment_header_keeps_its_word_and_a_labelled_date_outside_the_history_stands():
    from ingest.metadata import current_version

    cover = "Approval Date: 12 March 2019\nStudy ZT-12"
    pages = [cover] + _pages_with_header("Zentoril ZT-12 Amendment 6", "Page {page}")
    assert current_version(pages, cover) == ("Amendment 6", dt.date(2019, 3, 12))


@pytest.mark.slow
def test_five_amendments_of_one_real_protocol_are_versions_of_it(parsed_file, shared_data):
    """NCT01090414 Prot_002..006: one protocol id, each version and date as the gold table says it is printed."""
    from ingest.metadata import _to_date

    corpus = shared_data / "protocols" / "corpus"
    rows = [line.split("|")[1:-1] for line in (corpus / "gold" / "amendments_B.md").read_text().splitlines()
            if line.startswith("| NCT01090414_Prot_")]
    assert len(rows) == 5
    protocols = [(parsed_file(corpus / f"{row[0].strip()}.pdf"), row) for row in rows]
    assert {p.protocol_id for p, _ in protocols} == {"NCT01090414"}
    assert len({p.version for p, _ in protocols}) == 5
    for protocol, (_, printed_version, printed_date, _page) in protocols:
        assert protocol.version in printed_version.split("(")[0], (protocol.version, printed_version)  # not the cover note
        assert protocol.effective_date == _to_date(printed_date)
