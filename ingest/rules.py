"""Lab rules from criterion text: every numeric threshold on a catalog analyte, with its exact source span.

The grammar, in reading order:

    analyte-group  [link words | preceding condition]  threshold  [alternative unit]  [condition | sex]
                                                        {or|and|,}  threshold ...   (chained to the same group)

* analyte-group: one or more catalog analytes joined by "or", "and", "/", "," ("ALT or AST", "AST/ALT").
  Names come from the labs catalog (code, name, synonyms), so a number next to anything else (age, ECOG,
  doses, blood pressure) never becomes a lab rule.
* threshold: comparator + quantity ("<= 2.5 x ULN", "at least 100 x 10^9/L", "140 mg/dL or greater"),
  or a range ("7.0-10.5 %", "between 15 and 59", ">= 7.0% to <= 10.0%" -> between). A quantity is a number
  with a unit (read by labs.parse_unit and checked against the analyte: "2 weeks" after ALT is not an ALT
  limit) or a multiple of ULN/LLN.
* alternative: the same limit in another unit right after it in brackets ("> 2.5 mg/dL [221 umol/L]").
* condition / sex: the clause after a threshold ("(<= 5 x ULN with liver metastases)", "if no liver
  metastases", "for females"); a condition between the analyte and its number also counts
  ("bilirubin in patients with Gilbert's syndrome < 3 x ULN").
* window: "within 14 days before randomization" applies to the rules of its own clause (the ';'-, ':'- or
  sentence-delimited segment it stands in). A window in a lead-in without thresholds of its own reaches further:
  one that ends in ':' ("Adequate organ function within 14 days before randomization:") covers the rules listed
  after it, one whose subject is the lab values ("all laboratory values obtained within 14 days before ...")
  covers every rule of the criterion, and a sub-item inherits such a window from its parent's lead-in
  (`context`). A window in a clause about something else ("an acute kidney injury in the 3 months before
  randomization that has not fully resolved; or a serum creatinine > 2.5 mg/dL") covers no lab rule. The anchor
  is the event only: it stops at a relative clause, a conjunction or a comma.
* quote: the analyte name and the threshold; a threshold chained onto the analyte of an earlier one ("> 470 ms
  for females" after "QTcF ... > 450 ms for males or") quotes its own span only.

Forms beyond "<analyte> <comparator> <number> <unit>" (each relies on what its docstring or YAML comment says):
* limit names: "below the LLN", "<LLN", "above the upper limit of normal", "above the normal range" = 1 x LLN/ULN.
* factors in words ("three times the ULN", "twice the ULN"): read only right before a ULN/LLN name.
* offsets: "≥ 5 seconds above ULN", "> ULN + 8 sec" -> offset_from="ULN", value 5 s (the engine judges
  ULN + offset); "> 2 g/dL below the LLN" -> offset_from="LLN", value -2, comparator "<" (the distance below
  exceeds 2, so the value is under LLN - 2).
* changes: a change word between analyte and number ("creatinine increase > 0.5 mg/dL"), a reference after it
  ("... from baseline") or "≥ 50% decrease in platelets" -> measure="change" (the engine says it needs a baseline).
  A multiple of ULN after a change word stays a level.
* footnote marks stuck to a unit or limit name ("90 g/L*", "1.5 x ULNa", "g/L¹") are kept in the quote, not
  in the unit; "m²" stays a unit.
* collective names ("transaminases") stand for each of their analytes.
* a bracketed multiple for a named case right after a limit ("≤ 2.5 x ULN (5 x ULN if liver metastases)")
  keeps the limit's direction.
* a two-column table flattened column by column (names on successive lines, then as many values) is paired
  row by row; when the columns do not pair up, none of its values is read.
* an analyte named right after its limit when none precedes it ("a maximum of 30% bone marrow blasts"): only for a
  quantity with a unit or a ULN/LLN multiple, with nothing but "of"/"the" between.
* not limits: a ratio with a colon ("titer >= 1:160" is a dilution; neither number is read);
  numbers after an assay property ("sensitivity of at least 25 mIU/mL"); a bare range without
  unit except on a unitless analyte ("0-2" prior lines).

The phrase lists live in rule_patterns.yaml; this module is the grammar that combines them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import labs
from ingest.models import AlternativeThreshold, Comparator, LabRule
from ingest.rule_patterns import RulePatterns, load_patterns, phrase_regex
from labs.errors import ConfigError
from labs.observation import Sex

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# A number as protocols write it: 1,500 / 100.000 (thousands before a count unit) / 100 000 / 7,0 / 1.5 / .5
_COUNT_AHEAD = r"(?=\s*(?:/|cel+s?\b|elements\b|per\b|mm3|mm³|mmc|[µμu]l|mcl|microl|x\s*10|×\s*10))"
_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?![\d,])"
    r"|\d{1,3}(?:\.\d{3})+(?![\d.])" + _COUNT_AHEAD +
    r"|\d{1,3}(?:[  ](?!10[369]\s*/)\d{3})+(?!\d)" + _COUNT_AHEAD +  # "100 109/L" is 100 x 10^9/L
    r"|\d+(?:[.,]\d+)?|[.,]\d+)"
)
_NUMBER_RE = re.compile(_NUMBER)
# "x 10^9/L", "x10^9/L", "× 10⁹/L", "x 109/L" (flattened superscript), "10 9/L", "x 10E9/L"
_SCIENTIFIC_RE = re.compile(
    r"\s*(?:[x×X\*·]\s*)?10\s*(?:\^|\*\*|[eE])?\s*([⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2}|\d{1,2})"
    r"(?=\s*(?:/|cells?\b|per\b))"
)
_RANGE_JOIN = r"\s*(?:-|–|—|‐|to|and|through)\s*"
_SENTENCE_END_RE = re.compile(r"[;]|(?<!\b[A-Za-z])\.(?=\s+[A-Z(\[])|\n\s*\n")  # "i.e. <" is no sentence end
# The clauses a time window is scoped to: sentence ends, ';', and a ':' that leads into a list ("... : ANC ...").
_SEGMENT_END_RE = re.compile(_SENTENCE_END_RE.pattern + r"|:(?=\s)")
_LAB_SUBJECT_WORDS = 6  # how many words before "within" may name the lab values as the window's subject
_UNIT_TOKEN_RE = re.compile(r"(?:[^\s,;()\[\]]|(?<=\d),(?=\d))+")  # "ml/min/1,73 m2" keeps its decimal comma
_WINDOW_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                        "nine": 9, "ten": 10, "fourteen": 14, "twenty-one": 21, "twenty-eight": 28, "thirty": 30}
_UNIT_ALIASES = {"elements": "cells", "cubic mm": "mm3", "cu mm": "mm3", "cubic millimeter": "mm3", "gm": "g",
                 "gms": "g", "grams": "g", "mcl": "µL", "mcL": "µL", "microl": "µL", "microL": "µL", "mmc": "mm3",
                 "cumm": "mm3",
                 "gm/dl": "g/dL", "gm/dL": "g/dL", "gms/dl": "g/dL", "mM": "mmol/L", "mn": "min", "cels": "cells"}
# English words pint would read as units ("at" = technical atmosphere, "in" = inch, "h" = hour is fine).
_NOT_UNITS = {"at", "in", "on", "of", "or", "and", "to", "for", "if", "the", "a", "an", "as", "by", "is", "are",
              "be", "than", "with", "when", "from", "after", "before", "during", "within", "unless", "except",
              "times", "time", "x", "fold", "ft", "yd", "mile", "point", "points", "degree", "degrees"}
# Numbers that may stand between an analyte and its limit: one lab-visit or time qualifier, a formula name.
_GAP_ALLOWED_NUMBERS_RE = re.compile(
    r"(?i)\b(?:visit|day|week|cycle|c)\s*\d+(?:\s*d(?:ay)?\s*\d+)?\b|\bwithin\s+\d+\s*(?:days?|weeks?|hours?|h)\b"
    r"|\b(?:CKD-EPI|MDRD|IFCC|DCCT|NGSP)(?:\s*\d{4})?\b|/\s*1[.,]73\s*m2")
_GAP_NUMBER_RE = re.compile(r"\d")
# A ratio written with a colon (a titre "1:160", a dilution "1 : 40"): neither of its numbers is a quantity alone.
# Relies on lab limits never being written as "N:M" otherwise (times of day do not follow a comparator).
_RATIO_AHEAD_RE = re.compile(r"\s?:\s?\d")
_RATIO_BEHIND_RE = re.compile(r"\d\s?:\s?$")
_LEADING_LABEL_RE = re.compile(r"^\s*(?:\[\w{1,5}\]|\(?\w{1,4}[.)])\s+")
_GAP_LIMIT_FIRST = 70  # chars between an analyte name and its first threshold
_GAP_LIMIT_CHAINED = 90  # chars between one threshold and the next one on the same analyte


@dataclass
class _Group:
    start: int
    end: int
    codes: list[str]


@dataclass
class _Threshold:
    start: int
    end: int
    comparator: Comparator
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    multiple_of: str | None = None
    alternatives: list[AlternativeThreshold] = field(default_factory=list)
    end_with_alternatives: int = 0
    offset_from: str | None = None
    measure: str = "level"
    bare_range: bool = False  # "7.0-10.5" with no comparator or "between" before it


@dataclass
class _Window:
    """One "within N days before <anchor>" and the clause it stands in."""

    start: int
    days: int
    anchor: str
    segment_start: int
    segment_end: int
    lead_in: bool  # the clause ends with ':': it introduces the items after it
    lab_subject: bool  # "laboratory values obtained within ...": the window is about every lab of the criterion


@dataclass
class _Quantity:
    value: float
    end: int
    unit: str | None = None
    multiple_of: str | None = None
    offset_from: str | None = None
    # "more than 2 g/dL below the LLN": the comparator measures the distance below, so on the value it turns
    # round (Hb < LLN - 2)
    distance_below: bool = False


_FLIPPED = {Comparator.LT: Comparator.GT, Comparator.LE: Comparator.GE, Comparator.GT: Comparator.LT,
            Comparator.GE: Comparator.LE}


def _to_float(number: str, unit_follows_count: bool) -> float:
    text = number.replace(" ", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        return float(text.replace(",", ""))
    if unit_follows_count and re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return float(text.replace(".", ""))
    return float(text.replace(",", "."))


class _Grammar:
    """Compiled regexes for one RulePatterns and one analyte catalog."""

    def __init__(self, patterns: RulePatterns):
        self.patterns = patterns
        self.comparator_of: dict[str, Comparator] = {}
        for symbol, phrases in patterns.comparators.items():
            for phrase in phrases:
                self.comparator_of[_norm_phrase(phrase)] = Comparator(symbol)
        self.comparator_re = re.compile(
            r"(?<![<>=≤≥])(?P<not>(?<![\w])not\s+|n't\s+)?(?P<comp>" + phrase_regex(list(self.comparator_of))
            + r")"
            r"(?:\s*(?:to|of|than|:))?(?:\s*\((?:[<>=≤≥/_]{1,3})\))?\s*"
            r"(?=[\d.,]|(?:the\s+)?(?:" + self._limit_alternation() + r")|" + self._number_word_alternation() + r")",
            re.IGNORECASE,
        )
        self.number_word_re = re.compile(self._number_word_alternation(), re.IGNORECASE)
        marks = re.escape(patterns.footnote_marks) if patterns.footnote_marks else ""
        # "1.5 x ULNa" / "ULN*": a footnote mark or one lower-case letter glued to the limit name
        self.footnote = (r"(?:[" + marks + r"]+|(?-i:[a-h])(?![\w]))?") if marks else r"(?:(?-i:[a-h])(?![\w]))?"
        self.footnote_marks = patterns.footnote_marks
        self.trailing_of = {_norm_phrase(p): Comparator(symbol)
                            for symbol, phrases in patterns.trailing_comparators.items() for p in phrases}
        self.trailing_re = re.compile(r"\s*(" + phrase_regex(list(self.trailing_of)) + r")", re.IGNORECASE)
        qualifiers = phrase_regex(patterns.limit_qualifiers)
        self.limit_re = re.compile(
            r"\s*(?:[x×X\*]|times|time|-?fold)?\s*(?:" + qualifiers + r"\s+)*(?P<limit>" + self._limit_alternation()
            + r")" + self.footnote + r"(?:\s*\((?:ULN|LLN|UNL|ULRR)\))?",
            re.IGNORECASE,
        )
        self.offset_sign = {_norm_phrase(p): (1.0 if side == "above" else -1.0)
                            for side, phrases in patterns.offset_relations.items() for p in phrases}
        self.offset_re = re.compile(
            r"\s*(?P<rel>" + phrase_regex(list(self.offset_sign) or ["(?!x)x"]) + r")\s+(?:" + qualifiers
            + r"\s+)*(?P<limit>" + self._limit_alternation() + r")" + self.footnote
            + r"(?:\s*\((?:ULN|LLN|UNL|ULRR)\))?",
            re.IGNORECASE,
        )
        self.assay_re = re.compile(phrase_regex(patterns.assay_property_cues or ["(?!x)x"]) + r"\W*(?:\w+\W+){0,2}$",
                                   re.IGNORECASE)
        self.change_re = re.compile(phrase_regex(patterns.change_words or ["(?!x)x"]), re.IGNORECASE)
        self.baseline_re = re.compile(r"^[\s,)\]]*" + phrase_regex(patterns.baseline_phrases or ["(?!x)x"]),
                                      re.IGNORECASE)
        self.uln_re = re.compile(phrase_regex(patterns.uln_phrases), re.IGNORECASE)
        self.between_re = re.compile(r"(?<!\w)(?:between|from|range(?:s|d)?\s+(?:of|from)?)\s*(?=\d)",
                                     re.IGNORECASE)
        self.range_join_re = re.compile(_RANGE_JOIN, re.IGNORECASE)
        self.cues = sorted(((cue, kind) for kind, cues in patterns.condition_cues.items() for cue in cues),
                           key=lambda item: len(item[0]), reverse=True)
        self.cue_re = re.compile(
            r"^[\s,(\[:-]*(?:and\s+|or\s+|but\s+)?(?P<cue>"
            + phrase_regex([cue for cue, _ in self.cues]) + r")\s+(?P<rest>.+)$",
            re.IGNORECASE | re.DOTALL,
        )
        self.cue_kind = {_norm_phrase(cue): kind for cue, kind in self.cues}
        self.stop_re = re.compile(r"\s" + phrase_regex(patterns.condition_stops) + r"|[;:]|\s-\s", re.IGNORECASE)
        self.filler_re = re.compile(r"^(?:" + phrase_regex(patterns.condition_fillers) + r"\s+)+", re.IGNORECASE)
        self.trailing_filler_re = re.compile(r"(?:\s+" + phrase_regex(patterns.condition_fillers) + r")+$",
                                             re.IGNORECASE)
        self.sex_of = {_norm_phrase(w): Sex(code) for code, words in patterns.sex_words.items() for w in words}
        self.sex_re = re.compile(
            r"^[\s,(\[]*(?:(?:for|in|among|if|of)\s+)?(?:(?:adult|all)\s+)?(?P<sex>"
            + phrase_regex([w for w in self.sex_of if len(w) > 1])
            + r")(?:\s+(?:patients|subjects|participants))?(?:[\s,;)\]]*$|(?=[\s,;.)\]]))",
            re.IGNORECASE,
        )
        self.negation_re = re.compile(phrase_regex(patterns.negation_cues) + r"\s*$", re.IGNORECASE)
        self.trailing_negation_re = re.compile(
            r"^[\s,)]*(?:alone\s+)?" + phrase_regex(patterns.trailing_negation_cues or ["(?!x)x"]), re.IGNORECASE)
        units = "|".join(sorted((re.escape(u) for u in patterns.window_units), key=len, reverse=True))
        number_words = "|".join(_WINDOW_NUMBER_WORDS)
        self.window_re = re.compile(
            r"(?:within|in\s+the(?:\s+(?:last|past|previous))?|≤|<=|no\s+more\s+than|no\s+later\s+than)\s+"
            r"(?:the\s+)?(?:(?:last|past|previous)\s+)?(?P<n>\d+|" + number_words + r")\s*(?:\(\d+\)\s*)?"
            r"(?P<unit>" + units + r")\b\s*(?:\w+\s+){0,2}?"
            r"(?P<rel>" + phrase_regex(patterns.window_relations) + r")\s+(?P<anchor>[^.;:,()\n<>=≤≥]{2,60})",
            re.IGNORECASE,
        )
        self.anchor_stop_re = re.compile(
            r"[\s,]+" + phrase_regex(patterns.window_anchor_stops or ["(?!x)x"]) + r"(?=\s|$)", re.IGNORECASE)
        self.lab_subject_re = re.compile(phrase_regex(patterns.window_lab_subjects or ["(?!x)x"]), re.IGNORECASE)
        self.count_words = {w.lower() for w in patterns.count_words}
        self.normal_range_of = {}
        for side, phrases in patterns.normal_range_phrases.items():
            limits = {"outside": [("<", "LLN"), (">", "ULN")], "within": [(">=", "LLN"), ("<=", "ULN")],
                      "below": [("<", "LLN")], "above": [(">", "ULN")]}[side]
            for phrase in phrases:
                self.normal_range_of[_norm_phrase(phrase)] = limits
        self.normal_range_re = re.compile(
            "(" + phrase_regex(list(self.normal_range_of) or ["(?!x)x"]) + ")", re.IGNORECASE)
        self._build_analyte_regexes()

    def _limit_alternation(self) -> str:
        # No boundary before the limit name: "2.5xULN" glues the factor to it. After it, a footnote letter may
        # stick ("1.5 x ULNa"): the name ends before a non-word character or before one such letter.
        # Only abbreviations of three or more capitals take a footnote letter: "x Na" is not "x N" + "a".
        parts = []
        for phrase in sorted(set(self.patterns.uln_phrases + self.patterns.lln_phrases), key=len, reverse=True):
            body = phrase_regex([phrase])[3:-1].replace(r"(?<![\w])", "")
            if len(phrase) >= 3 and phrase.isupper() and phrase.isalpha():
                body = body.replace(r"(?![\w])", r"(?:(?![\w])|(?=(?-i:[a-h])(?![\w])))")
            parts.append(body)
        return "(?:" + "|".join(parts) + ")"

    def _number_word_alternation(self) -> str:
        return r"(?<![\w-])" + phrase_regex(list(self.patterns.number_words) or ["(?!x)x"]) + r"(?=\s|-)"

    def _build_analyte_regexes(self) -> None:
        exact: dict[str, str] = {}
        folded: dict[str, str] = {}
        for analyte in labs.catalog():
            if str(getattr(getattr(analyte, "scale", None), "value", "quantitative")) != "quantitative":
                continue  # "urine color" / "HBsAg positive": no numeric threshold to read
            names = {analyte.name, *analyte.synonyms}
            # The code is a name too, unless a synonym spells it in another case: "eGFR" is the lab, "EGFR" the gene.
            if not any(s.lower() == analyte.code.lower() and s != analyte.code for s in analyte.synonyms):
                names.add(analyte.code)
            for name in names:
                name = name.strip()
                if len(name) < 2 or not re.search(r"[A-Za-z]", name):
                    continue
                # Short abbreviations are case-sensitive ("ALT" is not "alt"-ernative); longer names are not.
                if len(name) <= 4 or name.isupper():
                    exact.setdefault(name, analyte.code)
                    if len(name) >= 3 and name.isupper() and name.isalpha():
                        exact.setdefault(name.capitalize(), analyte.code)  # "Plt", "Hgb", "Anc"
                else:
                    folded.setdefault(name.lower(), analyte.code)
        for word in self.patterns.not_analyte_names:
            exact.pop(word, None)
            folded.pop(word.lower(), None)
        self.exact_codes = {_name_key(name, False): code for name, code in exact.items()}
        self.folded_codes = {_name_key(name, True): code for name, code in folded.items()}
        self.exact_re = _names_regex(exact, plural=False, flags=0)
        self.folded_re = _names_regex(folded, plural=True, flags=re.IGNORECASE)
        known = {analyte.code for analyte in labs.catalog()}
        for name, codes in self.patterns.analyte_groups.items():
            unknown = [code for code in codes if code not in known]
            if unknown:
                raise ConfigError(f"rule patterns: analyte_groups.{name} names codes not in the catalog: {unknown}")
        self.collective_of = {_norm_phrase(name): codes for name, codes in self.patterns.analyte_groups.items()}
        self.collective_re = re.compile(phrase_regex(list(self.collective_of)), re.IGNORECASE) \
            if self.collective_of else None


def _names_regex(names: dict[str, str], *, plural: bool, flags: int) -> re.Pattern[str] | None:
    if not names:
        return None
    parts = []
    for name in sorted(names, key=len, reverse=True):
        body = r"[\s\-]+".join(re.escape(word) for word in name.split())
        if plural and name.endswith("s") and len(name) > 5:
            body = body[:-1] + r"s?"  # "white blood cells" also written "white blood cell"
        elif plural and name[-1].isalpha():
            body += r"(?:s|es)?"
        parts.append(body)
    return re.compile(r"(?<![\w\-])(?:" + "|".join(parts) + r")(?![\w])", flags)


def _norm_phrase(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@functools.lru_cache(maxsize=1)
def _grammar() -> _Grammar:
    return _Grammar(load_patterns())


# ---------------------------------------------------------------------------------------------------------------
# analytes


def _name_key(name: str, fold: bool) -> str:
    """Catalog name and text mention meet here: spacing/hyphens collapsed, plural 's' dropped, case folded."""
    key = " ".join(re.split(r"[\s\-]+", name.strip()))
    key = key.lower() if fold else key
    if fold and len(key) > 5:
        key = re.sub(r"(?:es|s)$", "", key)
    return key


def _analyte_mentions(text: str, g: _Grammar) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for regex, lookup, fold in ((g.exact_re, g.exact_codes, False), (g.folded_re, g.folded_codes, True)):
        if regex is None:
            continue
        for match in regex.finditer(text):
            code = lookup.get(_name_key(match.group(0), fold))
            if code is not None:
                found.append((match.start(), match.end(), code))
    if g.collective_re is not None:
        # "transaminases > 3 x ULN": a collective name stands for each of its analytes at the same span (the
        # group builder joins mentions that touch)
        for match in g.collective_re.finditer(text):
            if any(not (match.end() <= f[0] or match.start() >= f[1]) for f in found):
                continue
            for code in g.collective_of[_norm_phrase(match.group(0))]:
                found.append((match.start(), match.end(), code))
    # Longest first wins overlaps ("creatinine clearance" over "creatinine").
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    kept: list[tuple[int, int, str]] = []
    for mention in found:
        if all(mention[1] <= k[0] or mention[0] >= k[1] or (mention[:2] == k[:2]) for k in kept):
            kept.append(mention)
    return sorted(kept)


_GROUP_GAP_RE = re.compile(
    r"^(?:[\s,/&+()\[\]\-]|\band/or\b|\band\b|\bor\b|\bplus\b|\bserum\b|\bplasma\b|\blevels?\b|\btotal\b"
    r"|\bcounts?\b|\bboth\b|\beither\b|\bvalues?\b|\bconcentrations?\b)*$",
    re.IGNORECASE,
)


def _groups(text: str, mentions: list[tuple[int, int, str]]) -> list[_Group]:
    groups: list[_Group] = []
    for start, end, code in mentions:
        gap = text[groups[-1].end:start] if groups else ""
        if groups and "\n" in gap and not gap.strip() and code not in groups[-1].codes:
            # names on successive lines with nothing joining them: rows of a flattened table, not one group
            groups.append(_Group(start, end, [code]))
            continue
        if groups and _GROUP_GAP_RE.match(gap) and start - groups[-1].end <= 30:
            group = groups[-1]
            group.end = end
            if code not in group.codes:
                group.codes.append(code)
            continue
        groups.append(_Group(start, end, [code]))
    # A closing bracket right after a group ("Alanine aminotransferase (ALT)") belongs to it.
    for group in groups:
        tail = re.match(r"\s*\)", text[group.end:])
        if tail and text.count("(", group.start, group.end) > text.count(")", group.start, group.end):
            group.end += tail.end()
    return groups


# ---------------------------------------------------------------------------------------------------------------
# quantities and thresholds


def _read_unit(text: str, pos: int) -> tuple[str | None, int]:
    """The longest run of tokens after `pos` that labs.parse_unit accepts: ("mL/min/1.73 m2", end) or (None, pos)."""
    window = text[pos:pos + 48]
    tokens = []
    for token in _UNIT_TOKEN_RE.finditer(window):
        if len(tokens) == 5 or (tokens and window[tokens[-1].end():token.start()].strip()):
            break  # a bracket or comma ends the unit: "mg/dL [221 umol/L]"
        if tokens and re.fullmatch(r"[\d.,]+", token.group(0)) and not re.match(r"\s*m(?:2|²|\^2)(?!\w)",
                                                                                   window[token.end():]):
            break  # "mmol/mol 3 months after": a new number starts something else ("1.73 m2" goes on)
        if token.group(0).lower().strip(".:") in _NOT_UNITS:
            break
        tokens.append(token)
    if not tokens:
        return None, pos
    first = tokens[0].group(0)
    if tokens[0].start() > 2 or not re.match(r"[%A-Za-zµμ/⁄]", first):
        return None, pos
    marks = _grammar().footnote_marks
    strong_marks = "".join(mark for mark in marks if not mark.isdigit())
    for count in range(len(tokens), 0, -1):
        raw = window[tokens[0].start():tokens[count - 1].end()]
        raw = raw.rstrip(".:")
        if count > 1 and re.search(r"(?i)\b(?:and|or|if|for|in|with|of|at|to|the|than|unless|times?)\b", raw):
            continue
        # "90 g/L*", "g/La": a footnote mark, or one lower-case letter after a unit that ends in a capital, a
        # digit or '%', is not part of the unit (the quote keeps it; pint would take "†" for a unit of its own).
        # A superscript digit is a footnote only where the unit does not read with it ("m²" is a unit).
        bare = raw.rstrip(strong_marks) if strong_marks else raw
        unit = _parse_unit(bare) if bare else None
        if bare == raw and raw[-1:] in marks and raw.rstrip(marks):
            stripped = _parse_unit(raw.rstrip(marks))
            if unit is None or (stripped and _same_quantity(unit, stripped)):
                unit = stripped  # "g/L¹" reads as g/L to the power 1: the ¹ is a footnote
        if unit is None and bare == raw and re.search(r"[A-Z0-9%³²][a-h]$", raw):
            unit = _parse_unit(raw[:-1])
        if unit is not None:
            return unit, pos + tokens[0].start() + len(raw)
    return None, pos


def _same_quantity(a: str, b: str) -> bool:
    try:
        return abs(labs.convert(1.0, a, b, None) - 1.0) < 1e-9
    except Exception:  # noqa: BLE001 - unparseable or inconvertible: not the same
        return False


def _parse_unit(raw: str) -> str | None:
    cleaned = raw.replace("⁄", "/").translate(_SUPERSCRIPTS)
    cleaned = re.sub(r"(?i)\bper\s*cent\b|\bpercent\b", "%", cleaned)
    cleaned = re.sub(r"(\d),(\d)", r"\1.\2", cleaned)  # "1,73 m2"
    cleaned = re.sub(r"\s*/\s*", "/", cleaned)
    cleaned = re.sub(r"(?i)^per\s+", "/", cleaned)
    cleaned = re.sub(r"(?i)\s+per\s+", "/", cleaned)
    pieces = re.split(r"(/)", cleaned)
    cleaned = "".join(_UNIT_ALIASES.get(p, _UNIT_ALIASES.get(p.lower(), p)) for p in pieces)
    if not re.search(r"[A-Za-zµμ%]", cleaned) or re.fullmatch(r"(?i)x|times|time|fold", cleaned):
        return None
    for candidate in dict.fromkeys((cleaned, cleaned.replace(" ", ""))):
        try:
            unit = labs.parse_unit(candidate)
        except Exception:  # noqa: BLE001 - labs/pint raise a zoo of parser errors; a non-unit is simply not a unit
            continue
        if unit:
            return candidate
    return None


def _read_quantity(text: str, pos: int, g: _Grammar, *, allow_bare_limit: bool = False) -> _Quantity | None:
    """A number (+ x 10^N + unit | x ULN) starting at `pos`, or a bare "ULN" (= 1 x ULN) when allowed."""
    number = _NUMBER_RE.match(text, pos)
    if number is None:
        word = g.number_word_re.match(text, pos)
        limit = word and g.limit_re.match(text, word.end())
        if limit:  # "two times the ULN": a factor in words, only before a limit name
            return _Quantity(g.patterns.number_words[_norm_phrase(word.group(0))], limit.end(),
                             multiple_of=_limit_kind(limit.group("limit"), g))
        if allow_bare_limit:
            limit = re.match(r"\s*(?:the\s+)?(?:(?:institutional|laboratory|local|site|normal)\s+)*(?P<limit>"
                             + g._limit_alternation() + r")", text[pos:], re.IGNORECASE)
            if limit:
                kind = _limit_kind(limit.group("limit"), g)
                # not "-": CTCAE's "<LLN - 1500/mm3" is a range from the LLN down to 1500, not LLN minus 1500
                plus = re.match(r"\s*(\+|plus\b|minus\b)\s*", text[pos + limit.end():], re.IGNORECASE)
                added = plus and _read_quantity(text, pos + limit.end() + plus.end(), g)
                if added and added.unit and not added.multiple_of and not added.offset_from:
                    # "aPTT > ULN + 10 seconds": the same offset as "10 seconds above ULN"
                    sign = -1.0 if plus.group(1).lower() == "minus" else 1.0
                    return _Quantity(sign * added.value, added.end, unit=added.unit, offset_from=kind)
                return _Quantity(1.0, pos + limit.end(), multiple_of=kind)
        return None
    end = number.end()
    if _RATIO_AHEAD_RE.match(text, end) or (pos and _RATIO_BEHIND_RE.search(text[max(0, pos - 6):pos])):
        return None  # "titer >= 1:160" is a dilution: its first term is not the limit, and never read half of it
    limit = g.limit_re.match(text, end)
    if limit:
        try:
            value = _to_float(number.group(0), False)
        except ValueError:
            return None
        return _Quantity(value, limit.end(), multiple_of=_limit_kind(limit.group("limit"), g))
    scientific = _SCIENTIFIC_RE.match(text, end)
    count_unit = bool(re.match(_COUNT_AHEAD, text[end:end + 12], re.IGNORECASE))
    try:
        value = _to_float(number.group(0), count_unit)
    except ValueError:
        return None
    if scientific:
        exponent = scientific.group(1).translate(_SUPERSCRIPTS)
        rest_unit, unit_end = _read_unit(text, scientific.end())
        if rest_unit and rest_unit.startswith("/"):
            unit = _parse_unit(f"10^{exponent}{rest_unit}")
            if unit:
                return _Quantity(value, unit_end, unit=unit)
        elif rest_unit and rest_unit.lower().startswith("cell"):
            unit = _parse_unit(f"10^{exponent}{rest_unit[rest_unit.find('/'):]}") if "/" in rest_unit else None
            if unit:
                return _Quantity(value, unit_end, unit=unit)
    unit, unit_end = _read_unit(text, end)
    if unit:
        offset = g.offset_re.match(text, unit_end)
        if offset:  # "5 seconds above ULN": ULN + 5 s, not a multiple
            sign = g.offset_sign[_norm_phrase(offset.group("rel"))]
            return _Quantity(sign * value, offset.end(), unit=unit,
                             offset_from=_limit_kind(offset.group("limit"), g), distance_below=sign < 0)
    return _Quantity(value, unit_end if unit else end, unit=unit)


def _limit_kind(phrase: str, g: _Grammar) -> str:
    return "ULN" if g.uln_re.fullmatch(phrase.strip()) or "upper" in phrase.lower() or "U" == phrase[:1] else "LLN"


def _comparator(match: re.Match[str], g: _Grammar) -> Comparator:
    comparator = g.comparator_of[_norm_phrase(match.group("comp"))]
    if match.group("not"):
        comparator = {Comparator.LT: Comparator.GE, Comparator.LE: Comparator.GT,
                      Comparator.GT: Comparator.LE, Comparator.GE: Comparator.LT}[comparator]
    return comparator


def _thresholds(text: str, g: _Grammar) -> list[_Threshold]:
    """Every comparator + quantity, range and "N unit or more" in the text, left to right, non-overlapping."""
    found: list[_Threshold] = []
    taken = [False] * (len(text) + 1)

    def free(start: int, end: int) -> bool:
        return not any(taken[start:end])

    def take(threshold: _Threshold) -> None:
        for i in range(threshold.start, threshold.end):
            taken[i] = True
        found.append(threshold)

    # "between 7.0% and 10.5%", "from 15 to 59 mL/min"
    for match in g.between_re.finditer(text):
        low = _read_quantity(text, match.end(), g)
        join = low and g.range_join_re.match(text, low.end)
        high = join and _read_quantity(text, join.end(), g)
        if (low and high and low.multiple_of == high.multiple_of and low.value <= high.value
                and not low.offset_from and not high.offset_from):
            unit = high.unit or low.unit
            take(_Threshold(match.start(), high.end, Comparator.BETWEEN, low=low.value, high=high.value,
                            unit=None if high.multiple_of else unit, multiple_of=high.multiple_of))
    # comparator + quantity
    for match in g.comparator_re.finditer(text):
        if not free(match.start(), match.end()):
            continue
        quantity = _read_quantity(text, match.end(), g, allow_bare_limit=True)
        if quantity is None:
            continue
        if quantity.unit is None and quantity.multiple_of is None and _counts_something_else(text, quantity.end, g):
            continue
        comparator = _comparator(match, g)
        if quantity.distance_below:
            comparator = _FLIPPED[comparator]
        take(_Threshold(match.start(), quantity.end, comparator, value=quantity.value,
                        unit=quantity.unit, multiple_of=quantity.multiple_of, offset_from=quantity.offset_from))
    # bare "7.0-10.5 %" and "140 mg/dL or greater"
    for match in _NUMBER_RE.finditer(text):
        if not free(match.start(), match.end()) or (match.start() and (text[match.start() - 1].isalnum()
                                                                      or text[match.start() - 1] in ".,")):
            continue
        first = _read_quantity(text, match.start(), g)
        if first is None:
            continue
        join = re.match(r"\s*(?:-|–|—|‐|to)\s*", text[first.end:])
        if join:
            high = _read_quantity(text, first.end + join.end(), g)
            if high and high.value >= first.value and high.multiple_of == first.multiple_of and not (
                    first.offset_from or high.offset_from) and free(
                    match.start(), high.end):
                unit = high.unit or first.unit
                take(_Threshold(match.start(), high.end, Comparator.BETWEEN, low=first.value, high=high.value,
                                unit=None if high.multiple_of else unit, multiple_of=high.multiple_of,
                                bare_range=True))
                continue
        trailing = g.trailing_re.match(text, first.end)
        if trailing and free(match.start(), trailing.end()):
            comparator = g.trailing_of[_norm_phrase(trailing.group(1))]
            take(_Threshold(match.start(), trailing.end(),
                            _FLIPPED[comparator] if first.distance_below else comparator,
                            value=first.value, unit=first.unit, multiple_of=first.multiple_of,
                            offset_from=first.offset_from))
    # "outside the normal range" = below 1 x LLN or above 1 x ULN; "within normal limits" the reverse
    for match in g.normal_range_re.finditer(text):
        if not free(match.start(), match.end()):
            continue
        for comparator, multiple in g.normal_range_of[_norm_phrase(match.group(1))]:
            take(_Threshold(match.start(), match.end(), Comparator(comparator), value=1.0, multiple_of=multiple))
    # "ALT <= 2.5 x ULN (5 x ULN if liver metastases)": a bracketed multiple right after a limit, with no
    # comparator of its own, restates the limit for a case and keeps its direction
    for threshold in sorted(found, key=lambda t: t.start):
        opened = re.match(r"\s*[(\[]\s*", text[threshold.end:threshold.end + 6])
        if opened is None or threshold.multiple_of is None or threshold.comparator is Comparator.BETWEEN:
            continue
        pos = threshold.end + opened.end()
        restated = _read_quantity(text, pos, g)
        case = text[restated.end:restated.end + 120] if restated else ""
        case = case[:case.find(")")] if ")" in case else case
        if (restated and restated.multiple_of == threshold.multiple_of and free(pos, restated.end)
                and (_condition(case, g) or _sex(case, g))):  # only a restatement for a named case
            take(_Threshold(pos, restated.end, threshold.comparator, value=restated.value,
                            multiple_of=restated.multiple_of))
    found.sort(key=lambda t: t.start)
    return _merge_ranges(text, found)


def _counts_something_else(text: str, end: int, g: _Grammar) -> bool:
    """ "at least 2 serial hCG values", "over 2-14 days": a bare number that counts things or opens a range of
    something else is not a limit on the lab."""
    after = text[end:end + 40]
    if re.match(r"\s*(?:-|–|to)\s*\d", after):
        return True
    word = re.match(r"\s*([A-Za-z]+)", after)
    return bool(word) and word.group(1).lower() in g.count_words


def _merge_ranges(text: str, thresholds: list[_Threshold]) -> list[_Threshold]:
    """">= 7.0% and <= 10.5%" / ">= 7.0% to <= 10.0%" is one inclusive range."""
    merged: list[_Threshold] = []
    for threshold in thresholds:
        if merged:
            prev = merged[-1]
            between = text[prev.end:threshold.start]
            if (prev.comparator is Comparator.GE and threshold.comparator is Comparator.LE
                    and re.fullmatch(r"\s*(?:and|to|-|–|,|but)?\s*", between, re.IGNORECASE)
                    and prev.multiple_of == threshold.multiple_of
                    and (prev.unit is None or threshold.unit is None or prev.unit == threshold.unit)
                    and prev.value is not None and threshold.value is not None and prev.value <= threshold.value):
                merged[-1] = _Threshold(prev.start, threshold.end, Comparator.BETWEEN, low=prev.value,
                                        high=threshold.value, unit=threshold.unit or prev.unit,
                                        multiple_of=threshold.multiple_of)
                continue
        merged.append(threshold)
    return merged


def _read_alternative(text: str, threshold: _Threshold, g: _Grammar) -> int:
    """Consume "[221 umol/L]" / "(>= 10 g/L)" / "(53-91 mmol/mol)" after a threshold; returns the new end."""
    match = re.match(r"\s*[\[(]\s*", text[threshold.end:])
    if not match or threshold.multiple_of:
        return threshold.end
    pos = threshold.end + match.end()
    comparator = g.comparator_re.match(text, pos)
    if comparator:
        if _comparator(comparator, g) is not threshold.comparator:
            return threshold.end
        pos = comparator.end()
    first = _read_quantity(text, pos, g)
    if first is None or first.multiple_of or (first.unit is None and threshold.comparator is not Comparator.BETWEEN):
        return threshold.end
    low = high = value = None
    end = first.end
    join = re.match(r"\s*(?:-|–|—|to|and)\s*", text[first.end:])
    second = join and _read_quantity(text, first.end + join.end(), g)
    if threshold.comparator is Comparator.BETWEEN:
        if not second or second.unit is None:
            return threshold.end
        low, high, end = first.value, second.value, second.end
    else:
        value = first.value
    close = re.match(r"\s*[\])]", text[end:])
    if not close or first.unit == threshold.unit:
        return threshold.end
    unit = second.unit if second and high is not None else first.unit
    threshold.alternatives.append(AlternativeThreshold(value=value, low=low, high=high, unit=unit))
    return end + close.end()


# ---------------------------------------------------------------------------------------------------------------
# conditions, sex, windows


def _clause_end(text: str, start: int, limit: int) -> int:
    """Where the clause after a threshold stops: a sentence end, ';', the bracket that encloses it, or `limit`."""
    depth = 0
    for i in range(start, min(limit, len(text))):
        char = text[i]
        if char in "([":
            depth += 1
        elif char in ")]":
            if depth == 0:
                return i
            depth -= 1
        elif char == ";" or (char == "." and (i + 1 >= len(text) or text[i + 1].isspace())
                             and not text[i - 1:i].isdigit()):
            return i
        elif char == "\n" and i + 1 < len(text) and text[i + 1] in "•·-–*":
            return i
    return min(limit, len(text))


def _bracketed_prefix(clause: str) -> str:
    """A clause that opens with a bracket ends where the bracket closes (inclusive)."""
    opened = re.match(r"\s*[(\[]", clause)
    if not opened:
        return clause
    depth = 0
    for i in range(opened.end() - 1, len(clause)):
        if clause[i] in "([":
            depth += 1
        elif clause[i] in ")]":
            depth -= 1
            if depth == 0:
                return clause[:i + 1]
    return clause


def _condition(clause: str, g: _Grammar) -> tuple[str, str] | None:
    # "(except for cases of known Gilbert's syndrome) elevation ...": the bracket ends the condition
    clause = _bracketed_prefix(clause)
    match = g.cue_re.match(clause)
    if not match:
        return None
    kind = g.cue_kind[_norm_phrase(match.group("cue"))]
    rest = match.group("rest")
    stop = g.stop_re.search(rest)
    if stop:
        rest = rest[:stop.start()]
    rest = re.sub(r"\s*\([^()]*\)", "", rest)  # "(unconjugated hyperbilirubinaemia)"
    rest = re.sub(r"\s+", " ", rest).strip(" ,.;:-–)(")
    rest = re.sub(r"\s+(?:or|and)$", "", rest)
    for _ in range(3):
        rest = g.filler_re.sub("", rest).strip()
        rest = g.trailing_filler_re.sub("", rest).strip(" ,.")
    if len(rest) < 3 or not re.search(r"[A-Za-z]{3}", rest) or len(rest) > 120:
        return None
    if kind == "if" and re.match(r"(?i)no\s+", rest):  # "with no liver metastases"
        kind, rest = "unless", rest[3:].strip()
    return rest, kind


def _sex(clause: str, g: _Grammar) -> tuple[Sex, int] | None:
    """ "for females" / "(men)" at the start of the clause: the sex and where its phrase ends."""
    match = g.sex_re.match(clause)
    if not match:
        return None
    return g.sex_of[_norm_phrase(match.group("sex"))], match.end()


def _segment(text: str, position: int) -> tuple[int, int, bool]:
    """The clause around `position`: (start, end, ends with ':')."""
    start = 0
    for match in _SEGMENT_END_RE.finditer(text):
        if match.end() <= position:
            start = match.end()
        elif match.start() >= position:
            return start, match.start(), match.group(0) == ":"
    return start, len(text), False


def _windows(text: str, g: _Grammar) -> list[_Window]:
    found = []
    for match in g.window_re.finditer(text):
        n_text = match.group("n").lower()
        n = int(n_text) if n_text.isdigit() else _WINDOW_NUMBER_WORDS.get(n_text)
        per_unit = g.patterns.window_units.get(match.group("unit").lower())
        if n is None or not per_unit:
            continue
        anchor = match.group("anchor")
        comparator = g.comparator_re.search(anchor)
        anchor = anchor[:comparator.start()] if comparator else anchor
        stop = g.anchor_stop_re.search(anchor)  # "randomization that has not fully resolved" -> "randomization"
        anchor = anchor[:stop.start()] if stop else anchor
        anchor = anchor.strip(" .,")
        if not anchor:
            continue
        segment_start, segment_end, lead_in = _segment(text, match.start())
        words_before = text[segment_start:match.start()].split()[-_LAB_SUBJECT_WORDS:]
        found.append(_Window(match.start(), n * per_unit, anchor, segment_start, segment_end, lead_in,
                             bool(g.lab_subject_re.search(" ".join(words_before)))))
    return found


def _window_scopes(windows: list[_Window], threshold_starts: list[int]) -> tuple[list[_Window], list[_Window]]:
    """Split windows into clause windows (their clause holds a threshold: they cover that clause only) and
    lead-in windows (no threshold in their clause, and they introduce a list or name the lab values)."""
    clause, lead_ins = [], []
    for window in windows:
        if any(window.segment_start <= s < window.segment_end for s in threshold_starts):
            clause.append(window)
        elif window.lead_in or window.lab_subject:
            lead_ins.append(window)
    return clause, lead_ins


def _window_for(position: int, clause: list[_Window], lead_ins: list[_Window],
                inherited: list[_Window]) -> _Window | None:
    """The window of the threshold at `position`: its own clause's first, then a lead-in of this text, then one of
    the parent's lead-in."""
    own = [w for w in clause if w.segment_start <= position < w.segment_end]
    if own:
        return _nearest_window(own, position)
    leading = [w for w in lead_ins if w.lab_subject or w.segment_end <= position]
    if leading:
        return _nearest_window(leading, position)
    return inherited[-1] if inherited else None


