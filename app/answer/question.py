"""What a question asks: its intents (dose, side effects, pregnancy…), focus terms, qualifiers and drugs."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from app.index.drugs import DrugLexicon
from app.index.lexical import analyze

# intent → (cue regexes on the lower-cased question, label sections that answer it)
INTENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dose": (
        (
            r"\bdos(e|es|age|ing)\b",
            r"\bhow much\b",
            r"\bhow (often|many)\b",
            r"\bmgs?\b",
            r"\bmcg\b",
            r"\bmil+[aie]?grams?\b",  # milligrams, as often misspelt ("milagrams", "miligrams")
        ),
        ("dosage and administration", "dosage forms and strengths"),
    ),
    "adverse": (
        (r"side[- ]effects?", r"\badverse\b", r"\breactions?\b", r"\btoxicit"),
        ("adverse reactions", "warnings and precautions", "boxed warning", "warnings"),
    ),
    "contraindication": (
        (r"contraindicat", r"\bwho should not\b", r"\bshould not (take|use)\b"),
        ("contraindications",),
    ),
    "pregnancy": (
        (r"pregnan", r"breast-?feed", r"\bbreast ?milk\b", r"lactat", r"\bnursing\b"),
        ("pregnancy", "use in specific populations", "lactation", "nursing mothers", "teratogenic effects"),
    ),
    "interaction": (
        (r"interact", r"\btogether with\b", r"\bcombin(e|ed|ing)\b"),  # drinking: the "alcohol" intent
        ("drug interactions",),
    ),
    # Drinking while on a drug ("Is it safe to drink alcohol while taking sertraline?"); not alcohol as the
    # condition treated ("naltrexone for alcohol dependence"). Only for a question naming a drug.
    "alcohol": (
        (
            r"\b(alcohol|alcoholic|beer|wine|liquor|booze)\b"
            r"(?!.{0,30}\b(use disorder|dependen|withdraw|abuse|addict|poison|intoxicat|craving))",
        ),
        (
            "drug interactions",
            "precautions",
            "general precautions",
            "information for patients",
            "medication guide",
            "patient counseling information",
            "warnings",
            "warnings and precautions",
            "contraindications",
        ),
    ),
    "indication": (
        (
            r"\bbenefits?\b",
            r"\bused? for\b",
            r"\bindicat",
            r"\btreat",
            r"\bcures?\b",
            # "what is qvar for", "what is it for"; not "what is the dose of X for PPD"
            r"\bwhat (is|are) (the |this |that )?(?!dos|max|usual|recommended|antidote)\S+ for\b",
            r"\bgood for\b",
            r"\bfor what\b",
            r"\beffective",
            r"\befficacy\b",
            r"\bhelp",
        ),
        ("indications and usage", "clinical studies"),
    ),
    "warning": (
        (
            r"\bwarnings?\b",
            r"\brisks?\b",
            r"\bsafe(ty)?\b",
            r"\bdanger",
            # "will citalopram exacerbate heart arrhythmias?": what a drug may make worse is a warning
            r"\b(exacerbate|worsen|aggravate)s?\b",
            r"\bmakes? .* worse\b",
        ),
        ("boxed warning", "warnings and precautions", "warnings", "precautions"),
    ),
    "mechanism": ((r"\bhow does .* work\b", r"\bmechanism\b", r"\baction\b"), ("mechanism of action",)),
    # "With respect to O, how does A compare with B?": the answer is a trial's result sentence.
    "comparison": (
        (
            r"\bcompare[sd]?\b",
            r"\bcomparison\b",
            r"\bversus\b",
            r"\bvs\.?\b",
            r"\bbetter than\b",
            r"\bmore effective than\b",
            r"\bwith respect to\b",
        ),
        (),
    ),
    "administration": (
        (
            r"\bhow (do|should|to) (i |you |we )?(take|use|inject|give|apply)\b",
            r"\bwith food\b",
            r"\bempty stomach\b",
            r"\bcrush",
            r"\bchew",
            r"\bsplit",
            r"\b(cut|break|halve)\b.{0,30}\bin (half|two)\b",
            r"\b(cut|break|halve) (the |my |a )?(pills?|tablets?)\b",
            r"\bopen\b.{0,25}\bcapsules?\b",
            r"\binject",
            r"\bmissed? (a )?dose\b",
            # "How do I switch from warfarin to apixaban?": the label says how under Dosage and Administration
            # ("Switching from warfarin to ELIQUIS: …")
            r"\b(switch|convert|transition)(ing)? (a patient |patients |someone )?(from|to|over)\b",
        ),
        (
            "dosage and administration",
            "administration information",
            "medication guide",
            "information for patients",
            "patient counseling information",
        ),
    ),
    "appearance": (
        (
            r"\blooks? like\b",
            r"\bcolou?r\b",
            r"\bshape\b",
            r"\bimprint",
            r"\bwhat .* pill\b",
            r"\bmarkings?\b",
            r"\bsizes?\b",
            r"\bstrengths?\b",
            r"\bcomes? in\b",
            r"\bavailable\b",
        ),
        (
            "ingredients and appearance",
            "how supplied",
            "product characteristics",
            "description",
            "dosage forms and strengths",
            "package label.principal display panel",
        ),
    ),
    "ingredients": (
        (
            r"\bingredients?\b",
            r"\bcontains?\b",
            r"\bgluten\b",
            r"\blactose\b",
            r"\bmade (of|from)\b",
            r"\binactive\b",
            r"\bdye\b",
            r"\bin it\b",
            r"\bwhat('s| is) in\b",
            # "how much acetaminophen in acetaminophen and codeine": what a unit of the product holds, said
            # where it is supplied ("Each … tablet contains acetaminophen 300 mg and codeine phosphate 30 mg")
            r"\bhow (much|many (mgs?|mcg|mil+[aie]?grams?|grams?|units))\b"
            r"(?!.*\bin (a|one|each|per) (day|hour|week)\b)"
            r"(?!.*\bin (pregnan|child|kid|infant|adult|elder|older|patient|renal|liver|kidney))"
            r".*\bin (a |an |the |each |one )?\w",
        ),
        (
            "ingredients and appearance",
            "description",
            "inactive ingredients",
            "active ingredient",
            "how supplied",
        ),
    ),
    "storage": (
        # "expiry", "expired", "expiration date" — not "forced expiratory volume"
        (
            r"\bstor(e|age|ed)\b",
            r"\brefrigerat",
            r"\bexpir(e|es|ed|y|ation)\b",
            r"\bshelf\b",
            r"\btemp(erature)?s?\b",
        ),
        ("how supplied", "storage and handling", "how supplied/storage and handling"),
    ),
    "stopping": (
        (
            r"\bstop(ping)? (taking|using)\b",
            r"\bstopp(ing|ed)\b",
            r"\bquit(ting)?\b",
            r"\btaper",
            r"\bwithdraw",
            r"\bdiscontinu",
            r"\bcome off\b",
            r"\blower (my |your |the )?dos",
        ),
        (
            "dosage and administration",
            "warnings and precautions",
            "drug abuse and dependence",
            "administration information",
        ),
    ),
    # "How long should I take cipro for a UTI?", "length of entecavir treatment": how long a course lasts is
    # said where the dose is ("for 7 to 14 days", "The optimal duration of treatment … is unknown"), and
    # for OTC products under "Stop use" ("if you need to use a laxative for more than 1 week").
    "duration": (
        (
            r"\bhow long (can|should|do|does|must|to|will)? ?(i|you|we|he|she|they|patients?|one)? ?"
            r"(take|use|keep|stay|remain|continue|be taken|be used|be on)\b",
            r"\bhow long keep\b",
            r"\bhow long (can|should|must|will)\b.*\bbe (taken|used|continued)\b",
            r"\b(length|duration) of\b.*\b(treatment|therapy|course|use)\b",
        ),
        ("dosage and administration", "warnings"),
    ),
    "overdose": ((r"overdos", r"\btoo much\b", r"\bantidotes?\b"), ("overdosage",)),
    # "What should I do if I miss a dose of levothyroxine?": said in the label's dosing and patient sections
    # ("If you miss a dose, take it as soon as you remember"), and only in those words.
    "missed_dose": (
        (
            r"\bmiss(es|ed|ing)? (a |my |the |one |two )?(dose|doses|pill|pills|tablet|injection|shot)\b",
            r"\bforg[oe]t(ten)? (to take|a dose|my|to use)\b",
            r"\bskip(s|ped|ping)? (a |my )?(dose|pill)\b",
        ),
        (
            "dosage and administration",
            "patient package insert",
            "medication guide",
            "information for patients",
            "patient counseling information",
            "patient medication information",
        ),
    ),
    # "How should warfarin be monitored?", "what labs to check on lithium": what to measure and how often is
    # said where the dose is adjusted ("2.4 Monitoring to Achieve Optimal Anticoagulation"), in the
    # warnings, or under Laboratory Tests.
    "monitoring": (
        (
            r"\bmonitor",
            r"\blab(oratory)? (tests?|work|values?)\b",
            r"\blabs\b",
            r"\bblood (tests?|work|levels?)\b",
        ),
        ("dosage and administration", "warnings and precautions", "precautions", "laboratory tests"),
    ),
    # "How fast does amlodipine work?": the answer is in its pharmacokinetics (time to peak, onset).
    "onset": (
        (
            r"\bhow (fast|quickly|soon)\b",
            r"\bonset\b",
            r"\btakes? [ae]ffect\b",  # "take affect", as often written
            r"\btakes? to work\b",
            r"\bstarts? working\b",
            r"\bkicks? in\b",
            r"\bhow long\b.*\bto (work|act|start working)\b",
        ),
        ("clinical pharmacology", "pharmacokinetics", "pharmacodynamics"),
    ),
    # "What is the half-life of amiodarone?", "how long does it take to get carbidopa levodopa out of your
    # system": how the body handles the drug is said in its pharmacokinetics (not its adverse reactions).
    "pharmacokinetics": (
        (
            r"\bhalf[- ]?li(fe|ves)\b",
            r"\bpharmacokinetic",
            r"\bclearance\b",
            r"\bmetaboli[sz](ed|m)\b",
            r"\beliminat",
            r"\bexcret",
            r"\bbioavailab",
            r"\babsorption\b",
            r"\bstays? in (your |the |my |his |her )?(system|body|blood)\b",
            r"\bout of (your |my |the |his |her )?(system|body)\b",
        ),
        ("clinical pharmacology", "pharmacokinetics"),
    ),
    # "What drug class is sertraline?", "what kind of drug is metoprolol": the label says what the drug is
    # in its description or its mechanism ("Sertraline hydrochloride is a selective serotonin reuptake
    # inhibitor (SSRI) for oral administration"), not in what it is indicated for.
    "class": (
        (
            r"\bclass\b",
            r"\bwhat (kind|type|sort) of (a )?(drug|medication|medicine|pill)\b",
        ),
        ("description", "mechanism of action", "clinical pharmacology"),
    ),
    # "What is ciprofloxacin?", "whats xanax": what the drug is, and what it is for. Read only
    # when nothing else is asked (``analyse_question``), so it has no cues of its own.
    "identity": (
        (),
        ("description", "indications and usage", "clinical pharmacology", "mechanism of action"),
    ),
    "pediatric": ((r"\bchild", r"\bpediatric", r"\bkids?\b", r"\binfants?\b"), ("pediatric use",)),
    "geriatric": ((r"\belderly\b", r"\bolder (adults|patients)\b", r"\bgeriatric"), ("geriatric use",)),
}

# A study in animals, named in its title or text (a trial "in dogs undergoing mastectomy", "in rats").
ANIMALS = frozenset(
    analyze(
        "dog dogs canine cat cats feline horse horses equine cattle bovine sheep ovine pig pigs swine "
        "porcine rat rats mouse mice murine rodent rodents rabbit rabbits monkey monkeys pup pups litter "
        "litters"
    )
)

# What a question may ask of the product itself (what it looks like, what is in it, how it is kept): its
# label says it; an abstract or guideline rarely does.
PRODUCT_INTENTS = frozenset({"appearance", "ingredients", "storage"})
# A strength as a product is named by it in a question or a label ("25 mg", "1gm", "0.5 mcg", "40 units").
WRITTEN_STRENGTH = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(mgs?|mcg|µg|g|gm|grams?|mil+[aie]?grams?|units?)\b", re.IGNORECASE
)
_UNIT_SPELLING = {"mgs": "mg", "gm": "g", "gram": "g", "grams": "g", "µg": "mcg", "unit": "units"}


def strengths(text: str) -> set[tuple[str, str]]:
    """The strengths ``text`` names, as (number, unit) with the unit's common spelling."""
    out = set()
    for m in WRITTEN_STRENGTH.finditer(text):
        unit = m.group(2).lower()
        unit = "mg" if unit.startswith("mil") else _UNIT_SPELLING.get(unit, unit)
        out.add((m.group(1), unit))
    return out


