"""Quotable units of a passage: verbatim parts, split at list separators, leading ellipses dropped."""

from __future__ import annotations

from app.answer.extractive import is_aim, is_clean, pieces


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