def _inherited_windows(context: str | None, g: _Grammar) -> list[_Window]:
    """Windows a parent's lead-in gives its sub-items: "5. Adequate organ function within 14 days before
    randomization:" -> every item under it. A window in a clause of the head that holds a threshold of its own, or
    in an earlier clause that neither leads into the list nor names the lab values, is not inherited."""
    if not isinstance(context, str) or not context.strip():
        return []
    head = context.rstrip()
    windows = _windows(head, g)
    if not windows:
        return []
    clause, lead_ins = _window_scopes(windows, [t.start for t in _thresholds(head, g)])
    last_clause = [w for w in windows if w not in clause and w.segment_end >= len(head.rstrip(" .;:"))]
    return [w for w in windows if w in lead_ins or w in last_clause]


# ---------------------------------------------------------------------------------------------------------------
# units against analytes


_BSA_SUFFIX_RE = re.compile(
    r"\s*/\s*(?:1[.,]73\s*m(?:2|²|\^2)?|bsa_1_73)\s*$|\s+per\s+1[.,]73\s*m(?:2|²)?\s*$", re.IGNORECASE
)


def _unit_fits(code: str, unit: str | None) -> bool:
    """A number's unit must be one the analyte can be measured in ("2 weeks" is not an ALT limit).

    Body-surface normalisation is a reporting convention, not another quantity: eGFR "< 30 mL/min" and CrCl
    "< 30 mL/min/1.73 m2" are read as written (the evaluator decides whether it can compare them).
    """
    if unit is None:
        return True
    try:
        analyte = labs.analyte(code)
    except Exception:  # noqa: BLE001 - unknown code: nothing to check against
        return True
    pairs = [
        (unit, analyte.canonical_unit, analyte),
        (_BSA_SUFFIX_RE.sub("", unit), _BSA_SUFFIX_RE.sub("", analyte.canonical_unit), None),
    ]
    for source, target, context in pairs:
        if context is None and (source, target) == (unit, analyte.canonical_unit):
            continue  # no body-surface part on either side: the strict check above already said no
        try:
            labs.convert(1.0, source, target, context)
            return True
        except Exception:  # noqa: BLE001 - any failure to convert means the unit does not belong to this analyte
            continue
    return False