_WRITTEN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")


def words_as_written(text: str, stems: Collection[str]) -> list[str]:
    """The words of ``text`` as written, in order and each once, that read as one of ``stems`` ("Capgras"
    for an absent subject, "aspirin" for an interaction partner no passage names)."""
    out: list[str] = []
    for m in _WRITTEN_WORD.finditer(text):
        if any(t in stems for t in analyze(m.group(0))) and m.group(0) not in out:
            out.append(m.group(0))
    return out


def asks_of_product(q: QuestionInfo) -> bool:
    """Does the question ask only what the product looks like, contains or how it is stored?"""
    return bool(q.intents) and set(q.intents) <= PRODUCT_INTENTS


PATIENT_SECTIONS = ("information for patients", "medication guide", "patient package insert",
                    "patient counseling information", "patient medication information")  # fmt: skip

# A label's sections go by many names: subsections ("Clinical Trials Experience" under Adverse Reactions),
# combined headings ("How Supplied/Storage and Handling"), paths ("Medication Guide > What is Restoril?"),
# numbered ("12.3 Pharmacokinetics") and OTC Drug Facts headings ("Uses", "Directions"). Each is read as
# the standard section(s) it belongs to, so a question's intent finds its section whatever the label says.
_SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "clinical trials experience": ("adverse reactions",),
    "postmarketing experience": ("adverse reactions",),
    "post-marketing experience": ("adverse reactions",),
    "general precautions": ("precautions",),
    "uses": ("indications and usage",),
    "indications": ("indications and usage",),
    "purpose": ("indications and usage",),
    "directions": ("dosage and administration",),
    "dosage": ("dosage and administration",),
    "dosage forms and strength": ("dosage forms and strengths",),
    "do not use": ("warnings",),
    "stop use": ("warnings",),
    "when using": ("warnings",),
    "ask doctor": ("warnings",),
    "patient information": ("information for patients",),
    "information for the patient": ("information for patients",),
    "consumer information": ("information for patients",),
    "patient medication information": ("information for patients", "medication guide"),
    "renal impairment": ("use in specific populations",),
    "hepatic impairment": ("use in specific populations",),
    "pharmacokinetics": ("clinical pharmacology",),
    "pharmacodynamics": ("clinical pharmacology",),
}
_SECTION_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\s+")


