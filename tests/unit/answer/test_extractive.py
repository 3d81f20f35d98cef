"""Quotable units of a passage: verbatim parts, split at list separators, leading ellipses dropped; a
question's qualifier must be said of what it asks about, in the passage or in its title."""

from __future__ import annotations

from app.answer.extractive import SENTENCE_WEIGHTS, ExtractiveComposer, is_aim, is_clean, pieces, trim
from app.answer.grounding import check
from app.answer.question import QuestionInfo, analyse_question
from app.corpus.chunker import split_sentences
from app.prompts import load_prompt
from app.schema import Hit, Passage, SectionKey, Span
from app.settings import Settings


def test_pieces_split_lists_and_stay_verbatim() -> None:
    sentence = (
        "They are listed to alert the physician to a possible relationship: || Psychiatric: sexual "
        "dysfunction, insomnia, nervousness, depression, abnormal dreams."
    )
    parts = pieces(sentence)
    assert parts == [
        "They are listed to alert the physician to a possible relationship:",
        "Psychiatric: sexual dysfunction, insomnia, nervousness, depression, abnormal dreams.",
    ]
    assert all(p in sentence for p in parts)
    assert is_clean(parts[1])


def test_pieces_drop_a_leading_ellipsis() -> None:
    assert pieces("... Complicated Urinary Tract Infections: ...") == [
        "Complicated Urinary Tract Infections: ..."
    ]
    assert pieces("… NORCO® 7.5/325") == ["NORCO® 7.5/325"]
    assert pieces("...") == []


def test_a_sentence_without_separators_is_one_piece() -> None:
    s = "The usual starting dose is 500 mg twice a day or 850 mg once a day, given with meals."
    assert pieces(s) == [s]


def test_a_study_aim_is_recognised() -> None:
    assert is_aim("To investigate the effect of a multimodal cervical physical therapy on tinnitus.")
    assert is_aim("The aim of this study was to assess hearing in pre-eclampsia.")
    assert not is_aim("Pre-eclampsia is a potential risk factor for sensorineural hearing loss.")


def test_pieces_split_at_a_highlights_cross_reference() -> None:
    s = (
        "Administer with fat-containing food. ( 2.1 ) Recommended dosage is 50 mg orally once daily in the "
        "evening for 14 days. ( 2.1 ) Dosage may be reduced to 40 mg once daily. ( 2.2, 5.1 )"
    )
    assert pieces(s) == [
        "Administer with fat-containing food.",
        "Recommended dosage is 50 mg orally once daily in the evening for 14 days.",
        "Dosage may be reduced to 40 mg once daily.",
    ]
    assert pieces("See Warnings (5.1) for details.") == ["See Warnings (5.1) for details."]


def _composer() -> ExtractiveComposer:
    settings = Settings()
    return ExtractiveComposer(settings.answer, load_prompt(settings.paths.prompts_dir, "abstain").entries())


def _quoted(key: SectionKey, q: QuestionInfo, hits: list[Hit]) -> list[str]:
    """What the section quotes of ``hits`` for ``q``."""
    return [s.text for s in _composer().compose_section(key, q, hits).statements]


def _label_hit(title: str, text: str) -> Hit:
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(
        id="label:x:warnings#0",
        record_id="label:x",
        text=text,
        title=title,
        source_type="fda_label",
        section="Warnings",
        sentences=spans,
    )
    return Hit(passage=passage, score=1.0, cosine=0.6, relevance=0.85)


def _drug_label_hit(drug: str, section: str, text: str, relevance: float = 0.8) -> Hit:
    """A chunk of the asked drug's own label section (retrieved under the drug's filter)."""
    record = f"label:{drug.split(maxsplit=1)[0].lower()}:{section.lower().replace(' ', '-')}"
    passage = Passage(
        id=f"{record}#0",
        record_id=record,
        text=text,
        source_type="fda_label",
        section=section,
        drug=drug,
        title=f"{drug} — {section}",
        sentences=split_sentences(text),
    )
    return Hit(passage=passage, score=1.0, cosine=0.5, relevance=relevance, drug_match=True)


_SIDE_EFFECTS = "What are the common side effects of sertraline?"
_TRIAL_CONDITIONS = (
    "Because clinical trials are conducted under widely varying conditions, adverse reaction rates "
    "observed in the clinical trials of a drug cannot be directly compared to rates in the clinical "
    "trials of another drug and may not reflect the rates observed in practice."
)
_SERTRALINE_ANSWER = "Patients taking sertraline most often had dry mouth, sweating and sleepiness."


def _sertraline_label(text: str) -> Hit:
    """A chunk of sertraline's own label (retrieved under the drug's filter), Adverse Reactions section."""
    return _label_hit("Sertraline — Adverse Reactions", text).model_copy(update={"drug_match": True})