# ---------------------------------------------------------------------------------------------------------------
# the public entry point


def extract_rules(text: str, *, context: str | None = None) -> list[LabRule]:
    """Every numeric lab threshold in `text`, one LabRule per analyte; quote == text[start:end].

    `context`: the text of the enclosing criterion when `text` is a sub-item, e.g. "[3] Have HbA1c meeting the
    following criteria:" for "[3a] ... >= 7.0% to <= 10.0%". Thresholds in `text` that no analyte of `text`
    precedes are then read against the analyte the context's head names (only when it names exactly one group).
    """
    if not isinstance(text, str) or not text.strip():
        return []
    g = _grammar()
    groups = _groups(text, _analyte_mentions(text, g))
    inherited = _context_group(context, g) if isinstance(context, str) and context.strip() else None
    if inherited is not None:
        groups.insert(0, inherited)
    if not groups:
        return []
    thresholds = _thresholds(text, g)
    windows = _windows(text, g)
    inherited_windows = _inherited_windows(context, g)
    table_owner, table_orphans = _column_table(text, groups, thresholds)

    # 1. each threshold belongs to the nearest analyte group before it, through a short gap, chaining
    #    "Hb >= 12 g/dL for females, >= 13 for males" onto the same group.
    owned: list[tuple[_Group, _Threshold, bool, str | None]] = []
    last_of_group: dict[int, _Threshold] = {}
    consumed_until = 0
    for threshold in thresholds:
        if threshold.start < consumed_until and not (owned and owned[-1][1].start == threshold.start):
            continue  # the "[221 umol/L]" restatement of the threshold before
        if threshold.start in table_orphans:
            continue  # a flattened table whose name and value columns do not pair up: never guess the row
        changed_group = _change_after(text, groups, threshold, g)
        group = table_owner.get(threshold.start) or changed_group or _owner(text, groups, threshold)
        named_after = group is None and _named_after(text, groups, threshold)
        if named_after:
            group = named_after
        if group is None:
            continue
        previous = last_of_group.get(id(group))
        in_table = threshold.start in table_owner
        chained = previous is not None and previous.end > group.end and not in_table and changed_group is None
        gap_start = previous.end if chained else group.end
        gap = text[gap_start:threshold.start] if group.end <= threshold.start else ""
        if not in_table and changed_group is None and not named_after:
            if len(gap) > (_GAP_LIMIT_CHAINED if chained else _GAP_LIMIT_FIRST) or _SENTENCE_END_RE.search(gap):
                continue
            if chained and not _chain_gap_ok(gap, g):
                continue
            if not chained and group.start >= 0 and g.negation_re.search(
                    text[max(0, group.start - 40):group.start]):
                continue
            if not chained and _GAP_NUMBER_RE.search(_GAP_ALLOWED_NUMBERS_RE.sub(
                    " ", gap if group.start >= 0 else _LEADING_LABEL_RE.sub("", gap))):
                continue  # another number between the name and this one: it is not this analyte's limit
        if g.assay_re.search(text[max(0, threshold.start - 40):threshold.start]):
            continue  # "with a sensitivity of at least 50 mIU/mL": the assay's, not the patient's
        if changed_group is not None or _is_change(text, group, threshold, gap, previous if chained else None, g):
            threshold.measure = "change"
        unit = threshold.unit
        if threshold.bare_range and unit is None and not chained:
            # "Creatinine (mg/dL) 0.6 - 1.2": the unit heads the row in brackets. With words between the name and
            # a bare range ("insulin ... up to two (i.e., 0-2"), the range counts something else.
            header = re.fullmatch(r"\s*[(\[]\s*([^()\[\]\d]{1,20}?)\s*[)\]]\s*[:,]?\s*", gap)
            if header:
                unit = threshold.unit = _parse_unit(header.group(1).strip())
            elif re.search(r"[A-Za-z]", _LEADING_LABEL_RE.sub("", gap) if group.start < 0 else gap):
                continue
        if unit is None and chained and not threshold.multiple_of and previous.unit:
            if _condition(gap, g) is not None:
                continue  # "WBC < 3,000 cells/mm3 if persistent (at least 2 ...)": a count of something else
            if re.match(r"\s*\S*/", text[threshold.end:threshold.end + 12]):
                continue  # "(> 26 #mol/L)": a unit is written but unreadable; never lend it the earlier one
            unit = previous.unit  # "Hb >= 12 g/dL for females, >= 13 for males"
        codes = [code for code in group.codes if _unit_ok(code, threshold, unit)]
        if not codes:
            continue
        threshold.unit = unit
        last_of_group[id(group)] = threshold
        owned.append((group, threshold, chained, gap if not chained else None))
        consumed_until = threshold.end_with_alternatives = _read_alternative(text, threshold, g)

    # 2. after each threshold: an alternative unit in brackets, then its condition / sex clause.
    rules: list[LabRule] = []
    group_of_rule: list[int] = []
    clause_windows, lead_in_windows = _window_scopes(windows, [t.start for _, t, _, _ in owned])
    starts = [t.start for _, t, _, _ in owned] + [gr.start for gr in groups]
    first_threshold_of: dict[int, int] = {}
    for group, threshold, _, _ in owned:
        first_threshold_of.setdefault(id(group), threshold.start)
    group_starts = {gr.start for gr in groups}
    for group, threshold, chained, first_gap in owned:
        end = threshold.end_with_alternatives
        next_start = min([s for s in starts if s >= end], default=len(text))
        clause_end = _clause_end(text, end, next_start)
        clause = _bracketed_prefix(text[end:clause_end])
        clause = re.sub(r"(?i)[\s,]*(?:\bor\b|\band\b|\band/or\b)?[\s,]*$", "", clause)
        if g.trailing_negation_re.match(clause):
            continue  # "ALT > 3 x ULN is not exclusionary": the text says this is not a limit
        sex_found = _sex(clause, g) if clause.strip() else None
        sex = sex_found[0] if sex_found else None
        condition = None if sex or not clause.strip() else _condition(clause, g)
        runs_on = re.sub(r"(?i)[\s,]*(?:\bor\b|\band\b|\band/or\b)?\s*$", "", text[end:clause_end])
        if (condition and clause_end in group_starts and not re.search(r"[,;)\]]$", runs_on)
                and not clause.rstrip().endswith((")", "]"))):
            # "bilirubin <= 1.5 x ULN (patients with Gilbert's syndrome total bilirubin <= 2.5 x ULN)": the
            # condition runs straight into the next analyte name, so it is that threshold's
            condition = None
        quote_end = end
        if sex_found:
            quote_end = end + len(clause[:sex_found[1]].rstrip(" ,)]"))
        elif condition:
            quote_end = end + len(clause.rstrip(" ,"))
        if condition is None and first_gap:
            condition = _preceding_condition(first_gap, g)
        if condition is None and not chained and group.start > 0:
            condition = _clause_head_condition(text, group, g)
        if condition is None and sex is None:
            sex = _preceding_sex(text, group, g)
        window = _window_for(threshold.start, clause_windows, lead_in_windows, inherited_windows)
        for code in group.codes:
            if not _unit_ok(code, threshold, threshold.unit):
                continue
            # A chained threshold reuses the analyte named before it but quotes only its own words (the two
            # limits that one "outside the normal range" stands for share the analyte's quote).
            own_span = chained and threshold.start > first_threshold_of[id(group)]
            start = threshold.start if own_span or group.start < 0 or group.start > threshold.start else group.start
            rule_end = max(quote_end, group.end)  # "a >= 50% decrease in platelets" names the analyte last
            baseline = g.baseline_re.match(text[rule_end:rule_end + 60]) if threshold.measure == "change" else None
            if baseline:
                rule_end += baseline.end()  # "> 0.5 mg/dL from baseline": the quote says what the change is from
            quote = text[start:rule_end]
            group_of_rule.append(id(group))
            rules.append(LabRule(
                analyte=code, comparator=threshold.comparator, value=threshold.value, low=threshold.low,
                high=threshold.high, unit=None if threshold.multiple_of else threshold.unit,
                multiple_of=threshold.multiple_of, alternatives=list(threshold.alternatives),
                offset_from=threshold.offset_from, measure=threshold.measure,
                condition=condition[0] if condition else None,
                condition_type=condition[1] if condition else None, sex=sex,
                window_days=window.days if window else None, window_anchor=window.anchor if window else None,
                quote=quote, start=start, end=rule_end,
            ))
    _exceptions_limit_the_default(text, rules, group_of_rule)
    return _dedupe(rules)


