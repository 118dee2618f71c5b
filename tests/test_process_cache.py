"""shopcrm.cache.ProcessCache: the short in-process cache of the policy and the calendar."""

from shopcrm import cache as cache_module
from shopcrm.cache import ProcessCache


def test_a_value_is_kept_for_its_seconds_then_read_again(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    loads = []
    cache = ProcessCache(30)

    def load():
        loads.append(1)
        return len(loads)

    assert cache.get("policy", load) == 1
    clock[0] += 29
    assert cache.get("policy", load) == 1
    clock[0] += 2
    assert cache.get("policy", load) == 2
    cache.clear()
    assert cache.get("policy", load) == 3


def test_it_never_grows_past_its_bound(monkeypatch):
    """A worker that runs for weeks asks for ever new holiday ranges."""
    clock = [0.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    cache = ProcessCache(30, max_entries=10)
    for day in range(100):
        clock[0] += 5  # the older entries expire as the days go by
        cache.get(("holidays", day), lambda day=day: {day})
        assert len(cache) <= 10
    for key in range(100, 125):  # none expired: it starts afresh rather than grow
        cache.get(key, lambda: None)
        assert len(cache) <= 10
    assert cache.get(124, lambda: "loaded again") is None  # the latest is still kept