def _side_effects(hit: Hit) -> list[str]:
    """What the label section quotes of ``hit`` for the sertraline side-effects question."""
    q = analyse_question(_SIDE_EFFECTS, drugs=["sertraline"])
    return _quoted("fda_label", q, [hit])


def test_a_qualifier_in_the_products_name_is_said_of_every_section_of_its_label() -> None:
    q = analyse_question("can mucinex fast-max products be used with other medications?")
    assert q.qualifier_text == ["fast-max"]
    text = "Do not use with any other drug containing acetaminophen (prescription or nonprescription)."
    named = _composer().compose_section("fda_label", q, [_label_hit("mucinex fast-max — Warnings", text)])
    assert not named.abstained
    assert [s.text for s in named.statements] == [text]
    # The same passage under another product's name does not say "fast-max" of Mucinex: the section
    # abstains, naming the qualifier, and what the passage says is shown only as context.
    other = _composer().compose_section("fda_label", q, [_label_hit("mucinex dm — Warnings", text)])
    assert other.abstained
    assert "fast-max" in (other.message or "")
    assert all(s.context for s in other.statements)


def _short_hit(pid: str, title: str, text: str, relevance: float) -> Hit:
    passage = Passage(
        id=pid,
        record_id=pid.split("#", maxsplit=1)[0],
        text=text,
        title=title,
        source_type="fda_label",
        section="Ingredients and Appearance",
        sentences=[Span(start=0, end=len(text))],
    )
    return Hit(passage=passage, score=1.0, cosine=0.5, relevance=relevance)


def test_products_that_look_different_are_each_quoted_with_their_own_citation() -> None:
    q = analyse_question("what color is phenytoin", drugs=["phenytoin"])
    hits = [
        _short_hit("a#0", "phenytoin — Ingredients and Appearance", "WHITE", 0.73),
        _short_hit("b#0", "phenytoin — Ingredients and Appearance", "PINK", 0.41),
        _short_hit("c#0", "phenytoin — Ingredients and Appearance", "WHITE", 0.40),
    ]
    section = _composer().compose_section("fda_label", q, hits)
    assert [(s.text, s.keys) for s in section.statements] == [("WHITE", ["a#0"]), ("PINK", ["b#0"])]
    # A short passage the learned selection chose (it passed the section's calibrated threshold) is quoted
    # whole, whatever its P(answers); one the cosine floor rule let through, with no decision, is not.
    chosen = [_short_hit("b#0", "phenytoin — Ingredients and Appearance", "PINK", 0.41)]
    assert _quoted("fda_label", q, chosen) == ["PINK"]
    floor = [chosen[0].model_copy(update={"relevance": None})]
    assert _composer().compose_section("fda_label", q, floor).abstained


def test_the_short_passage_ranked_first_is_quoted_before_sentences_of_the_passages_after_it() -> None:
    # The product the model ranked first says how it looks in a line with no sentence of its own; another
    # label's Dosage Forms section, ranked second, says it in sentences. The first is quoted first, whole.
    q = analyse_question("what meloxicam look like", drugs=["meloxicam"])
    first = _short_hit(
        "a#0",
        "meloxicam — Ingredients and Appearance",
        "Product Characteristics Color YELLOW (light yellow) Score no score Shape OVAL Size 3mm "
        "Imprint Code S160",
        0.65,
    )
    second = _label_hit(
        "meloxicam — Dosage Forms and Strengths",
        "Meloxicam tablets, USP 7.5 mg: light yellow, round, biconvex, uncoated tablets, debossed with C74 "
        "on one side and plain on the other side.",
    ).model_copy(update={"relevance": 0.39, "drug_match": True})
    section = _composer().compose_section("fda_label", q, [first, second])
    assert [s.keys for s in section.statements] == [["a#0"], ["label:x:warnings#0"]]
    assert section.statements[0].text == first.passage.text
    # Ranked after a passage with sentences, the short one is not put first.
    later = _composer().compose_section("fda_label", q, [second, first])
    assert later.statements[0].keys == ["label:x:warnings#0"]


def test_the_passage_selection_chose_is_quoted_though_no_sentence_repeats_the_question() -> None:
    q = analyse_question("if i am allergic to sufa can i take glipizide?", drugs=["glipizide"])
    text = "Glipizide is an oral blood-glucose-lowering drug of the sulfonylurea class."
    chosen = _label_hit("glipizide — Description", text).model_copy(update={"relevance": 0.45})
    section = _composer().compose_section("fda_label", q, [chosen])
    assert not section.abstained
    assert [s.text for s in section.statements] == [text]
    # Without the learned selection's decision (the cosine floor rule), the focus words still must be said.
    floor = chosen.model_copy(update={"relevance": None})
    assert _composer().compose_section("fda_label", q, [floor]).abstained


