"""What a question asks: qualifiers are words of degree, amount, duration or form, not any hyphenated word."""

from __future__ import annotations

import pytest

from app.answer.question import analyse_question, in_sections, section_names
from app.index.drugs import DrugLexicon


@pytest.mark.parametrize(
    ("question", "qualifier"),
    [
        ("What are the benefits of low-dose naltrexone?", "low-dose"),
        ("Is long-term use of omeprazole safe?", "long-term"),
        ("How do extended-release metformin tablets work?", "extended-release"),
    ],
)
def test_qualifiers_of_degree_duration_or_form(question: str, qualifier: str) -> None:
    q = analyse_question(question)
    assert q.qualifier_text == [qualifier]
    assert not set(q.qualifiers[0]) & set(q.focus)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Hearing loss: an unknown complication of pre-eclampsia?", "eclampsia"),
        ("Does multi-modal cervical physical therapy improve tinnitus?", "modal"),
        ("Is non-HDL-cholesterol a better predictor of outcome?", "cholesterol"),
    ],
)
def test_a_hyphenated_topic_stays_a_focus_term(question: str, topic: str) -> None:
    q = analyse_question(question)
    assert q.qualifiers == []
    assert topic in q.focus


@pytest.mark.parametrize(
    ("heading", "standard"),
    [
        ("How Supplied/storage and Handling", "how supplied"),
        ("Adverse Reactions > Post-Marketing Experience", "adverse reactions"),
        ("Clinical Trials Experience", "adverse reactions"),
        ("12.3 Pharmacokinetics", "clinical pharmacology"),
        ("Dosage & Administration Section", "dosage and administration"),
        ("Indications and Usage:", "indications and usage"),
        ("Directions", "dosage and administration"),
        ("Dosage and Administration; Warnings and Precautions", "warnings and precautions"),
    ],
)
def test_a_label_heading_stands_for_its_standard_section(heading: str, standard: str) -> None:
    assert standard in section_names(heading)
    assert in_sections(heading, {standard})


def test_unrelated_or_missing_headings_match_no_section() -> None:
    assert not in_sections("Overdosage", {"dosage and administration"})
    assert not in_sections(None, {"dosage and administration"})
    assert not in_sections("Dosage and Administration", set())


def test_how_fast_a_drug_works_asks_for_its_pharmacokinetics() -> None:
    q = analyse_question("How fast does amlodipine work?", drugs=["amlodipine"])
    assert q.intents == ["onset"]
    assert in_sections("12.3 Pharmacokinetics", q.intent_sections)
    assert "fast" not in q.focus


def test_what_a_drug_cures_asks_for_its_indications() -> None:
    q = analyse_question("what does valacyclovir 1gm cure?", drugs=["valacyclovir"])
    assert "indication" in q.intents
    assert "cure" not in q.focus


@pytest.mark.parametrize(
    "question",
    ["what is ciprofloxacin", "What is Efudex?", "whats xanax"],
)
def test_a_question_that_only_names_its_subject_asks_what_it_is(question: str) -> None:
    q = analyse_question(question)
    assert q.intents == ["identity"]
    assert {"description", "indications and usage"} <= q.intent_sections


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("what is in flomax", "ingredients"),
        ("what is the usual dose of metformin", "dose"),
        ("bupropion hcl 300mg is good for what?", "indication"),
        ("what is the difference between atorvastatin and lipitor", None),
        ("what insulin can be mixed with glargine", None),
    ],
)
def test_a_question_that_asks_something_else_is_not_an_identity_question(
    question: str, intent: str | None
) -> None:
    q = analyse_question(question)
    assert "identity" not in q.intents
    assert intent is None or intent in q.intents


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("what milagrams olanzapine come in", "dose"),
        ("fluoxetine what mgs are available", "dose"),
        ("in how much temp bcg vaccine should store", "storage"),
        ("is there danger in stopping sertraline", "stopping"),
        ("motoprolol pill how long before it takes affect", "onset"),
        ("how fast does the medication take to work", "onset"),
    ],
)
def test_everyday_and_misspelt_intent_words(question: str, intent: str) -> None:
    assert intent in analyse_question(question).intents


def test_expiry_is_storage_forced_expiratory_volume_is_not() -> None:
    assert "storage" in analyse_question("does amoxicillin expire?").intents
    assert "storage" in analyse_question("what is the expiration date of insulin").intents
    fev1 = analyse_question("With respect to forced expiratory volume in 1 second, how does A compare?")
    assert "storage" not in fev1.intents


