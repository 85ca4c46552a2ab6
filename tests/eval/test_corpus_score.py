"""Corpus-suite scoring on small gold and parse fixtures written here (no PDF, no shared data)."""

from __future__ import annotations

import json

import pytest

from eval.corpus_gold import GoldNonlab, GoldProtocol, GoldRule, GoldSet, load_gold, normalise_quote, optional_reason
from eval.corpus_score import label_key, score_protocol, totals
from ingest.models import AlternativeThreshold, Criterion, CriterionKind, LabRule, Page, Protocol


def _gold(rules=(), nonlab=()) -> GoldProtocol:
    """A made-up protocol: synopsis on p3, inclusion 1-3 on pp10-11, exclusion 1-2 on pp11-12."""
    return GoldProtocol(
        name="FAKE_Prot_000", group="T", eligibility=True, synopsis_pages=[3],
        sets=[GoldSet(key="inclusion", kind="inclusion", labels=["1", "2", "3"], start_page=10, end_page=11),
              GoldSet(key="exclusion", kind="exclusion", labels=["1", "2"], start_page=11, end_page=12)],
        rules=list(rules), nonlab=list(nonlab))


def _row(id_, kind, label, page, analyte, comparator, value=None, *, label_path=None, multiple_of=None, unit=None,
         alt_unit_of=None, optional=None, measure=None, low=None, high=None) -> GoldRule:
    return GoldRule(id=f"T:{id_}", protocol="FAKE_Prot_000", kind=kind, label=label, label_path=label_path, page=page,
                    analyte=analyte, gold_analyte=analyte, in_catalog=True, comparator=comparator, value=value,
                    low=low, high=high, unit=unit, multiple_of=multiple_of, measure=measure,
                    alt_unit_of=None if alt_unit_of is None else f"T:{alt_unit_of}", optional=optional, quote="q")


def _criterion(kind, label, page, rules=(), parent=None, page_end=None, text="criterion text") -> Criterion:
    return Criterion(id=f"F:1:{kind}:{label}", protocol_id="F", version="1", kind=CriterionKind(kind), label=label,
                     parent_label=parent, page_start=page, page_end=page_end or page, text=text, char_start=0,
                     char_end=len(text), rules=list(rules))


def _rule(analyte, comparator, value=None, *, unit=None, multiple_of=None, quote="q", alternatives=()) -> LabRule:
    return LabRule(analyte=analyte, comparator=comparator, value=value, unit=unit, multiple_of=multiple_of,
                   quote=quote, alternatives=list(alternatives))


def _protocol(criteria) -> Protocol:
    pages = [Page(number=n, text=f"page {n}\n", char_start=7 * (n - 1)) for n in range(1, 13)]
    return Protocol(protocol_id="F", version="1", source_file="fake.pdf", sha256="0", pages=pages,
                    criteria=list(criteria))


def _all_labels(extra=()):
    crit = [_criterion("inclusion", "1", 10), _criterion("inclusion", "2", 10), _criterion("inclusion", "3", 11),
            _criterion("exclusion", "1", 11), _criterion("exclusion", "2", 12)]
    return crit + list(extra)


# ------------------------------------------------------------------------------------------------ labels

@pytest.mark.parametrize("a, b", [("I 01", "I01"), ("8.d", "8d"), ("(c)", "c"), ("•3", "3"), ("EX02", "ex2"),
                                  ("7.1.5.", "7.1.5")])
def test_label_keys_ignore_punctuation_spacing_case_and_leading_zeros(a, b):
    assert label_key(a) == label_key(b)


@pytest.mark.parametrize("a, b", [("1", "11"), ("7.1.5", "7.15"), ("2a", "2b"), ("I 01", "E 01")])
def test_label_keys_keep_what_distinguishes_labels(a, b):
    assert label_key(a) != label_key(b)


def test_every_label_found_on_its_pages_gives_full_recall_and_right_pages():
    score = score_protocol(_gold(), _protocol(_all_labels()))
    assert totals([score])["label_recall"] == 1.0
    assert all(s.start_ok and s.end_ok for s in score.sets)
    assert score.extra_in_body == [] and score.eligibility_found


