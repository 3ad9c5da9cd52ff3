"""The one clock: real time, or a fixed moment inside `fixed_at` (the demo's past)."""

from __future__ import annotations

import threading
from datetime import datetime

from crm.common import clock


def test_now_is_fixed_inside_fixed_at_only_and_only_in_this_thread():
    moment = datetime(2025, 3, 4, 5, 6, 7, 890)
    seen_elsewhere: list[datetime] = []
    with clock.fixed_at(moment):
        assert clock.now() == moment.replace(microsecond=0)
        other = threading.Thread(target=lambda: seen_elsewhere.append(clock.now()))
        other.start()
        other.join()
    assert seen_elsewhere[0] > moment
    assert clock.now() > moment and clock.now().microsecond == 0