def test_the_sentence_phrased_as_the_question_comes_before_one_that_matches_only_by_stem() -> None:
    # "depressant" and "depression" share a stem: by words alone the dose reduction would lead; the sentence
    # that says "recommended dosage" — the question's own phrase, "dosage" being a "dose" — answers it.
    q = analyse_question(
        "What is the recommended dose of zuranolone for postpartum depression?", drugs=["zuranolone"]
    )
    text = (
        "Administer with fat-containing food. Recommended dosage is 50 mg orally once daily in the evening "
        "for 14 days. Dosage may be reduced to 40 mg once daily if CNS depressant effects occur."
    )
    hit = _label_hit("ZURZUVAE — Dosage and Administration", text).model_copy(update={"drug_match": True})
    section = _composer().compose_section("fda_label", q, [hit])
    assert [s.text for s in section.statements][:2] == [
        "Recommended dosage is 50 mg orally once daily in the evening for 14 days.",
        "Dosage may be reduced to 40 mg once daily if CNS depressant effects occur.",
    ]


def test_a_list_announcement_a_sentence_cut_in_two_and_a_chunks_cut_end_are_not_quoted_as_they_are() -> None:
    text = (
        "These 3066 patients exposed to sertraline hydrochloride\nfor 8 to 12 weeks represent 568 "
        "patient-years of exposure. The following are the most common adverse reactions of sertraline "
        "by indication.\n\n"
        "- PMDD: somnolence, dry mouth, dizziness, fatigue, and abdominal pain;\n- SAD: insomnia, dizziness, "
        "fatigue, dry mouth, malaise.\n\nThe most common adverse reactions of sertraline in the trials were"
    )
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    cut = text.index("\n")  # as the splitter cut the real label: "… hydrochloride" | "for 8 to12 weeks …"
    spans = [Span(start=spans[0].start, end=cut), Span(start=cut + 1, end=spans[0].end), *spans[1:]]
    hit = _sertraline_label(text)
    statements = _side_effects(
        hit.model_copy(update={"passage": hit.passage.model_copy(update={"sentences": spans})})
    )
    # The announcement says nothing without its list; the sentence the splitter cut is quoted whole; the
    # chunk's last words, cut mid-sentence, are not quoted.
    assert not any(s.startswith("The following") for s in statements)
    assert not any(
        s.startswith("The most common adverse reactions of sertraline in the trials") for s in statements
    )
    assert not any(s == "These 3066 patients exposed to sertraline hydrochloride" for s in statements)
    assert (
        "These 3066 patients exposed to sertraline hydrochloride for 8 to 12 weeks represent 568 "
        "patient-years of exposure." in statements
    )
    assert "PMDD: somnolence, dry mouth, dizziness, fatigue, and abdominal pain;" in statements


def test_the_sentences_every_label_carries_come_after_what_this_label_says() -> None:
    statements = _side_effects(_sertraline_label(f"{_TRIAL_CONDITIONS} {_SERTRALINE_ANSWER}"))
    assert statements == [_SERTRALINE_ANSWER, _TRIAL_CONDITIONS]
    # So does a list's announcement quoted without its list.
    announce = "The following adverse reactions have been identified during post-approval use of sertraline."
    statements = _side_effects(_sertraline_label(f"{announce} {_SERTRALINE_ANSWER}"))
    assert statements == [_SERTRALINE_ANSWER, announce]


def test_a_candidates_score_is_its_features_times_the_sentence_weights() -> None:
    q = analyse_question(_SIDE_EFFECTS, drugs=["sertraline"])
    hit = _sertraline_label(f"{_TRIAL_CONDITIONS} {_SERTRALINE_ANSWER}")
    candidates = _composer().candidates("fda_label", q, [hit])
    assert len(candidates) == 2
    for c in candidates:
        assert set(c.features) == set(SENTENCE_WEIGHTS)
        assert c.score == sum(SENTENCE_WEIGHTS[k] * v for k, v in c.features.items())
        assert c.features["passage"] == 0.85  # the learned P(answers) of its passage
    assert [c.features["boilerplate"] for c in candidates] == [1.0, 0.0]
    assert [c.features["position"] for c in candidates] == [0.0, 1.0]


def test_which_trials_and_patients_the_data_come_from_comes_after_what_the_drug_did_to_them() -> None:
    about_trials = [
        "The data described below are from placebo-controlled trials of sertraline in 3066 adults.",
        "These 3066 patients exposed to sertraline hydrochloride for 8 to 12 weeks represent 568 "
        "patient-years of exposure.",
        "The mean age was 40 years; 57% were females and 43% were males.",
    ]
    statements = _side_effects(_sertraline_label(" ".join([*about_trials, _SERTRALINE_ANSWER])))
    assert statements[0] == _SERTRALINE_ANSWER
    assert set(statements[1:]) <= set(about_trials)