def test_a_missing_label_lowers_recall_and_is_named():
    criteria = [c for c in _all_labels() if not (c.kind.value == "exclusion" and c.label == "2")]
    score = score_protocol(_gold(), _protocol(criteria))
    assert totals([score])["label_recall"] == pytest.approx(4 / 5)
    exclusion = next(s for s in score.sets if s.key == "exclusion")
    assert exclusion.missed == ["2"] and not exclusion.end_ok


def test_labels_found_only_in_the_synopsis_do_not_count_and_are_reported_apart():
    synopsis = [_criterion("inclusion", str(n), 3) for n in (1, 2, 3)]
    score = score_protocol(_gold(), _protocol(synopsis))
    assert score.found_labels == 0 and score.extra_in_synopsis == 3
    assert totals([score])["start_page_accuracy"] == 0.0


def test_a_parsed_label_is_used_once_when_two_sets_share_labels():
    gold = _gold()
    gold.sets.append(GoldSet(key="inclusion_b", kind="inclusion", labels=["1", "2"], start_page=10, end_page=11))
    score = score_protocol(gold, _protocol(_all_labels()))
    assert score.found_labels == 5 and score.gold_labels == 7
    both = score_protocol(gold, _protocol(_all_labels([_criterion("inclusion", "1", 11),
                                                       _criterion("inclusion", "2", 11)])))
    assert both.found_labels == 7


def test_over_split_lists_show_as_extra_labels_in_the_body():
    score = score_protocol(_gold(), _protocol(_all_labels([_criterion("inclusion", "4", 11)])))
    assert score.extra_in_body == ["inclusion 4 (p11)"]


# ------------------------------------------------------------------------------------------------- rules

def test_a_rule_on_the_right_criterion_is_a_hit_and_a_wrong_value_a_miss_and_false_positive():
    gold = _gold([_row(0, "inclusion", "2", 10, "ALT", "<=", 2.5, multiple_of="ULN")])
    right = _all_labels()
    right[1] = _criterion("inclusion", "2", 10, [_rule("ALT", "<=", 2.5, multiple_of="ULN")])
    score = score_protocol(gold, _protocol(right))
    assert (score.limits, score.limits_found, score.count("hit")) == (1, 1, 1)
    wrong = _all_labels()
    wrong[1] = _criterion("inclusion", "2", 10, [_rule("ALT", "<=", 3.0, multiple_of="ULN")])
    score = score_protocol(gold, _protocol(wrong))
    assert score.limits_found == 0 and score.count("fp") == 1
    assert totals([score])["rule_precision"] == 0.0 and totals([score])["rule_recall"] == 0.0


def test_the_right_threshold_under_the_wrong_label_is_missed_and_says_where_it_was_found():
    gold = _gold([_row(0, "inclusion", "2", 10, "ALT", "<=", 2.5, multiple_of="ULN")])
    criteria = _all_labels()
    criteria[0] = _criterion("inclusion", "1", 10, [_rule("ALT", "<=", 2.5, multiple_of="ULN")])
    score = score_protocol(gold, _protocol(criteria))
    assert score.limits_found == 0 and score.count("fp") == 1
    assert score.misses[0].reason == "found as inclusion 1 p10"


def test_label_path_prefix_matches_a_lettered_sub_criterion_or_its_parent():
    # group D style: label "2", label_path "2.b"; group C style: label "2b", label_path "2.b"
    for label in ("2", "2b"):
        gold = _gold([_row(0, "exclusion", label, 12, "PLAT", "<", 100, label_path="2.b", unit="10^9/L")])
        platelets = _rule("PLAT", "<", 100, unit="10^9/L")
        as_parent = _all_labels()
        as_parent[4] = _criterion("exclusion", "2", 12, [platelets])
        as_child = _all_labels([_criterion("exclusion", "b", 12, [platelets], parent="2")])
        as_joined = _all_labels([_criterion("exclusion", "2b", 12, [platelets], parent="2")])
        for criteria in (as_parent, as_child, as_joined):
            assert score_protocol(gold, _protocol(criteria)).limits_found == 1, (label, criteria[-1].label)
        elsewhere = _all_labels()
        elsewhere[3] = _criterion("exclusion", "1", 12, [platelets], page_end=12)
        assert score_protocol(gold, _protocol(elsewhere)).limits_found == 0


