"""Arrow work on threads (`claims_audit.threads`): results in order, whatever the threads."""

from __future__ import annotations

import pyarrow as pa
import pytest

from claims_audit.threads import ordered_ahead, thread_count


@pytest.fixture(params=[1, 3])
def threads(request):
    before = pa.cpu_count()
    pa.set_cpu_count(request.param)
    yield request.param
    pa.set_cpu_count(before)


def test_thread_count_is_arrows(threads):
    assert thread_count() == threads


def test_ordered_ahead_keeps_the_order_and_holds_a_window(threads):
    started = []

    def work(x):
        started.append(x)
        return -x

    seen = []
    for value in ordered_ahead(work, range(20)):
        seen.append(value)
        assert len(started) <= len(seen) + threads  # never more than the window ahead
    assert seen == [-x for x in range(20)]


def test_an_error_in_a_thread_reaches_the_caller(threads):
    def work(x):
        if x == 5:
            raise ValueError("five")
        return x

    with pytest.raises(ValueError, match="five"):
        list(ordered_ahead(work, range(10)))


@pytest.mark.parametrize("threads", [4], indirect=True)
def test_ordered_ahead_computes_at_most_ahead_items_beyond_the_caller(threads):
    started = []

    def work(x):
        started.append(x)
        return x

    seen = []
    for value in ordered_ahead(work, range(12), ahead=1):
        seen.append(value)
        assert len(started) <= len(seen) + 1  # one ahead, whatever the threads
    assert seen == list(range(12))