def test_whether_a_drug_causes_something_is_answered_by_the_sentence_about_that_thing() -> None:
    # "cause" says what is asked, not what about: as a focus word it made "Hyperkalemia was a cause of
    # discontinuation …" lead the answer to "Does lisinopril cause cough?".
    q = analyse_question("Does lisinopril cause cough?", drugs=["lisinopril"])
    assert q.focus == ["lisinopril", "cough"]
    text = (
        "Hyperkalemia was a cause of discontinuation of therapy in approximately 0.1% of hypertensive "
        "patients. Cough Presumably due to the inhibition of the degradation of endogenous bradykinin, "
        "persistent nonproductive cough has been reported with all ACE inhibitors, almost always resolving "
        "after discontinuation of therapy."
    )
    hit = _label_hit("Lisinopril — Precautions", text).model_copy(update={"drug_match": True})
    section = _composer().compose_section("fda_label", q, [hit])
    assert section.statements[0].text.startswith("Cough Presumably due to the inhibition")


def test_a_sentence_that_points_back_with_a_bare_pronoun_comes_after_one_that_says_it_whole() -> None:
    pointing = "These could be signs of a serious condition."
    statements = _side_effects(_sertraline_label(f"{pointing} {_SERTRALINE_ANSWER}"))
    assert statements[0] == _SERTRALINE_ANSWER
    # a demonstrative with its noun says what it is about
    q = analyse_question(_SIDE_EFFECTS, drugs=["sertraline"])
    whole = "These adverse reactions of sertraline hydrochloride were nausea, diarrhea and tremor."
    features = [
        c.features["boilerplate"]
        for c in _composer().candidates("fda_label", q, [_sertraline_label(f"{pointing} {whole}")])
    ]
    assert features == [1.0, 0.0]


def test_a_short_snippet_cut_at_a_comma_is_quoted_without_it_and_stays_verbatim() -> None:
    q = analyse_question("What is the mode of action of Thiazovivin?")
    snippet = "thiazovivin, a novel ROCK inhibitor,"
    hit = _short_hit("pmid:9#0", "Thiazovivin in stem cells", snippet, 0.6)
    section = _composer().compose_section("research", q, [hit])
    assert [s.text for s in section.statements] == ["thiazovivin, a novel ROCK inhibitor"]
    assert section.statements[0].text in snippet


def test_the_passages_own_heading_before_its_first_sentence_is_not_quoted() -> None:
    text = "Warnings\nLiver warning: This product contains acetaminophen and may cause severe liver damage."
    passage = Passage(
        id="label:otc:warnings#0",
        record_id="label:otc:warnings",
        text=text,
        source_type="fda_label",
        section="Warnings",
        drug="Acetaminophen",
        sentences=[Span(start=0, end=len(text))],
    )
    hit = Hit(passage=passage, score=1.0, cosine=0.5, relevance=0.8, drug_match=True)
    q = analyse_question("What are the warnings for acetaminophen?", drugs=["acetaminophen"])
    section = _composer().compose_section("fda_label", q, [hit])
    quoted = section.statements[0].text
    assert quoted.startswith("Liver warning: This product contains acetaminophen")
    assert quoted in text


def test_a_drug_interaction_tables_row_labels_and_a_leading_cross_reference_are_not_quoted() -> None:
    row = (
        "Table 4: Clinically Significant Interactions Affecting Other Drugs Statins (Atorvastatin, "
        "Pravastatin) Clinical Impact REZDIFFRA increased plasma concentrations of some statins. "
        "Intervention Rosuvastatin and simvastatin: Limit daily statin dosage to 20 mg."
    )
    parts = pieces(row)
    assert parts[1:] == [
        "REZDIFFRA increased plasma concentrations of some statins.",
        "Rosuvastatin and simvastatin: Limit daily statin dosage to 20 mg.",
    ]
    assert all(p in row for p in parts)  # still verbatim spans
    assert pieces("(2.2 , 7.1) Atorvastatin and Simvastatin : Limit the daily dosage of the statin.") == [
        "Atorvastatin and Simvastatin : Limit the daily dosage of the statin."
    ]
    # A sentence that points at a table the answer cannot show is not a statement.
    assert not is_clean("Table 3 includes clinically significant interaction effects of CYP2C8 inhibitors.")
    assert is_clean("Resmetirom is a weak CYP2C8 inhibitor (see Table 3).")
    # Nor is a short chunk that only points at one quoted whole.
    q = analyse_question("What are the side effects of atorvastatin?", drugs=["atorvastatin"])
    pointer = _short_hit(
        "t#1", "atorvastatin — Adverse Reactions", "Table 1 summarizes adverse reactions.", 0.4
    )
    assert _composer().compose_section("fda_label", q, [pointer]).abstained