def test_alt_unit_rows_are_one_limit_found_by_either_form():
    rows = [_row(0, "exclusion", "1", 11, "CREAT", ">", 1.5, unit="mg/dL"),
            _row(1, "exclusion", "1", 11, "CREAT", ">", 133, unit="umol/L", alt_unit_of=0)]
    gold = _gold(rows)
    with_alternative = _all_labels()
    with_alternative[3] = _criterion("exclusion", "1", 11, [_rule(
        "CREAT", ">", 1.5, unit="mg/dL", alternatives=[AlternativeThreshold(value=133, unit="umol/L")])])
    score = score_protocol(gold, _protocol(with_alternative))
    assert (score.limits, score.limits_found, score.alt_unit_rows, score.alt_unit_found) == (1, 1, 1, 1)
    only_si = _all_labels()
    only_si[3] = _criterion("exclusion", "1", 11, [_rule("CREAT", ">", 133, unit="umol/L")])
    score = score_protocol(gold, _protocol(only_si))
    assert (score.limits, score.limits_found, score.count("fp")) == (1, 1, 0)
    neither = score_protocol(gold, _protocol(_all_labels()))
    assert (neither.limits, neither.limits_found, len(neither.misses)) == (1, 0, 1)


def test_optional_rows_are_neither_required_nor_false_positives():
    gold = _gold([_row(0, "exclusion", "1", 11, "CA", "<", 1, multiple_of="LLN", optional="normal range")])
    missing = score_protocol(gold, _protocol(_all_labels()))
    assert missing.limits == 0 and missing.misses == []
    found = _all_labels()
    found[3] = _criterion("exclusion", "1", 11, [_rule("CA", "<", 1, multiple_of="LLN")])
    score = score_protocol(gold, _protocol(found))
    assert score.count("neutral") == 1 and score.count("fp") == 0 and score.count("hit") == 0
    assert totals([score])["rule_precision"] == 1.0  # nothing judged


def test_a_non_lab_number_taken_for_a_lab_rule_is_a_non_lab_false_positive():
    nonlab = GoldNonlab(protocol="FAKE_Prot_000", kind="inclusion", label="1", page=10, what="age",
                        quote="Age \uf0b3 18 years at screening")
    gold = _gold(nonlab=[nonlab])
    criteria = _all_labels()
    criteria[0] = _criterion("inclusion", "1", 10, [_rule("HGB", ">=", 18, quote="≥ 18 years")])
    score = score_protocol(gold, _protocol(criteria))
    assert score.count("nonlab_fp") == 1 and totals([score])["nonlab_false_positives"] == 1
    assert totals([score])["rule_precision"] == 0.0


def test_a_change_between_visits_read_as_a_level_is_a_false_positive():
    gold = _gold([_row(0, "exclusion", "1", 11, "CREAT", ">", 0.5, unit="mg/dL", measure="change")])
    criteria = _all_labels()
    criteria[3] = _criterion("exclusion", "1", 11, [_rule("CREAT", ">", 0.5, unit="mg/dL")])
    score = score_protocol(gold, _protocol(criteria))
    assert score.count("change_as_level") == 1 and score.limits == 0 and score.change_rows == 1
    assert totals([score])["rule_precision"] == 0.0


def test_a_rule_found_only_in_the_synopsis_is_counted_apart_from_body_recall():
    gold = _gold([_row(0, "inclusion", "2", 10, "ALT", "<=", 2.5, multiple_of="ULN")])
    criteria = _all_labels([_criterion("inclusion", "5", 3, [_rule("ALT", "<=", 2.5, multiple_of="ULN")])])
    score = score_protocol(gold, _protocol(criteria))
    assert score.limits_found == 0 and score.synopsis_only == 1 and score.count("synopsis") == 1
    assert score.misses[0].reason == "found only in the synopsis"
    assert totals([score])["rule_precision"] == 1.0  # synopsis rules are reported, not judged


def test_between_rules_match_on_both_limits():
    gold = _gold([_row(0, "inclusion", "3", 11, "HBA1C", "between", low=6.5, high=10.0, unit="%")])
    for low, high, found in ((6.5, 10.0, 1), (6.5, 11.0, 0)):
        criteria = _all_labels()
        criteria[2] = _criterion("inclusion", "3", 11, [LabRule(analyte="HBA1C", comparator="between", low=low,
                                                                high=high, unit="%", quote="q")])
        assert score_protocol(gold, _protocol(criteria)).limits_found == found


