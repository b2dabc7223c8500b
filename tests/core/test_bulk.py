"""core.bulk.paused_gc: no cyclic collection inside, the collector as it was after."""

from __future__ import annotations

import gc

import pytest

from core.bulk import paused_gc


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: the outer one turns it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_error_and_as_a_decorator() -> None:
    @paused_gc()
    def fails() -> None:
        assert not gc.isenabled()
        raise ValueError("planned failure")

    with pytest.raises(ValueError, match="planned failure"):
        fails()
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