def test_a_storage_question_quotes_what_says_how_to_store_it_and_the_same_sentence_once() -> None:
    q = analyse_question("How should amoxicillin be stored?", drugs=["amoxicillin"])
    text = (
        "Each capsule contains 500 mg amoxicillin as the trihydrate and is supplied in bottles of 100. "
        "Store at 20° to 25°C (68° to 77°F) in a dry place. Use safety closures when dispensing this product."
    )
    other = "Store at 20°-25°C (68°-77°F) in a dry place as the label says."
    first = _label_hit("amoxicillin — How Supplied", text).model_copy(update={"drug_match": True})
    second = _short_hit("b#0", "amoxicillin — How Supplied", other, 0.5)
    section = _composer().compose_section("fda_label", q, [first, second])
    assert [s.text for s in section.statements] == ["Store at 20° to 25°C (68° to 77°F) in a dry place."]


def test_a_numbered_lists_lead_in_is_quoted_with_its_first_item_and_passes_the_guard() -> None:
    from app.answer.draft import Draft
    from app.answer.guard import guard
    from app.schema import Backend

    text = (
        "CONTRAINDICATIONS\n\nMetformin hydrochloride tablets are contraindicated in patients with:\n\n"
        "1. Severe renal impairment (eGFR below 30 mL/min/1.73 m2).\n"
        "2. Known hypersensitivity to metformin hydrochloride.\n"
        "3. Acute or chronic metabolic acidosis, including diabetic ketoacidosis, with or without coma."
    )
    hit = _drug_label_hit("Metformin Hydrochloride", "Contraindications", text, relevance=0.9)
    passage = hit.passage
    q = analyse_question("What are the contraindications of metformin?", drugs=["metformin"])
    section = _composer().compose_section("fda_label", q, [hit])
    quoted = [s.text for s in section.statements]
    assert quoted[0] == (
        "Metformin hydrochloride tablets are contraindicated in patients with: Severe renal impairment "
        "(eGFR below 30 mL/min/1.73 m2)."
    )
    assert not any(s == "1." or s[:2] in {"1.", "2.", "3."} for s in quoted)  # no list number quoted
    sections, _refs, counts = guard(
        Draft(sections=[section], backend=Backend(composer="extractive")), {passage.id: passage}
    )
    assert [s.text for s in sections[0].statements] == quoted  # each is supported by what it cites
    assert counts.statements_out == len(quoted)


def test_an_appearance_question_naming_a_strength_is_not_answered_with_another_strengths_tablet() -> None:
    text = (
        "Tablets: 25 mg, 50 mg, and 100 mg ( 3 ).\n"
        "Tablets: 50 mg oval, white to off-white, scored, convex, coated, debossed with 853 on one side.\n"
        "Tablets: 25 mg round, white to off-white, convex, coated, debossed with 852 on one side."
    )
    hit = _drug_label_hit("Spironolactone", "Dosage Forms and Strengths", text)
    q = analyse_question("what does spironolactone 25 mg pill look like", drugs=["spironolactone"])
    quoted = _quoted("fda_label", q, [hit])
    assert any("25 mg round" in s for s in quoted)
    assert not any("50 mg oval" in s for s in quoted)


def test_an_interaction_answer_names_the_other_drug_or_says_the_label_does_not() -> None:
    q = analyse_question("Does omeprazole interact with clopidogrel?", drugs=["omeprazole", "clopidogrel"])
    assert "interaction" in q.intents
    hit = _drug_label_hit(
        "Omeprazole",
        "Drug Interactions",
        "Omeprazole reduces the pharmacological activity of clopidogrel; avoid concomitant use with "
        "clopidogrel. No formal drug interaction studies of high-dose methotrexate with omeprazole have "
        "been conducted. "
        "Omeprazole interactions with warfarin increase the INR and prothrombin time.",
    )
    section = _composer().compose_section("fda_label", q, [hit])
    assert not section.abstained
    assert [s.text for s in section.statements] == [
        "Omeprazole reduces the pharmacological activity of clopidogrel; avoid concomitant use with "
        "clopidogrel."
    ]
    silent = _drug_label_hit(
        "Omeprazole",
        "Drug Interactions",
        "No formal drug interaction studies of high-dose methotrexate with omeprazole have been conducted. "
        "Omeprazole interactions with warfarin increase the INR and prothrombin time.",
    )
    section = _composer().compose_section("fda_label", q, [silent])
    assert section.abstained
    assert section.message is not None
    assert "“clopidogrel”" in section.message
    assert section.statements  # what the passages do cover, shown as context, not as an answer
    assert all(s.context for s in section.statements)


