"""The 2013 listing is kept as text, and really is not runnable today."""

from __future__ import annotations

import pytest

from tulip_echo import history


def test_listing_is_marked_as_not_runnable():
    assert history.TULIP_2013.splitlines()[0].startswith("# NOT RUNNABLE TODAY")
    assert "NOT RUNNABLE TODAY" in history.__doc__


def test_listing_does_not_even_compile_today():
    with pytest.raises(SyntaxError) as caught:
        compile(history.TULIP_2013, "tulip_2013.py", "exec")
    assert "tulip.async(" in (caught.value.text or "")


@pytest.mark.parametrize("text,why,instead", history.WHY_NOT_RUNNABLE,
                         ids=[entry[0] for entry in history.WHY_NOT_RUNNABLE])
def test_every_reason_points_at_a_line_of_the_listing(text, why, instead):
    assert text in history.TULIP_2013
    assert why and instead


def test_the_apis_it_used_are_gone():
    import asyncio
    assert not hasattr(asyncio, "coroutine")          # removed in 3.11
    assert not hasattr(asyncio.AbstractEventLoop, "start_serving")
