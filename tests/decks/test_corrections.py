"""The talks' corrections, held by checks: the Spanish glossary, no stage cues read
aloud, and the claims the review corrected staying corrected. (One version range
everywhere is tests/test_setup.py's check, over every text file of the repository.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from decks.lint import lint, load_glossary
from decks.source import split

ROOT = Path(__file__).resolve().parents[2]


#: Phrases the review corrected, per deck source; none may come back.
CORRECTED = {
    "known as Tulip": "Tulip was PEP 3156's reference implementation",
    "se llamaba Tulip": "Tulip era la implementación de referencia",
    "slides are lost": "the 2013 slides are published",
    "no se conservan": "las diapositivas de 2013 están publicadas",
    "policies are removed": "removal in 3.16 is scheduled, not done",
    "las políticas desaparecen": "la eliminación en 3.16 está prevista",
    "removed in 3.16": "removal in 3.16 is scheduled",
    "se elimina en 3.16": "la eliminación está prevista",
    "event ports (Solaris)": "the cell probes /dev/poll",
    "Antes de PEP": "Antes de la PEP",
    "Lo que PEP 3156": "la PEP 3156",
    "un montón de temporizadores": "un montículo (heap)",
    "hace yield de": "cede (yield)",
    "leerle nosotros": "dejamos de leer lo que nos manda",
    "2013, ya no funciona": "El eco de 2013, que ya no funciona",
    "echo, no longer runs": "The 2013 echo, which no longer runs",
    "are deprecated since": "have been deprecated since",
    "camino caliente": "calque of hot path",
    "transparencia": "diapositiva",
    "Presentarse": "first person: the author presents",
    "Introduce yourself": "first person: the author presents",
    "were Saúl's": "first person: the author presents",
    "Saúl Ibarra Corretgé, the author of pyuv,": "first person",
    "the fastest Python can go": "the benchmark's own table says otherwise",
    "converges because": "the benchmark's own table says otherwise",
    "DeprecationWarning since 3.12": "it warned from 3.10 (no running loop), narrowed in 3.12",
}


@pytest.mark.parametrize("phrase", sorted(CORRECTED))
def test_corrected_claims_stay_corrected(talk, phrase):
    assert phrase.lower() not in talk.source.read_text(encoding="utf-8").lower(), (
        f"{talk.name}: {phrase!r} was corrected: {CORRECTED[phrase]}")


def test_both_decks_speak_in_the_first_person(language_notebooks, talk):
    first_person = {"en": re.compile(r"\b(I|my|mine)\b"), "es": re.compile(r"\b(soy|mis?|di)\b", re.I)}
    for lang, nb in language_notebooks(talk).items():
        notes = "\n".join(c.source for c in nb.cells
                          if c.get("metadata", {}).get("slideshow", {}).get("slide_type") == "notes")
        assert len(first_person[lang].findall(notes)) >= 3, f"{talk.name}.{lang}"


# -- the glossary and the stage cues, on throwaway decks -------------------------------

def _messages(make_talk, body, lang):
    return [p.message for p in lint(split(make_talk(body))[lang])]


def test_the_glossary_flags_a_variant_in_spanish_text_and_notes(make_talk, cells):
    body = cells.slide(body=cells.text("en", "A loop factory.") + cells.text("es", "Una factoría."),
                       notes={"en": cells.notes["en"],
                              "es": cells.notes["es"] + " Las librerías de red."})
    messages = _messages(make_talk, body, "es")
    assert any("'factoría': say 'fábrica de bucles'" in m for m in messages)
    assert any("'librerías': say 'biblioteca'" in m for m in messages)
    assert _messages(make_talk, body, "en") == []


def test_the_glossary_flags_handles_translated_as_handlers(make_talk, cells):
    body = cells.slide(body=cells.text("en", "- **Handles**: TCP")
                       + cells.text("es", "- **Handles** (manejadores): TCP"))
    assert any("glossary" in m for m in _messages(make_talk, body, "es"))


def test_the_glossary_leaves_code_alone(make_talk, cells):
    listing = "```python\nfactoría = 1\n```\n\nY `núcleo` en línea."
    body = cells.slide(body=cells.text("en", listing) + cells.text("es", listing)
                       + cells.code("factoria = 'factoría'"))
    assert _messages(make_talk, body, "es") == []


def test_a_malformed_glossary_is_refused(tmp_path):
    bad = tmp_path / "glossary.toml"
    bad.write_text('[[term]]\nuse = "biblioteca"\n')
    with pytest.raises(ValueError, match="term 1 needs 'use'"):
        load_glossary(bad)
    bad.write_text('[[term]]\nuse = "x"\navoid = ["(unclosed"]\n')
    with pytest.raises(ValueError, match="bad pattern"):
        load_glossary(bad)


def test_the_real_glossary_has_the_reviewed_terms():
    uses = {term.use.split()[0] for term in load_glossary()}
    assert {"fábrica", "biblioteca", "kernel", "handle"} <= uses


def test_a_stage_cue_read_aloud_is_flagged_and_a_bracketed_one_is_not(make_talk, cells):
    spoken = {"en": "That is all. Thank the organisers and take questions now, please.",
              "es": "Eso es todo. Da las gracias a la organización y abre el turno."}
    bracketed = {"en": "That is all, thank you very much. [Thank the organisers; take questions.]",
                 "es": "Eso es todo, muchas gracias. [Da las gracias a la organización.]"}
    for lang in ("en", "es"):
        flagged = _messages(make_talk, cells.slide(notes=spoken), lang)
        assert flagged and all("stage direction" in m for m in flagged), lang
        assert _messages(make_talk, cells.slide(notes=bracketed), lang) == [], lang