# Hydroxychloroquine's Adverse Reactions as an older label flattens them: one run-on "sentence" of lists.
_RUN_ON = (
    "Because these reactions are reported voluntarily from a population of uncertain size, it is not "
    "always possible to reliably estimate their frequency or establish a causal relationship to drug "
    "exposure: Blood and lymphatic system disorders : Bone marrow depression, anemia, aplastic anemia, "
    "agranulocytosis, leukopenia, thrombocytopenia Cardiac disorders: Cardiomyopathy, cardiac failure, "
    "QT-interval prolongation, ventricular tachycardia, torsades de pointes, atrioventricular block, "
    "bundle branch block, sick sinus syndrome, pulmonary hypertension Ear and labyrinth disorders : "
    "Vertigo, tinnitus, nystagmus, sensorineural hearing loss Gastrointestinal disorders: Nausea, "
    "vomiting, diarrhea, abdominal pain Nervous system disorders: Ataxia, dizziness, headache, seizure, "
    "extrapyramidal disorders (dystonia, dyskinesia, tremor) The most common adverse reactions reported "
    "are: nausea, vomiting, diarrhea, and abdominal pain."
)


def test_a_run_on_list_too_long_to_quote_is_cut_into_its_lists() -> None:
    parts = pieces(_RUN_ON)
    assert all(part in _RUN_ON for part in parts)  # verbatim
    assert "Cardiac disorders: Cardiomyopathy, cardiac failure, QT-interval prolongation, ventricular " in (
        "\n".join(parts)
    )
    assert (
        parts[-1]
        == "The most common adverse reactions reported are: nausea, vomiting, diarrhea, and abdominal pain."
    )
    # a sentence short enough to quote is left whole
    short = "Nausea, vomiting and diarrhea were reported. Cardiac disorders: none were seen."
    assert pieces("Nausea: vomiting and diarrhea were reported in 2 patients.") == [
        "Nausea: vomiting and diarrhea were reported in 2 patients."
    ]
    assert pieces(short) == [short]


def test_the_lists_of_a_run_on_label_sentence_are_quoted_and_pass_the_guard() -> None:
    hit = _drug_label_hit("Hydroxychloroquine Sulfate", "Adverse Reactions", _RUN_ON, relevance=0.68)
    q = analyse_question("What are the side effects of hydroxychloroquine?", drugs=["hydroxychloroquine"])
    section = _composer().compose_section("fda_label", q, [hit])
    texts = [s.text for s in section.statements]
    assert (
        texts[0]
        == "The most common adverse reactions reported are: nausea, vomiting, diarrhea, and abdominal pain."
    )
    # The guard reads the same lists: the run-on sentence's "not always possible" is not this list's.
    for text in texts:
        assert check(text, [hit.passage]).supported, text


def test_a_heading_with_a_parenthetical_is_not_a_statement() -> None:
    assert not is_clean("REACTIONS (listed alphabetically, under each subsection)")
    assert not is_clean("ADVERSE REACTIONS (listed alphabetically, under each subsection)")
    assert is_clean("Sertraline is contraindicated with pimozide (see Drug Interactions).")


def test_a_guideline_summarys_headings_titles_and_grading_notes_are_not_its_answer() -> None:
    assert trim(
        "Benefits of Detection and Early Treatment \n Although lung cancer screening is not an "
        "alternative to smoking cessation, screening reduces mortality."
    ).startswith("Although")
    assert not is_clean("Appropriate diagnosis and treatment of work-related carpal tunnel syndrome")
    assert is_clean("PMDD: somnolence, dry mouth, dizziness, fatigue, and abdominal pain;")
    hit = _label_hit(
        "Screening for abdominal aortic aneurysm — Major Recommendations",
        'The definitions of these grades can be found at the end of the "Major Recommendations" field. '
        "The USPSTF recommends 1-time screening for abdominal aortic aneurysm with ultrasonography in men "
        "aged 65 to 75 years who have ever smoked.",
    )
    q = analyse_question("Should adults be screened for abdominal aortic aneurysm?")
    statements = _quoted("guidelines", q, [hit])
    assert statements[0].startswith("The USPSTF recommends 1-time screening")


def test_what_was_seen_in_animals_comes_after_what_is_said_of_patients() -> None:
    text = (
        "When female rats received sertraline during the last third of gestation, there was an increase in "
        "stillborn pups. Sertraline is present in human milk, and there are no data on its effects on milk "
        "production."
    )
    hit = _drug_label_hit("Sertraline", "Use in Specific Populations", text)
    q = analyse_question("Can sertraline be used during breastfeeding?", drugs=["sertraline"])
    statements = _quoted("fda_label", q, [hit])
    assert statements[0].startswith("Sertraline is present in human milk")
    rats = analyse_question("What happened to rats given sertraline during lactation?", drugs=["sertraline"])
    first = _composer().compose_section("fda_label", rats, [hit]).statements[0].text
    assert first.startswith("When female rats")


def _guideline_hit(text: str) -> Hit:
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(
        id="ngc:1:major-recommendations#0",
        record_id="ngc:1:major-recommendations",
        text=text,
        title="A guideline — Major Recommendations",
        source_type="guideline",
        section="Major Recommendations",
        sentences=spans,
    )
    return Hit(passage=passage, score=1.0, cosine=0.6, relevance=0.95)