@lru_cache(maxsize=4096)
def section_names(section: str | None) -> frozenset[str]:
    """The standard label section names a section heading stands for: itself, lower-cased, with "&" read
    as "and", numbering and a trailing colon or "section" dropped; each part of a combined heading
    ("how supplied/storage and handling" → "how supplied", "storage and handling"); the top of a path
    ("adverse reactions > clinical trials experience" → "adverse reactions"); and the standard section a
    subsection or Drug Facts heading belongs to. Cached: an index holds a few hundred distinct headings and
    every hit of every section asks."""
    if not section:
        return frozenset()
    text = section.lower().replace("&", " and ")
    head = text.split(">", 1)[0]
    names: set[str] = set()
    for part in [head, *re.split(r"[/;]| and/or ", head)]:
        name = _SECTION_NUMBER.sub("", " ".join(part.split())).rstrip(":").strip()
        name = name.removesuffix(" section").strip()
        if name:
            names.add(name)
            names.update(_SECTION_ALIASES.get(name, ()))
    return frozenset(names)


def in_sections(section: str | None, wanted: Collection[str]) -> bool:
    """True when the section heading stands for one of the ``wanted`` standard sections."""
    return bool(wanted) and not section_names(section).isdisjoint(wanted)


# Words that say what is asked rather than what about; not "focus". Stemmed by the index analyzer.
_INTENT_WORDS = (
    "benefit benefits dose doses dosage dosing side effect effects adverse reaction reactions "
    "contraindication contraindications contraindicated interaction interactions interact use used uses "
    "usage treat treatment safe safety risk risks warning warnings work works mechanism action take taking "
    "recommended recommendation danger dangers dangerous "
    "recommend guideline guidelines evidence research study studies label fda drug drugs medication medicine "
    "patient patients people person much often many long good bad best effective efficacy help helps "
    "i me my mine you your u we our they them their he she his her it its "
    "look looks like color colour shape size sizes store storage stored contain contains ingredient "
    "ingredients inactive available come comes stop stopping taper lower "
    "compare compared comparison versus vs respect fast quickly soon onset cure cures "
    "mg mgs mcg milligram milligrams temp temperature quit quitting whats class "
    "am one happen happens happened cause causes caused causing monitor monitored monitoring "
    "overdose overdosed overdoses antidote antidotes miss missed forget forgot skip skipped"
)
INTENT_STEMS = frozenset(analyze(_INTENT_WORDS))