def _unit_ok(code: str, threshold: _Threshold, unit: str | None) -> bool:
    """A multiple of ULN/LLN fits any analyte; a relative change may be in percent; else the unit must fit.
    """
    if threshold.multiple_of:
        return True
    if threshold.measure == "change" and unit == "%":
        return True
    return _unit_fits(code, unit)


def _unitless(code: str) -> bool:
    try:
        return labs.analyte(code).canonical_unit == "1"
    except Exception:  # noqa: BLE001 - unknown code: not known to be unitless
        return False


def _is_change(text: str, group: _Group, threshold: _Threshold, gap: str, previous: _Threshold | None,
               g: _Grammar) -> bool:
    """Whether a threshold limits a change between visits rather than a level. Relies on the change word standing
    right next to the analyte name ("creatinine increase > 0.5 mg/dL", "a rise in creatinine of >= 0.3 mg/dL")
    or a reference visit right after the number ("> 0.5 mg/dL from baseline"); a change word deeper in the gap
    ("hemoglobin (no change in erythropoietin dose) >= 9 g/dL") is about something else. A multiple of ULN/LLN
    or an offset from it is a level whatever the wording ("ALT increase > 3 x ULN")."""
    if threshold.multiple_of or threshold.offset_from:
        return False
    if g.baseline_re.match(text[threshold.end:threshold.end + 60]):
        return True
    reached = r"(?:to\b|below\b|under\b|beneath\b|above\b|over\b|into\b|within\b)"
    if previous is not None:
        # "increase >= 0.3 mg/dL or >= 50%": the chain stays a change; "by more than 50% or to less than 100": the
        # second limit is the level reached
        return previous.measure == "change" and not re.search(r"\bto\s*$", gap, re.IGNORECASE) and not re.match(
            reached, text[threshold.start:threshold.start + 20], re.IGNORECASE)
    # "falls below 20 mEq/L", "decreased to <= 2", "recovery ... to a level >= 500": the level reached, not a change
    next_to_name = r"^\s*(?:(?:levels?|values?|concentrations?|counts?)\s+)?(?:" + g.change_re.pattern + r")"
    word = re.match(next_to_name, gap, re.IGNORECASE)
    if word:
        after = gap[word.end():] + text[threshold.start:threshold.start + 20]  # the comparator word too
        return not re.match(r"\s*" + reached, after, re.IGNORECASE)
    before = text[max(0, group.start - 40):max(0, group.start)]
    if re.search(r"(?:" + g.change_re.pattern + r")\s+(?:in|of)\s+(?:the\s+)?(?:serum\s+|plasma\s+)?$", before,
                 re.IGNORECASE):
        # "a rise in creatinine of >= 0.3 mg/dL", "a decrease of Hb by more than 20 g/L": the size of the change;
        # "a decrease in neutrophil count < 500/mm3" (no "of"/"by") is read as the level reached
        return bool(re.match(r"\s*(?:(?:levels?|values?|counts?)\s+)?(?:of|by)\b", gap, re.IGNORECASE)) and not \
            re.match(reached, text[threshold.start:threshold.start + 20], re.IGNORECASE)
    return False