def test_a_guideline_answers_a_drugs_side_effects_only_with_sentences_that_say_them() -> None:
    q = analyse_question("What are the side effects of tramadol?", drugs=["tramadol"])
    hit = _guideline_hit(
        "Tramadol is conditionally recommended over other opioids for chronic pain in older adults. "
        "The reported adverse effects of acupuncture were bruising and fainting. "
        "The most common adverse effects of tramadol were nausea, dizziness, somnolence, and constipation."
    )
    statements = _quoted("guidelines", q, [hit])
    assert statements == [
        "The most common adverse effects of tramadol were nausea, dizziness, somnolence, and constipation."
    ]
    # "tolerating" chose the passage, but no sentence says the drug's side effects: the section abstains
    tolerating = _guideline_hit(
        "The Work Group does not suggest switching from tramadol to another opioid if the patient is "
        "adequately controlled on and tolerating tramadol."
    )
    assert _composer().compose_section("guidelines", q, [tolerating]).abstained


def test_a_research_question_is_answered_by_the_study_in_mice() -> None:
    text = (
        "Mice lacking exon 3 of Adar3 have deficits in hippocampus-dependent short-term spatial memory "
        "formation. ADAR3 is highly expressed in the brain, but its functional significance is unknown."
    )
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(id="pmid:1#0", record_id="pmid:1", text=text, source_type="research", sentences=spans)
    hit = Hit(passage=passage, score=1.0, cosine=0.6, relevance=0.9)
    q = analyse_question("Is Adar3 involved in learning and memory?")
    first = _composer().compose_section("research", q, [hit]).statements[0].text
    assert first.startswith("Mice lacking exon 3 of Adar3")


# An OTC Drug Facts "Directions" list as some labels store it: its bullets gone, one line, no full stop.
_OTC_RUN = (
    "Directions do not take more than directed the smallest effective dose should be used adults and "
    "children 12 years and over: take 1 tablet every 4 to 6 hours while symptoms persist if pain or fever "
    "does not respond to 1 tablet, 2 tablets may be used do not exceed 6 tablets in 24 hours, unless "
    "directed by a doctor children under 12 years: ask a doctor"
)
# The same list with its bullets run into one line, a group heading left at the end of an item.
_OTC_BULLETS = (
    "Directions •do not take more than directed •if taken with food, this product may take longer to work "
    "adults and children 12 years and older: •take 1 capsule every 8 to 12 hours while symptoms last "
    "•do not exceed 3 capsules in a 24-hour period children under 12 years: •ask a doctor"
)


def test_an_otc_list_run_into_one_line_is_cut_into_its_items() -> None:
    parts = pieces(_OTC_RUN)
    assert all(part in _OTC_RUN for part in parts)  # verbatim
    assert "do not exceed 6 tablets in 24 hours, unless directed by a doctor" in parts
    item = "adults and children 12 years and over: take 1 tablet every 4 to 6 hours while symptoms persist"
    assert item in parts  # "adults and" | "children …" is one item
    assert "children under 12 years: ask a doctor" in parts
    bulleted = pieces(_OTC_BULLETS)
    assert all(part in _OTC_BULLETS for part in bulleted)
    assert "•do not exceed 3 capsules in a 24-hour period" in bulleted
    assert "adults and children 12 years and older:" in bulleted
    # prose is never cut so, even with "do not" in it
    prose = "Patients should be told that they do not need to take the tablets with food if nausea is absent"
    assert pieces(prose) == [prose]


def test_the_items_of_an_otc_list_are_quoted_and_pass_the_guard() -> None:
    hit = _drug_label_hit("Ibuprofen", "Dosage and Administration", _OTC_RUN, relevance=0.9)
    q = analyse_question("What is the maximum dose of ibuprofen?", drugs=["ibuprofen"])
    texts = [s.text for s in _composer().compose_section("fda_label", q, [hit]).statements]
    assert "do not exceed 6 tablets in 24 hours, unless directed by a doctor" in texts
    for text in texts:
        assert text in _OTC_RUN
        assert check(text, [hit.passage]).supported, text
    bulleted = _drug_label_hit("Naproxen Sodium", "Dosage and Administration", _OTC_BULLETS, relevance=0.9)
    q = analyse_question("How often can I take naproxen?", drugs=["naproxen"])
    texts = [s.text for s in _composer().compose_section("fda_label", q, [bulleted]).statements]
    # a group heading is quoted with the item it leads in to, not with the item before it
    lead_in = "adults and children 12 years and older: take 1 capsule every 8 to 12 hours while symptoms last"
    assert lead_in in texts
    assert not any(t.startswith("if taken with food") and "adults" in t for t in texts)