_QUALIFIER = re.compile(r"\b([a-z]+(?:-[a-z]+)+)\b")
_NOT_QUALIFIERS = {"side-effects", "side-effect", "follow-up"}
# A hyphenated word qualifies what is asked about ("low-dose naltrexone", "long-term use", "extended-release
# tablets") when it starts with a word of degree, amount, duration or form; other hyphenated words name the
# topic itself ("pre-eclampsia", "multi-modal therapy", "non-HDL cholesterol") and stay focus terms.
_QUALIFYING_HEADS = frozenset(
    ("low", "high", "long", "short", "extended", "sustained", "delayed", "immediate", "controlled",
     "modified", "once", "twice", "single", "double", "ultra", "slow", "rapid", "fast", "off")
)  # fmt: skip


# Two drugs asked about together ("take calcium with alendronate", "metoprolol and lexapro") ask how they
# interact when nothing else is asked.
_TWO_DRUGS = re.compile(r"\b(with|and|plus|together|while on|mix)\b")
# Words that say two named drugs are taken together, not one product's name ("can i take acetaminophen and
# ibuprofen" asks about taking two products, whatever labels name both): ``two_products``.
_TAKEN_TOGETHER = re.compile(r"\b(with|plus|together|while on|mix|take|taking|took|use|using)\b")
# "What is X?", "whats X", "what class is X": a short question that only names its subject asks what it is
# (and what it is for); "what is in X", "what is X for", "what is the difference between…" ask other things.
_IDENTITY = re.compile(r"^\W*(what is|what are|whats|what's)\s+(an?\s+|the\s+)?(?P<rest>[^?.!]+?)[\s?.!]*$")
_CLASS = re.compile(r"^\W*what (drug |medication |medicine )?(class|kind|type)\b")
_NOT_IDENTITY = frozenset(
    ["in", "with", "between", "for", "of", "do", "does", "can", "to", "like", "difference", "mixed", "made"]
)
IDENTITY_MAX_WORDS = 6


