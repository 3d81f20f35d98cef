from __future__ import annotations

from collections import Counter

from app.index.drugs import DrugLexicon, drug_keys


def test_salts_and_forms_are_stripped_and_biosimilar_suffix_dropped() -> None:
    assert "naltrexone" in drug_keys("NALTREXONE HYDROCHLORIDE")
    assert "bevacizumab" in drug_keys("BEVACIZUMAB-AWWB")
    keys = drug_keys("Lisinopril and Hydrochlorothiazide")
    assert {"lisinopril", "hydrochlorothiazide"} <= keys
    assert drug_keys("POTASSIUM CHLORIDE") == {"potassium chloride"}


def _lexicon() -> DrugLexicon:
    common = Counter({"body": 50, "complete": 80})
    return DrugLexicon.build(
        [
            (0, "NALTREXONE HYDROCHLORIDE", "REVIA"),
            (1, "warfarin sodium", "Coumadin"),
            (2, "glycerin", "Body"),
        ],
        common,
    )


def test_question_names_drug_by_generic_brand_or_hyphenated_phrase() -> None:
    lex = _lexicon()
    assert lex.detect("What are the benefits of low-dose naltrexone?") == ["naltrexone"]
    assert lex.detect("Can I take Revia with coumadin?") == ["revia", "coumadin"]
    assert lex.rows(["revia", "naltrexone"]) == {0}


def test_brand_that_is_a_common_word_is_not_a_drug() -> None:
    assert _lexicon().detect("Which body mass index defines obesity?") == []


def test_drug_like_word_without_label_is_reported_unknown() -> None:
    lex = _lexicon()
    assert lex.unknown_drugs("Is ozanimod safe in pregnancy?") == ["ozanimod"]
    assert lex.unknown_drugs("Does rosuvastatin lower LDL?") == ["rosuvastatin"]
    assert lex.unknown_drugs("Does exercise lower cholesterol?") == []