def test_a_bulleted_item_may_start_in_lower_case_a_fragment_may_not() -> None:
    item = "do not take longer than 10 days, unless directed by a doctor (see Warnings)"
    assert is_clean(item, listed=True)
    assert not is_clean(item)


def test_an_interaction_answer_names_what_the_question_takes_with_the_drug() -> None:
    text = (
        "Resmetirom is a weak CYP2C8 inhibitor. REZDIFFRA increased plasma concentrations of some statins, "
        "which may increase the risk of adverse reactions. Rosuvastatin and simvastatin: Limit daily statin "
        "dosage to 20 mg. Pravastatin and atorvastatin: Limit daily statin dosage to 40 mg."
    )
    hit = _drug_label_hit("Resmetirom", "Drug Interactions", text, relevance=0.9)
    q = analyse_question("Does resmetirom interact with statins?", drugs=["resmetirom"])
    texts = [s.text for s in _composer().compose_section("fda_label", q, [hit]).statements]
    assert texts
    assert "Resmetirom is a weak CYP2C8 inhibitor." not in texts
    assert all("statin" in t for t in texts)
    # with nothing naming the partner, the section still answers from the drug's interactions
    alone = _drug_label_hit("Resmetirom", "Drug Interactions", "Resmetirom is a weak CYP2C8 inhibitor.")
    q2 = analyse_question("Does resmetirom interact with grapefruit?", drugs=["resmetirom"])
    assert [s.text for s in _composer().compose_section("fda_label", q2, [alone]).statements]


def test_a_question_about_drinking_on_a_drug_is_answered_by_what_its_label_says_of_alcohol() -> None:
    text = (
        "Patients should be cautioned about the concomitant use of sertraline and NSAIDs, aspirin, or "
        "warfarin, since combined use has been associated with an increased risk of bleeding. Do not "
        "drink alcohol while you take sertraline hydrochloride tablets. Tell your healthcare provider "
        "about all the medicines that you take, including prescription and over-the-counter medicines."
    )
    hit = _drug_label_hit("Sertraline", "Medication Guide", text, relevance=0.9)
    q = analyse_question("Is it safe to drink alcohol while taking sertraline?", drugs=["sertraline"])
    texts = [s.text for s in _composer().compose_section("fda_label", q, [hit]).statements]
    assert texts == ["Do not drink alcohol while you take sertraline hydrochloride tablets."]


def test_a_guideline_answers_a_drugs_onset_or_overdose_only_with_sentences_that_say_it_of_the_drug() -> None:
    onset = analyse_question("How long does it take for sertraline to work?", drugs=["sertraline"])
    recommendation = _guideline_hit(
        "The Work Group recommends sertraline, paroxetine, fluoxetine, or venlafaxine as monotherapy for "
        "PTSD. There is insufficient evidence to recommend for or against mirtazapine with sertraline."
    )
    assert _composer().compose_section("guidelines", onset, [recommendation]).abstained
    says = _guideline_hit(
        "The Work Group recommends sertraline as monotherapy for PTSD. A response to sertraline is usually "
        "seen within 2 to 4 weeks, and a full trial lasts at least 8 weeks."
    )
    assert _quoted("guidelines", onset, [says])[0].startswith("A response to sertraline")
    antidote = analyse_question("What is the antidote for warfarin overdose?", drugs=["warfarin"])
    other_drug = _guideline_hit(
        "Warfarin is preferred for long-term anticoagulation in patients with mechanical valves. UFH is "
        "preferred when rapid reversal may be needed (e.g., pending surgery, high bleeding risk)."
    )
    assert _composer().compose_section("guidelines", antidote, [other_drug]).abstained


def test_the_other_drug_of_an_interaction_question_may_be_named_by_its_class() -> None:
    # "Can I take ibuprofen with lisinopril?": lisinopril's label speaks of NSAIDs, never of ibuprofen
    text = (
        "Other Agents: Lisinopril has been used concomitantly with nitrates and/or digoxin without "
        "evidence of clinically significant adverse interactions. The antihypertensive effect of ACE "
        "inhibitors, including lisinopril, may be attenuated by NSAIDs. Monitor renal function "
        "periodically in patients receiving lisinopril and NSAID therapy."
    )
    hit = _drug_label_hit("Lisinopril", "Drug Interactions", text, relevance=0.85)
    q = analyse_question("Can I take ibuprofen with lisinopril?", drugs=["ibuprofen", "lisinopril"])
    section = _composer().compose_section("fda_label", q, [hit])
    assert not section.abstained
    assert all("NSAID" in s.text for s in section.statements)
    # a drug of no class the label names: the section says which drug no passage names
    other = analyse_question("Can I take tramadol with lisinopril?", drugs=["tramadol", "lisinopril"])
    assert _composer().compose_section("fda_label", other, [hit]).abstained
