"""``common.collector.collector_paused``: the cyclic collector is off inside the block and
as it was after it, whatever the block does."""

from __future__ import annotations

import gc

import pytest

from common.collector import collector_paused


def test_the_collector_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still off, and the outer block turns it on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_in_the_block_still_turns_it_on_and_goes_on():
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_garbage_made_in_the_block_is_collected_after():
    class Cycle:
        pass

    with collector_paused():
        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        del a, b
    assert gc.collect() >= 2  # the cycle, left for the collector once it is on again