def _change_after(text: str, groups: list[_Group], threshold: _Threshold, g: _Grammar) -> _Group | None:
    """ "a >= 50% decrease in platelet count": a threshold, a change word, "in"/"of", then the analyte. The change
    is the analyte's, though its name comes after the number. Relies on the change word standing right between."""
    after = re.match(r"\s*(?:" + g.change_re.pattern + r")\s+(?:in|of)\s+(?:the\s+)?(?:serum\s+|plasma\s+)?",
                     text[threshold.end:threshold.end + 60], re.IGNORECASE)
    if after is None and re.search(r"(?:" + g.change_re.pattern + r")\s+(?:of\s+|by\s+)?$",
                                   text[max(0, threshold.start - 30):threshold.start], re.IGNORECASE):
        # "a decrease of >= 50% in platelet count": the change word before the number, the analyte after it
        after = re.match(r"\s*(?:in|of)\s+(?:the\s+)?(?:serum\s+|plasma\s+)?",
                         text[threshold.end:threshold.end + 30], re.IGNORECASE)
    if after is None:
        return None
    start = threshold.end + after.end()
    return next((group for group in groups if group.start == start), None)


_TABLE_FILLER_RE = re.compile(
    r"(?i)^(?:[\s•·▪◦\-–*:;,()\[\]!]|\b(?:serum|plasma|blood|total|absolute|count|level|levels|value|values|"
    r"concentration|\(?\w{1,3}[.)]))*$")


