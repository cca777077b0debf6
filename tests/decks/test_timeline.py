"""The talks' timing: the timeline of a deck, its slot, its checkpoints, ``make rehearse``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import nbformat
import pytest
import rehearse

from decks.lint import lint
from decks.source import DeckSourceError, split
from decks.timeline import (
    CHECKPOINT_EVERY_MINUTES,
    CODE_BLOCK_SECONDS,
    PACE_WPM,
    UNMEASURED_DEMO_SECONDS,
    count_words,
    demo_seconds,
    format_timeline,
    measurements,
    spoken_text,
    timeline,
)


def _with_slot(talk, slot):
    """Give a throwaway talk's header a slot (the conftest header has none)."""
    text = talk.source.read_text()
    talk.source.write_text(text.replace("  original: en\n", f"  original: en\n  slot: {slot}\n", 1))
    return talk


def _words(n: int, lang: str) -> str:
    word = {"en": "the", "es": "la"}[lang]
    return " ".join([word] * n)


def _notes(n_en: int, n_es: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    extra = extra or {}
    return {"en": _words(n_en, "en") + extra.get("en", ""),
            "es": _words(n_es, "es") + extra.get("es", "")}


def _stamp(cell, seconds: float) -> None:
    began = datetime(2026, 1, 1, tzinfo=UTC)
    cell.metadata["execution"] = {
        "iopub.execute_input": began.isoformat().replace("+00:00", "Z"),
        "shell.execute_reply": (began + timedelta(seconds=seconds)).isoformat()
                               .replace("+00:00", "Z")}


def test_stage_directions_and_link_targets_are_not_spoken():
    notes = "Run it now. [pause; about minute 3] See [the PEP](https://peps.python.org/pep-3156/)."
    spoken = spoken_text(notes)
    assert "pause" not in spoken and "minute" not in spoken and "https" not in spoken
    assert count_words(spoken) == count_words("Run it now. See the PEP.") == 6


def test_words_count_as_said():
    assert count_words("Python 3.11 can't run uv_run's code, ¿verdad?") == 7


def test_speech_code_blocks_and_unmeasured_demos_add_up(make_talk, cells):
    body = (cells.slide(notes=_notes(140, 150))
            + cells.slide("Code", "Código", body=cells.code("x = 1") + cells.code("y = 2"),
                          notes=_notes(70, 75)))
    for lang in ("en", "es"):
        timed = timeline(split(make_talk(body))[lang])
        first, second = timed.slides
        assert first.words == {"en": 140, "es": 150}[lang]
        assert first.seconds == pytest.approx(first.words / PACE_WPM[lang] * 60)
        assert first.code_blocks == 0 and first.demos == 0
        assert second.start == pytest.approx(first.end)
        assert second.code_blocks == 2 and not second.measured
        assert second.demos == 2 * UNMEASURED_DEMO_SECONDS
        assert timed.total == pytest.approx(
            first.seconds + 30 + 2 * CODE_BLOCK_SECONDS + 2 * UNMEASURED_DEMO_SECONDS)


def test_a_fenced_listing_is_a_code_block_and_skipped_text_is_not(make_talk, cells):
    listing = "```python\nprint('2013')\n```"
    body = cells.slide(body=cells.text("en", listing) + cells.text("es", listing)
                       + cells.text("en", listing, "skip") + cells.text("es", listing, "skip"))
    assert timeline(split(make_talk(body))["en"]).slides[0].code_blocks == 1


def test_measured_demo_times_come_from_nbclients_timestamps(make_talk, cells):
    nb = split(make_talk(cells.slide(body=cells.code("import time; time.sleep(2)"))))["en"]
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert demo_seconds(cell) is None
    _stamp(cell, 2.5)
    assert demo_seconds(cell) == pytest.approx(2.5)
    timed = timeline(nb)
    assert timed.measured and timed.slides[0].demos == pytest.approx(2.5)
    assert measurements(nb) == {cell.source: pytest.approx(2.5)}


def test_times_measured_elsewhere_are_used_for_a_notebook_not_run(make_talk, cells):
    nb = split(make_talk(cells.slide(body=cells.code("x = 1"))))["es"]
    timed = timeline(nb, {"x = 1": 7.0})
    assert timed.measured and timed.slides[0].demos == 7.0


def test_the_slot_is_checked_in_every_language(make_talk, cells):
    # 160 words: about 69 s in English, 64 s in Spanish, over a one-minute slot in both
    talk = _with_slot(make_talk(cells.slide(notes=_notes(160, 160))), 1)
    for lang, nb in split(talk).items():
        problems = [p for p in lint(nb) if "slot" in p.message]
        assert len(problems) == 1, lang
        assert "over its slot of 1 minutes" in problems[0].message
        assert "OVER by" in format_timeline(timeline(nb))


def test_a_talk_within_its_slot_passes(make_talk, cells):
    talk = _with_slot(make_talk(cells.slide(notes=_notes(100, 100))), 1)
    for nb in split(talk).values():
        assert lint(nb) == []
        assert "to spare" in format_timeline(timeline(nb))


@pytest.mark.parametrize("slot", ["0", "-5", "'half an hour'", "true"])
def test_a_bad_slot_is_refused(make_talk, cells, slot):
    with pytest.raises(DeckSourceError, match="deck.slot"):
        split(_with_slot(make_talk(cells.slide()), slot))


def _checkpointed(cells, minute_en: int, minute_es: int) -> str:
    """Nine slides of about a minute each; the fifth announces a checkpoint."""
    body = ""
    for number in range(9):
        extra = ({"en": f" [about minute {minute_en}]", "es": f" [hacia el minuto {minute_es}]"}
                 if number == 4 else None)
        body += cells.slide(notes=_notes(140, 150, extra))
    return body


def test_a_checkpoint_that_agrees_with_the_timeline_passes(make_talk, cells):
    talk = _with_slot(make_talk(_checkpointed(cells, 4, 5)), 10)
    for nb in split(talk).values():
        assert lint(nb) == []
        assert timeline(nb).slides[4].checkpoints in ((4,), (5,))


def test_a_checkpoint_far_from_the_timeline_is_flagged(make_talk, cells):
    talk = _with_slot(make_talk(_checkpointed(cells, 8, 1)), 10)
    for lang, nb in split(talk).items():
        messages = [p.message for p in lint(nb)]
        minute = {"en": 8, "es": 1}[lang]
        assert messages == [f"the notes say minute {minute} but the slide runs from 4:00 "
                            f"to 5:00"], lang


def test_a_long_talk_needs_checkpoints(make_talk, cells):
    minutes = CHECKPOINT_EVERY_MINUTES + 2
    body = "".join(cells.slide(notes=_notes(140, 150)) for _ in range(minutes))
    talk = _with_slot(make_talk(body), minutes + 1)
    for nb in split(talk).values():
        messages = [p.message for p in lint(nb)]
        assert len(messages) == 1 and "without a time checkpoint" in messages[0]


def test_rehearse_reuses_a_build_of_the_same_code_only(make_talk, cells, tmp_path):
    talk = make_talk(cells.slide(body=cells.code("x = 1")))
    nb = split(talk)["en"]
    built = split(talk)["en"]
    _stamp(next(c for c in built.cells if c.cell_type == "code"), 4.0)
    out = tmp_path / "site"
    (out / talk.name).mkdir(parents=True)
    nbformat.write(built, out / talk.name / f"{talk.name}.en.ipynb")
    assert rehearse._built_measurements(talk, "en", nb, out) == {"x = 1": 4.0}
    next(c for c in nb.cells if c.cell_type == "code").source = "x = 2"
    assert rehearse._built_measurements(talk, "en", nb, out) is None


@pytest.mark.parametrize("argv", [["--talk", "no-such-talk"], ["--lang", "fr"]])
def test_rehearse_refuses_an_unknown_talk_or_language(argv, capsys):
    assert rehearse.main([*argv, "--no-run"]) == 2
    assert "rehearse:" in capsys.readouterr().err


def test_the_real_talks_declare_their_slots(talk, language_notebooks):
    slots = {"fosdem": 25, "pycones": 35}
    for nb in language_notebooks(talk).values():
        assert nb.metadata["deck"]["slot"] == slots[talk.name]


def test_rehearse_prints_every_slide_of_a_real_deck(capsys):
    status = rehearse.main(["--talk", "fosdem", "--lang", "en", "--no-run",
                            "--out", "/nonexistent"])
    printed = capsys.readouterr().out
    assert "slot 25 minutes:" in printed and printed.count("\n") > 20
    assert status == (1 if "OVER" in printed or "checkpoint:" in printed else 0)


def test_the_build_times_the_demos_it_ran(deck, built_site):
    talk, lang = deck
    nb = nbformat.read(built_site.path(talk, lang, "ipynb"), as_version=4)
    timed = timeline(nb)
    assert timed.measured, "the built notebook lacks the execution timestamps of a cell"
    stamp = json.loads((built_site.state / "stamps" / f"{talk}.{lang}.json").read_text())
    assert not [p for p in stamp["problems"] if "slot" in p]