def test_a_document_that_did_not_parse_misses_everything_and_says_why():
    gold = _gold([_row(0, "inclusion", "2", 10, "ALT", "<=", 2.5, multiple_of="ULN")])
    score = score_protocol(gold, None, error="crash: boom", crashed=True)
    metrics = totals([score])
    assert metrics["crashes"] == 1 and metrics["eligibility_missed"] == 1 and metrics["label_recall"] == 0
    assert score.misses[0].reason == "the document was not parsed"


def test_criteria_in_a_document_without_eligibility_are_reported():
    gold = GoldProtocol(name="SURVEY", group="T", eligibility=False)
    metrics = totals([score_protocol(gold, _protocol([_criterion("inclusion", "1", 2)]))])
    assert metrics["invented_eligibility"] == 1 and metrics["eligibility_missed"] == 0


# ----------------------------------------------------------------------------------------- normalisation

def test_quotes_compare_with_raw_or_mapped_symbol_glyphs_and_any_spacing():
    assert normalise_quote("Hemoglobin level \uf03c 8 g/dL") == normalise_quote("Hemoglobin  level <\n8 g/dL")
    assert normalise_quote("Platelets \uf0b3 100 µl") == normalise_quote("platelets ≥ 100 μl")


@pytest.mark.parametrize("row, optional", [
    ({"role": "restatement", "analyte": "HBA1C", "quote": "6.5 %"}, True),
    ({"analyte": "CA", "multiple_of": "LLN", "value": 1, "quote": "any value below the normal range"}, True),
    ({"analyte": "ALB", "multiple_of": "LLN", "value": 1, "quote": "Albumin ≥ the lower limit of normal (LLN)"}, False),
    ({"analyte": "FSH", "value": 40, "quote": "FSH > 40 mIU/mL"}, True),
    ({"analyte": "ALT", "multiple_of": "ULN", "value": 2.5, "quote": "ALT ≤ 2.5 x ULN"}, False),
])
def test_optional_rows_follow_the_gold_readme(row, optional):
    assert (optional_reason(row) is not None) == optional


def test_the_loader_merges_the_groups_set_conventions(tmp_path):
    counts = {
        "P1_Prot_000": {"eligibility": True, "synopsis_pages": [4],
                        "inclusion": {"kind": "inclusion", "labels": ["1", "2"], "start_page": 10, "end_page": 10},
                        "inclusion_infants": {"kind": "inclusion", "labels": ["1"], "start_page": 10, "end_page": 10},
                        "exclusion": {"labels": ["1", "2", "1"], "start_page": 11, "end_page": 12, "synopsis_pages": [5],
                                      "subsets": [{"heading": "Medical", "labels": ["1", "2"], "start_page": 11,
                                                   "end_page": 11},
                                                  {"heading": "Eyes", "labels": ["1"], "start_page": 12,
                                                   "end_page": 12}]},
                        "other_restatement_pages": {"pages": [90]}},
        "P2_Prot_000": {"eligibility": False},
    }
    (tmp_path / "counts_Z.json").write_text(json.dumps(counts))
    rows = [{"id": 0, "file": "P1_Prot_000.pdf", "kind": "exclusion", "label": "2", "label_path": "2.a", "page": 11,
             "analyte": "ANC", "comparator": "<", "value": 1.5, "unit": "10^9/L", "multiple_of": None, "quote": "x"},
            {"id": 1, "file": "P1_Prot_000.pdf", "kind": "exclusion", "label": "2", "page": 11, "analyte": "ANC",
             "comparator": "<", "value": 1500, "unit": "/uL", "multiple_of": None, "quote": "y", "alt_unit_of": 0}]
    (tmp_path / "rules_Z.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    gold = {g.name: g for g in load_gold(tmp_path)}
    p1 = gold["P1_Prot_000"]
    assert [s.key for s in p1.sets] == ["inclusion", "inclusion_infants", "exclusion/Medical", "exclusion/Eyes"]
    assert p1.synopsis_pages == [4, 5] and not gold["P2_Prot_000"].eligibility
    neutrophils, alternative = p1.rules
    assert neutrophils.analyte == "NEUT" and neutrophils.in_catalog  # the catalog's synonym, not the gold code
    assert alternative.limit_id == neutrophils.id == "Z:0"