def _column_table(text: str, groups: list[_Group], thresholds: list[_Threshold]
                  ) -> tuple[dict[int, _Group], set[int]]:
    """A two-column table ("Test | Required value") that the PDF text layer flattened column by column:

        Absolute neutrophil count
        Platelets
        ≥ 1.5 x 10^9/L
        ≥ 100 x 10^9/L

    Relies on: two or more successive lines that each hold only one analyte name, followed directly by as many
    lines that each hold only one threshold; the rows are paired in order. When the counts differ the thresholds
    are returned as orphans (never guessed onto a row). Returns {threshold start: its row's group}, orphan starts.
    """
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    kinds: list[tuple[str, object] | None] = []
    for start, end in lines:
        inside = [gr for gr in groups if start <= gr.start and gr.end <= end]
        limits = [t for t in thresholds if start <= t.start and t.end <= end]
        if len(inside) == 1 and not limits:
            rest = text[start:inside[0].start] + " " + text[inside[0].end:end]
            kinds.append(("name", inside[0]) if _TABLE_FILLER_RE.match(rest) else None)
        elif len(limits) == 1 and not inside:
            rest = text[start:limits[0].start] + " " + text[limits[0].end:end]
            kinds.append(("value", limits[0]) if not re.search(r"[A-Za-z0-9]{2,}", rest) else None)
        else:
            kinds.append(None)
    owner: dict[int, _Group] = {}
    orphans: set[int] = set()
    i = 0
    while i < len(kinds):
        names = []
        while i < len(kinds) and kinds[i] and kinds[i][0] == "name":
            names.append(kinds[i][1])
            i += 1
        values = []
        while i < len(kinds) and kinds[i] and kinds[i][0] == "value":
            values.append(kinds[i][1])
            i += 1
        if len(names) >= 2 and values:
            if len(names) == len(values):
                owner.update({value.start: name for name, value in zip(names, values)})
            else:
                orphans.update(value.start for value in values)
        if not names and not values:
            i += 1
    return owner, orphans