def test_drinking_on_a_drug_asks_of_alcohol_treating_alcohol_dependence_does_not() -> None:
    q = analyse_question("Is it safe to drink alcohol while taking sertraline?", drugs=["sertraline"])
    assert "alcohol" in q.intents
    assert "medication guide" in q.intent_sections
    wine = analyse_question("can I have a glass of wine on amoxicillin", drugs=["amoxicillin"])
    assert "alcohol" in wine.intents
    treats = analyse_question("Does naltrexone help with alcohol dependence?", drugs=["naltrexone"])
    assert not {"alcohol", "interaction"} & set(treats.intents)
    assert "indication" in treats.intents
    assert analyse_question("Does alcohol raise blood pressure?").intents == []  # no drug: alcohol itself


def test_an_antidote_is_asked_of_the_overdose_section() -> None:
    q = analyse_question("What is the antidote for warfarin overdose?", drugs=["warfarin"])
    assert q.intents == ["overdose"]  # not "what is X for" (an indication)
    assert q.focus == ["warfarin"]  # asks nothing more than the drug's overdosage section says


@pytest.mark.parametrize(
    ("question", "administration"),
    [
        ("Can you split sertraline tablets?", True),
        ("can i cut my lisinopril pill in half", True),
        ("Can I open omeprazole capsules?", True),
        ("Can I crush metoprolol tablets?", True),
        ("how to cut down on smoking", False),
        ("Is an open-label trial of a break in therapy useful?", False),
    ],
)
def test_crushing_splitting_or_opening_a_product_asks_how_to_take_it(
    question: str, administration: bool
) -> None:
    assert ("administration" in analyse_question(question).intents) is administration


@pytest.mark.parametrize(
    "question",
    [
        "What should I do if I miss a dose of levothyroxine?",
        "I forgot to take my warfarin yesterday",
        "what happens if i skipped a pill of my birth control",
    ],
)
def test_a_missed_dose(question: str) -> None:
    assert "missed_dose" in analyse_question(question).intents
    assert "missed_dose" not in analyse_question("Does metformin cause vitamin B12 deficiency?").intents


def test_two_drugs_taken_together_ask_how_they_interact() -> None:
    both = analyse_question("can i take metamucil with ciprofloxacin?", drugs=["psyllium", "ciprofloxacin"])
    assert both.intents == ["interaction"]
    assert "drug interactions" in both.intent_sections
    one = analyse_question("can i take ciprofloxacin with food?", drugs=["ciprofloxacin"])
    assert "interaction" not in one.intents


def test_a_strength_with_its_unit_is_not_a_focus_term() -> None:
    q = analyse_question("qvar 40mcg what is it for", drugs=["qvar"])
    assert q.focus == ["qvar"]
    assert "indication" in q.intents


def test_what_is_it_for_asks_the_indication_but_a_dose_for_a_condition_does_not() -> None:
    assert "indication" in analyse_question("qvar 40mg what is it for").intents
    assert "indication" in analyse_question("what is amlodipine for?").intents
    dose = analyse_question("What is the recommended dose of zuranolone for postpartum depression?")
    assert dose.intents == ["dose"]


@pytest.mark.parametrize(
    "question",
    [
        "how long should i take cipro for a urinary tract infection?",
        "how long can megestrol be taken?",
        "how long keep patient on chantix",
        "what is the length of entecavir treatment",
    ],
)
def test_how_long_a_course_lasts_asks_where_the_dose_is_said(question: str) -> None:
    q = analyse_question(question)
    assert "duration" in q.intents
    assert "dosage and administration" in q.intent_sections


def test_how_long_a_drug_takes_to_work_is_not_a_course_length() -> None:
    q = analyse_question("motoprolol pill how long before it takes affect")
    assert "duration" not in q.intents


def test_how_much_of_an_ingredient_is_in_a_product_asks_what_a_unit_holds() -> None:
    q = analyse_question("how much acetaminophen in acetaminophen and codeine")
    assert "ingredients" in q.intents
    assert "how supplied" in q.intent_sections
    for per_day in ("how much tylenol can i take in a day", "how much ibuprofen in pregnancy"):
        assert "ingredients" not in analyse_question(per_day).intents
    assert "ingredients" not in analyse_question("How many genes are in the human genome?").intents


