"""Properties of the citation marker parser and the grounding check, over generated text (hypothesis).

The generated passages look like label and guideline text: sentences with drug names, doses and units,
ranges, percentages, negations and abbreviations, so the properties are exercised on the shapes that
matter, besides arbitrary Unicode for the never-crash properties.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.answer.draft import MARKER, parse_markers
from app.answer.grounding import NUMBER, check, content_terms, quantities
from app.corpus.chunker import split_sentences

# Derandomized: the same examples every run (the suite must be deterministic).
FAST = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = [
    "naltrexone", "warfarin", "sertraline", "patients", "adults", "children", "dose", "daily", "tablet",
    "recommended", "treatment", "alcohol", "dependence", "opioid", "hepatitis", "pregnancy", "nausea",
    "headache", "reduced", "increased", "risk", "bleeding", "monitor", "liver", "function", "weeks",
    "trial", "placebo", "pain", "fibromyalgia", "screening", "blood", "pressure", "women", "older",
    "the", "in", "of", "with", "for", "and", "was", "is", "be", "should", "may", "at", "to", "a",
]  # fmt: skip
NEGATIONS = ["not", "no", "never", "without"]
UNITS = ["mg", "mcg", "mg/kg", "%", "mL", "hours", "days", "weeks", "units", ""]


@st.composite
def quantity(draw: st.DrawFn) -> str:
    value = draw(
        st.one_of(
            st.integers(0, 5000).map(str),
            st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 99), st.integers(1, 9)),
            st.integers(1, 99).map(lambda n: f"{n},{draw(st.integers(0, 999)):03d}"),
        )
    )
    unit = draw(st.sampled_from(UNITS))
    if draw(st.booleans()) and unit not in ("", "%"):
        value = f"{value} to {draw(st.integers(0, 9999))}"
    return f"{value} {unit}".strip() if unit != "%" else f"{value}%"


@st.composite
def sentence(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(WORDS),
                st.sampled_from(WORDS),
                st.sampled_from(NEGATIONS),
                quantity(),
                st.sampled_from(["e.g.", "U.S.", "(see below)", "b.i.d.", "contraindicated", "avoid"]),
            ),
            min_size=2,
            max_size=16,
        )
    )
    text = " ".join(parts)
    return text[0].upper() + text[1:] + draw(st.sampled_from([".", ".", "!", "?", ";"]))


passage = st.lists(sentence(), min_size=1, max_size=6).map(" ".join)


# -- parse_markers ---------------------------------------------------------------------------------------

marker = st.builds(
    lambda prefix, numbers, sep: "[" + sep.join(f"{prefix}{n}" for n in numbers) + "]",
    st.sampled_from(["", "S", "s"]),
    st.lists(st.integers(1, 30), min_size=1, max_size=3),
    st.sampled_from([",", ", ", ";", " ; "]),
)
bracket_noise = st.text(alphabet="[]0123456789S ,;.abc", max_size=30)


@FAST
@given(
    st.one_of(st.text(max_size=300), bracket_noise, st.lists(st.one_of(marker, bracket_noise)).map("".join))
)
def test_parse_markers_never_crashes_and_leaves_no_marker_behind(text: str) -> None:
    clean, keys = parse_markers(text)
    assert MARKER.search(clean) is None, (text, clean)  # no citation-looking "[n]" survives in the text
    assert len(keys) == len(set(keys))
    assert all(k and k == k.strip() for k in keys)
    assert clean == clean.strip()


@FAST
@given(
    st.one_of(st.text(max_size=200), bracket_noise, st.lists(st.one_of(marker, bracket_noise)).map("".join))
)
def test_parse_markers_is_idempotent(text: str) -> None:
    clean, _ = parse_markers(text)
    assert parse_markers(clean) == (clean, [])


@FAST
@given(sentence(), st.lists(marker, min_size=1, max_size=4))
def test_markers_after_a_statement_are_its_citations_in_order(statement: str, markers: list[str]) -> None:
    clean, keys = parse_markers(statement + " " + "".join(markers))
    expected: list[str] = []
    for m in markers:
        for part in re.split(r"[,;]", m[1:-1]):
            if part.strip() not in expected:
                expected.append(part.strip())
    assert keys == expected
    assert clean == re.sub(r"\s+([.,;:])", r"\1", statement)


# -- grounding.check ---------------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=300), st.lists(st.text(max_size=400), max_size=3), st.lists(st.text(max_size=20)))
def test_check_never_crashes_on_any_text(statement: str, evidence: list[str], drugs: list[str]) -> None:
    result = check(statement, evidence, drug_names=drugs)
    assert 0.0 <= result.overlap <= 1.0
    assert result.supported == (result.reason == "supported")


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


@FAST
@given(st.lists(passage, min_size=1, max_size=3), st.data())
def test_a_sentence_copied_verbatim_from_a_cited_passage_is_supported(
    passages: list[str], data: st.DataObject
) -> None:
    candidates = [s for p in passages for s in _sentences(p) if content_terms(s)]
    assume(candidates)
    statement = data.draw(st.sampled_from(candidates))
    drugs = [w for w in ("naltrexone", "warfarin", "sertraline") if w in statement]
    result = check(statement, passages, drug_names=drugs)
    assert result.supported, (statement, passages, result.reason)


@FAST
@given(st.lists(passage, min_size=1, max_size=3), st.data())
def test_changing_a_number_of_a_copied_sentence_makes_it_unsupported(
    passages: list[str], data: st.DataObject
) -> None:
    candidates = [s for p in passages for s in _sentences(p) if content_terms(s) and quantities(s)]
    assume(candidates)
    statement = data.draw(st.sampled_from(candidates))
    numbers = list(NUMBER.finditer(statement))
    m = data.draw(st.sampled_from(numbers))
    joined = " ".join(passages)
    fresh = data.draw(st.integers(1, 10**6).map(str).filter(lambda n: n not in joined))
    changed = statement[: m.start(1)] + fresh + statement[m.end(1) :]
    result = check(changed, passages)
    assert not result.supported, (changed, passages)
    assert any(q.startswith(fresh) for q in result.missing_numbers), result.missing_numbers