def _upward(comparator: Comparator) -> bool | None:
    return {Comparator.LT: False, Comparator.LE: False, Comparator.GT: True, Comparator.GE: True}.get(comparator)


def _exceptions_limit_the_default(text: str, rules: list[LabRule], group_of_rule: list[int]) -> None:
    """ "ALT <= 2.5 x ULN (<= 5 x ULN if liver metastases)": the default limit holds unless the exception's
    condition does, so a patient with liver metastases is judged on 5 x ULN only. The unconditioned rule of the
    same analyte, statement and direction gets the exception's condition as 'unless'."""
    for index, rule in enumerate(rules):
        if rule.condition_type != "if" or rule.condition is None or rule.sex is not None:
            continue
        for earlier_index in range(index):
            earlier = rules[earlier_index]
            same_statement = group_of_rule[earlier_index] == group_of_rule[index] or (
                # "bilirubin < 1.5 x ULN (bilirubin in patients with Gilbert's ... < 3 x ULN)"
                earlier.end <= rule.start
                and re.fullmatch(r"[\s,;]*(?:[(\[][^()\[\]\d]*)?", text[earlier.end:rule.start]) is not None)
            if (same_statement and earlier.analyte == rule.analyte
                    and earlier.condition is None and earlier.sex is None
                    and _upward(earlier.comparator) is not None
                    and _upward(earlier.comparator) == _upward(rule.comparator)):
                earlier.condition, earlier.condition_type = rule.condition, "unless"