def test_breast_milk_asks_about_lactation() -> None:
    assert "pregnancy" in analyse_question("how long does vicodin stay in breast milk").intents


def test_a_misspelt_unit_says_a_dose_is_asked_and_is_not_a_focus_term() -> None:
    q = analyse_question("what milagrams olanzapine come in")
    assert "dose" in q.intents
    assert q.focus == ["olanzapin"]


def test_what_a_drug_may_make_worse_is_a_warning_but_a_disease_exacerbation_is_not() -> None:
    q = analyse_question("will citalopram exacerbate heart arrhythmias?")
    assert "warning" in q.intents
    assert "warnings and precautions" in q.intent_sections
    assert "warning" not in analyse_question("Does roflumilast reduce COPD exacerbations?").intents


def test_a_strength_naming_the_product_asks_no_dose() -> None:
    from app.answer.question import asks_of_product

    looks = analyse_question("what does spironolactone 25 mg pill look like", drugs=["spironolactone"])
    assert looks.intents == ["appearance"]
    assert asks_of_product(looks)  # so research and guidelines do not answer it
    assert analyse_question("what size doses of metformin are available?").intents == ["dose", "appearance"]
    assert analyse_question("what is the dose of metformin 500 mg").intents == ["dose"]


def test_what_to_monitor_asks_for_the_dosing_and_warning_sections() -> None:
    q = analyse_question("How should warfarin be monitored?", drugs=["warfarin"])
    assert q.intents == ["monitoring"]
    assert {"dosage and administration", "warnings and precautions", "laboratory tests"} <= q.intent_sections
    assert q.focus == ["warfarin"]  # "monitored" says what is asked, not what about
    assert analyse_question("Do I need blood tests while taking methotrexate?").intents == ["monitoring"]


def test_a_brand_and_its_generic_or_one_products_ingredients_are_not_two_drugs_to_take_together() -> None:
    lexicon = DrugLexicon.build(
        [
            (0, "Atorvastatin calcium", "Lipitor"),
            (1, "Acetaminophen and Codeine Phosphate", None),
            (2, "Acetaminophen", "Tylenol"),
            (3, "Codeine sulfate", None),
            (4, "Ciprofloxacin", None),
        ]
    )

    def intents(question: str, drugs: list[str]) -> list[str]:
        return analyse_question(question, lexicon, drugs=drugs).intents

    assert "interaction" not in intents(
        "what is the difference between atorvastatin and lipitor", ["atorvastatin", "lipitor"]
    )
    assert "interaction" not in intents(
        "what his acetaminophen and 8mg phosphate codeline", ["acetaminophen", "codeine"]
    )
    # taken with each other, two products are a question of interaction
    assert intents("can i take acetaminophen with codeine", ["acetaminophen", "codeine"]) == ["interaction"]
    assert intents("can i take tylenol and ciprofloxacin", ["tylenol", "ciprofloxacin"]) == ["interaction"]
    assert intents("can i take acetaminophen and codeine", ["acetaminophen", "codeine"]) == ["interaction"]
    # without a lexicon the reading is as before
    assert analyse_question("atorvastatin and lipitor", drugs=["atorvastatin", "lipitor"]).intents == [
        "interaction"
    ]


@pytest.mark.parametrize(
    ("question", "intent", "section"),
    [
        ("What is the half-life of amiodarone?", "pharmacokinetics", "clinical pharmacology"),
        ("How is metformin eliminated?", "pharmacokinetics", "pharmacokinetics"),
        ("how long does it take to get carbidopa levodopa out of your system", "pharmacokinetics", None),
        ("What drug class is sertraline?", "class", "description"),
        ("what kind of drug is metoprolol", "class", "mechanism of action"),
        ("what class is diazepam", "class", "description"),
    ],
)
def test_how_the_body_handles_a_drug_and_what_class_it_is_are_read(
    question: str, intent: str, section: str | None
) -> None:
    q = analyse_question(question)
    assert intent in q.intents
    if section:
        assert section in q.intent_sections
    # what class a drug is, is not what it is indicated for
    assert "indications and usage" not in analyse_question("What drug class is sertraline?").intent_sections


def test_switching_from_one_drug_to_another_asks_how_it_is_given() -> None:
    q = analyse_question("How do I switch from warfarin to apixaban?", drugs=["warfarin", "apixaban"])
    assert q.intents == ["administration"]
    assert "dosage and administration" in q.intent_sections
