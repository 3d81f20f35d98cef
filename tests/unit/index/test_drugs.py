from __future__ import annotations

from collections import Counter

from app.index.drugs import DrugLexicon, drug_keys


def test_salts_and_forms_are_stripped_and_biosimilar_suffix_dropped() -> None:
    assert "naltrexone" in drug_keys("NALTREXONE HYDROCHLORIDE")
    assert "bevacizumab" in drug_keys("BEVACIZUMAB-AWWB")
    keys = drug_keys("Lisinopril and Hydrochlorothiazide")
    assert {"lisinopril", "hydrochlorothiazide"} <= keys
    assert drug_keys("POTASSIUM CHLORIDE") == {"potassium chloride"}


def test_a_route_or_form_in_a_product_name_is_not_part_of_its_key() -> None:
    # "what do i mix albuterol sulfate inhalation solution with in my nebulizer?" names "albuterol": the
    # product must be found under it (it was under "albuterol inhalation" only, so never retrieved)
    assert drug_keys("albuterol sulfate inhalation solution") == {"albuterol"}
    assert drug_keys("FLUTICASONE PROPIONATE NASAL") == {"fluticasone"}
    assert drug_keys("estradiol patch") == {"estradiol"}
    products = [(0, "albuterol sulfate inhalation solution", None), (1, "Albuterol Sulfate", None)]
    lex = DrugLexicon.build(products)
    assert lex.detect("what do i mix albuterol sulfate inhalation solution with?") == ["albuterol"]
    assert lex.rows(["albuterol"]) == {0, 1}


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


def test_function_words_are_never_keys_and_two_brands_joined_by_and_are_two_drugs() -> None:
    lex = DrugLexicon.build(
        [
            (0, "MAGNESIUM SULFATE, POTASSIUM CHLORIDE AND SODIUM CHLORIDE", None),
            (1, "Concerta and Lexapro", None),
            (2, "METHYLPHENIDATE HYDROCHLORIDE", "Concerta"),
            (3, "METHYLPHENIDATE HYDROCHLORIDE", "Concerta"),
            (4, "CARBIDOPA AND LEVODOPA", None),
            (5, "CARBIDOPA AND LEVODOPA", None),
            (6, "calcium and alendronate", None),
            (7, "water", "Sterile Water"),
        ]
    )
    assert "and" not in lex.records
    assert "and alendronate" not in lex.records
    assert lex.detect("Can I take concerta and lexapro at the same time of day?") == ["concerta", "lexapro"]
    assert lex.detect("What is the dose of carbidopa and levodopa?") == ["carbidopa and levodopa"]
    assert lex.detect("Should I take methylphenidate with water and food?") == ["methylphenidate"]


def test_brand_and_generic_of_one_label_are_synonyms_and_survive_json() -> None:
    lex = DrugLexicon.build(
        [(0, "atorvastatin calcium trihydrate", "Lipitor"), (1, "SITAGLIPTIN AND METFORMIN", "Janumet")]
    )
    again = DrugLexicon.from_json(lex.to_json())
    assert again.synonyms("lipitor") == {"lipitor", "atorvastatin"}
    assert "metformin" not in again.synonyms("sitagliptin")
    assert DrugLexicon.from_json({"warfarin": [1, 2]}).records == {"warfarin": {1, 2}}