def _asks_identity(asked: str) -> bool:
    if _CLASS.match(asked):
        return True
    m = _IDENTITY.match(asked)
    if m is None:
        return False
    words = m.group("rest").split()
    return len(words) <= IDENTITY_MAX_WORDS and _NOT_IDENTITY.isdisjoint(words)


# A strength written with its unit ("40mcg", "300mg") says which product, not what is asked about.
_STRENGTH = re.compile(r"^\d+(\.\d+)?(mg|mcg|g|gm|ml|iu|units?|mgs)$")
# A unit as often misspelt ("milagrams", "miligrams", stemmed or not): it says a dose or strength is asked, as
# the dose intent's cue reads it, and is never what the question is about.
UNIT_WORD = re.compile(r"^mil+[aie]?gram(s)?$")


# Dosage forms a question can ask about, and how a label passage says which form it is about: (question
# cues, passage cues). "Prednisolone eye drops" is not answered by the oral solution's dosing.
FORMS: dict[str, tuple[str, str]] = {
    "ophthalmic": (r"\beye ?drops?\b|\bophthalmic\b|\beye (ointment|solution|suspension)\b",
                   r"\bophthalmic\b|\bin(to)? the (affected )?eyes?\b|\beye ?drops?\b|\bconjunctival sac\b"),
    "topical": (r"\bcreams?\b|\bointments?\b|\bgels?\b|\blotions?\b|\btopical\b",
                r"\bcreams?\b|\bointments?\b|\bgels?\b|\blotions?\b|\btopical(ly)?\b"),
    "injection": (r"\binject(ion|ions|able|ed)?\b|\bshots?\b|\bintravenous\b|\binfusions?\b|\bsyringes?\b",
                  r"\binject(ion|ions|able|ed)?\b|\bintravenous(ly)?\b|\bintramuscular(ly)?\b"
                  r"|\bsubcutaneous(ly)?\b|\binfusions?\b|\bvials?\b|\bsyringes?\b"),
    "inhaled": (r"\binhal(er|ers|ation|ed)\b|\bnebuli[sz](er|ers|ation)\b|\bpuffs?\b",
                r"\binhal(er|ers|ation|ed)\b|\bnebuli[sz](er|ers|ation)\b|\bpuffs?\b|\bactuations?\b"),
    "transdermal": (r"\bpatch(es)?\b|\btransdermal\b", r"\bpatch(es)?\b|\btransdermal\b"),
    "oral": (r"\bpills?\b|\btablets?\b|\btabs?\b|\bcapsules?\b|\bcaplets?\b|\boral(ly)?\b|\bby mouth\b",
             r"\btablets?\b|\bcapsules?\b|\bcaplets?\b|\boral(ly)?\b|\bby mouth\b|\bswallow"),
}  # fmt: skip


