from __future__ import annotations

import pytest

from app.answer.grounding import check, quantities

LABEL = (
    "Naltrexone hydrochloride tablets are indicated in the treatment of alcohol dependence. "
    "The recommended dose is 50 mg once daily. "
    "Naltrexone is contraindicated in patients with acute hepatitis. "
    "Nausea occurred in 10% of patients."
)


def test_supported_statement_passes() -> None:
    g = check("The recommended dose is 50 mg once daily.", [LABEL])
    assert g.supported, g.reason


def test_guard_rejects_statement_with_changed_dose() -> None:
    g = check("The recommended dose is 25 mg once daily.", [LABEL])
    assert not g.supported
    assert g.missing_numbers == ["25 mg"]


def test_number_with_another_unit_is_not_the_same_number() -> None:
    assert not check("Nausea occurred in 10 mg of patients.", [LABEL]).supported
    assert check("Nausea occurred in 10% of patients.", [LABEL]).supported


def test_flipped_negation_is_unsupported() -> None:
    g = check("Naltrexone is not contraindicated in patients with acute hepatitis.", [LABEL])
    assert not g.supported
    assert g.negation_mismatch


def test_wrong_drug_is_unsupported() -> None:
    g = check(
        "Acamprosate tablets are indicated in the treatment of alcohol dependence.",
        [LABEL],
        drug_names=["acamprosate"],
    )
    assert not g.supported
    assert g.missing_drugs == ["acamprosate"]


def test_low_overlap_is_unsupported() -> None:
    g = check("Low-dose naltrexone reduces fibromyalgia pain and fatigue.", [LABEL])
    assert not g.supported
    assert "overlap" in g.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("up to 300 mg per day", ["300 mg"]),
        ("0.5 to 1.0 mg/kg", ["0.5 mg/kg", "1 mg/kg"]),
        ("19% of 1,000 patients", ["19 %", "1000"]),
        ("for 12 weeks", ["12 wk"]),
    ],
)
def test_quantities_normalise_units_and_ranges(text: str, expected: list[str]) -> None:
    assert [str(q) for q in quantities(text)] == expected
