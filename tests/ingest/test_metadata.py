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