# How a message names a form the question asked about.
FORM_NAMES = {
    "ophthalmic": "eye products",
    "topical": "creams, ointments or gels",
    "injection": "injections",
    "inhaled": "inhaled forms",
    "transdermal": "patches",
    "oral": "forms taken by mouth",
}


def forms_of(text: str, *, passage: bool = True) -> set[str]:
    """The dosage forms ``text`` speaks of (passage cues, or a question's with ``passage=False``)."""
    lowered = text.lower()
    return {name for name, cues in FORMS.items() if re.search(cues[1 if passage else 0], lowered)}


@dataclass
class QuestionInfo:
    text: str
    terms: list[str]  # all stemmed content terms
    focus: list[str]  # content terms minus intent words
    intents: list[str]
    intent_sections: set[str]
    qualifiers: list[list[str]] = field(default_factory=list)  # stemmed token runs, e.g. [["low", "dose"]]
    qualifier_text: list[str] = field(default_factory=list)  # as written, e.g. ["low-dose"]
    drugs: list[str] = field(default_factory=list)
    forms: set[str] = field(default_factory=set)  # dosage forms asked about ("eye drops" → ophthalmic)


def two_products(drugs: list[str], asked: str, lexicon: DrugLexicon) -> bool:
    """Do the ``drugs`` the question names (lexicon keys) make two products, to take together? Not a brand and
    its generic ("the difference between atorvastatin and lipitor"), nor, joined by "and" alone, the
    ingredients of one combination product, a label of which names both ("acetaminophen and … codeine")."""
    joined_by_and = not _TAKEN_TOGETHER.search(asked)
    for i, a in enumerate(drugs):
        names = lexicon.synonyms(a)
        for b in drugs[i + 1 :]:
            if b in names:
                continue
            if joined_by_and and lexicon.records.get(a, set()) & lexicon.records.get(b, set()):
                continue  # a product's label names both
            return True
    return False