_CONNECTORS = {"or", "and", "and/or", "but", "nor", "either", "respectively", "if", "any", "value", "level",
               "levels", "values", "is", "are", "acceptable", "allowed", "permitted", "up", "to", "the", "a",
               "at", "visit", "screening", "baseline", "both"}


def _chain_gap_ok(gap: str, g: _Grammar) -> bool:
    """Between two thresholds of one analyte only connectors, a sex or the first threshold's condition may stand:
    "Hb >= 12 g/dL for females, >= 13 for males" chains; "BNP > 100, current BP < 160" does not."""
    if re.search(r"\n\s*(?:[•·▪◦\-–*!]|\(?\w{1,3}[.)]\s)", gap):
        return False  # a new bullet or list item starts: the next threshold is not this one's continuation
    stripped = gap.strip(" ,;()[]\n")
    if not stripped:
        return True
    if _condition(gap, g) is not None:
        return True
    if re.search(r"\d", _GAP_ALLOWED_NUMBERS_RE.sub(" ", stripped, count=1)):
        return False  # "> 100 000 > 2 000 125% 50-100": table cells, not one analyte's limits
    words = re.findall(r"[A-Za-z/']+", stripped.lower())
    allowed = _CONNECTORS | set(g.sex_of) | {"for", "in", "among", "patients", "subjects", "participants"}
    return all(word in allowed for word in words)


def _owner(text: str, groups: list[_Group], threshold: _Threshold) -> _Group | None:
    before = [group for group in groups if group.end <= threshold.start]
    return before[-1] if before else None


_NAMED_AFTER_GAP_RE = re.compile(r"\s*(?:of\s+)?(?:the\s+)?", re.IGNORECASE)


def _named_after(text: str, groups: list[_Group], threshold: _Threshold) -> _Group | None:
    """The analyte named right after a threshold that no analyte precedes ("a maximum of 30% bone marrow blasts",
    ">= 1.5 x 10^9/L neutrophils"). Relies on the name following the quantity directly (nothing but "of"/"the"
    between) and on the quantity carrying a unit or a ULN/LLN multiple, which the analyte's units then check: a bare
    number before a name ("2 platelet transfusions") counts something else."""
    if threshold.unit is None and threshold.multiple_of is None:
        return None
    after = [group for group in groups if group.start >= threshold.end]
    if not after:
        return None
    gap = _NAMED_AFTER_GAP_RE.fullmatch(text, threshold.end, after[0].start)
    return after[0] if gap else None


def _context_group(context: str, g: _Grammar) -> _Group | None:
    """The analyte(s) a list head names ("Have HbA1c meeting the following criteria:"), as a group that stands
    before the sub-item's text (start = end = -1, so the gap to a threshold is measured from the text start)."""
    head_end = len(context)
    first_threshold = next(iter(_thresholds(context, g)), None)
    if first_threshold is not None:
        head_end = first_threshold.start
    head_groups = _groups(context[:head_end], _analyte_mentions(context[:head_end], g))
    if len(head_groups) != 1:
        return None
    return _Group(-1, 0, list(head_groups[0].codes))


_PERMISSION_RE = re.compile(r"(?i)\b(?:eligible|allowed|permitted|acceptable|may|can|only if)\b")


def _clause_head_condition(text: str, group: _Group, g: _Grammar) -> tuple[str, str] | None:
    """ "; patients with NAFLD are eligible ... only if their ALT level is <= 3.0 x ULN": a condition stated at the
    head of the clause that carries the analyte, with a word of permission between them."""
    bracket = text.rfind("(", max(0, group.start - 80), group.start)
    if bracket >= 0 and ")" not in text[bracket:group.start] and not re.search(r"\d", text[bracket:group.start]):
        # "(patients with Gilbert's syndrome total bilirubin <= 2.5 x ULN)": a bracketed exception names its case
        found = _preceding_condition(text[bracket + 1:group.start], g)
        if found:
            return found
    head_start = max(text.rfind(";", 0, group.start), text.rfind(". ", 0, group.start), group.start - 120, 0)
    head = text[head_start:group.start]
    if not _PERMISSION_RE.search(head) or re.search(r"\d", head):
        return None
    return _preceding_condition(head, g)


def _preceding_condition(gap: str, g: _Grammar) -> tuple[str, str] | None:
    """ "bilirubin in patients with Gilbert's syndrome will be broaden to < 3 x ULN": the cue sits in the gap."""
    for match in re.finditer(r"(?i)(?<![\w])(?:in|for|if|unless|with|without|except)\b", gap):
        found = _condition(gap[match.start():], g)
        if found:
            return found
    return None


def _preceding_sex(text: str, group: _Group, g: _Grammar) -> Sex | None:
    """ "Women: Hb >= 12 g/dL" / "in men, hemoglobin >= 13" """
    head = text[max(0, group.start - 25):group.start]
    match = re.search(r"(?i)(?:^|[\s(,;])(?:for|in)?\s*(" + "|".join(
        re.escape(w) for w in g.sex_of if len(w) > 2) + r")\s*[:,]\s*$", head)
    return g.sex_of.get(_norm_phrase(match.group(1))) if match else None


def _nearest_window(windows: list[_Window], position: int) -> _Window | None:
    if not windows:
        return None
    before = [w for w in windows if w.start <= position]
    return before[-1] if before else windows[0]


def _dedupe(rules: list[LabRule]) -> list[LabRule]:
    seen: set[tuple] = set()
    unique = []
    for rule in rules:
        key = (rule.analyte, rule.comparator, rule.value, rule.low, rule.high, rule.unit, rule.multiple_of,
               rule.offset_from, rule.measure, rule.condition, rule.condition_type, rule.sex)
        if key in seen:
            continue
        seen.add(key)
        unique.append(rule)
    return unique