def analyse_question(
    text: str, lexicon: DrugLexicon | None = None, drugs: list[str] | None = None
) -> QuestionInfo:
    lowered = text.lower()
    drug_keys = drugs if drugs is not None else (lexicon.detect(text) if lexicon else [])
    drug_words = {w for d in drug_keys for w in d.split()}
    qualifiers, qualifier_text = [], []
    for m in _QUALIFIER.finditer(lowered):
        word = m.group(1)
        if word in _NOT_QUALIFIERS or any(part in drug_words for part in word.split("-")):
            continue
        if word.split("-", 1)[0] not in _QUALIFYING_HEADS:
            continue
        stems = analyze(word.replace("-", " "))
        if len(stems) >= 2:
            qualifiers.append(stems)
            qualifier_text.append(word)
    # "low-dose" qualifies the question; it does not ask for a dose.
    asked = lowered
    for word in qualifier_text:
        asked = asked.replace(word, " ")
    intents = [name for name, (cues, _) in INTENTS.items() if any(re.search(c, asked) for c in cues)]
    if "dose" in intents and set(intents) & PRODUCT_INTENTS:
        # "What does spironolactone 25 mg look like?" names the product by its strength; it asks no dose
        # ("fluoxetine what mgs are available" asks which strengths: a dose question).
        unnamed = WRITTEN_STRENGTH.sub(" ", asked)
        if not any(re.search(c, unnamed) for c in INTENTS["dose"][0]):
            intents.remove("dose")
    if (
        set(intents) <= {"administration"}
        and len(drug_keys) >= 2
        and _TWO_DRUGS.search(asked)
        and (lexicon is None or two_products(drug_keys, asked, lexicon))
    ):
        intents.append("interaction")  # "can i take metamucil with ciprofloxacin?"
    if "alcohol" in intents and not drug_keys:
        intents.remove("alcohol")  # "Does alcohol raise blood pressure?" asks of alcohol itself
    if not intents and _asks_identity(asked):
        intents.append("identity")
    sections = {s for name in intents for s in INTENTS[name][1]}
    terms = list(dict.fromkeys(t for t in analyze(text) if not t.isdigit()))
    qualifier_stems = {t for run in qualifiers for t in run}
    focus = [
        t
        for t in terms
        if t not in INTENT_STEMS
        and t not in qualifier_stems
        and not _STRENGTH.match(t)
        and not UNIT_WORD.match(t)
    ]
    return QuestionInfo(
        text,
        terms,
        focus,
        intents,
        sections,
        qualifiers,
        qualifier_text,
        list(drug_keys),
        forms_of(text, passage=False),
    )


def mentions(tokens: list[str], run: list[str], *, window: int = 3) -> bool:
    """True when the stems of ``run`` occur in order within ``window`` tokens of each other."""
    if not run:
        return True
    for i, tok in enumerate(tokens):
        if tok != run[0]:
            continue
        pos, ok = i, True
        for stem in run[1:]:
            nxt = next(
                (j for j in range(pos + 1, min(len(tokens), pos + 1 + window)) if tokens[j] == stem), None
            )
            if nxt is None:
                ok = False
                break
            pos = nxt
        if ok:
            return True
    return False


def mentions_near(tokens: list[str], run: list[str], anchors: set[str], *, distance: int = 4) -> bool:
    """True when ``run`` occurs (see ``mentions``) within ``distance`` tokens of one of ``anchors``."""
    if not anchors:
        return mentions(tokens, run)
    anchor_at = [i for i, t in enumerate(tokens) if t in anchors]
    if not anchor_at:
        return False
    for i, tok in enumerate(tokens):
        if tok == run[0] and mentions(tokens[i : i + 1 + 3 * len(run)], run):
            end = i + len(run)
            if any(i - distance <= a <= end + distance for a in anchor_at):
                return True
    return False
