"""The wiring: overlaps between kinds, mention ids, rows."""

import pytest

from pipeline.process import drop_overlapping, mention_id
from pipeline.records import Mention


def _m(start, end, kind="QUANTITY"):
    return Mention(kind=kind, start=start, end=end, text="x" * (end - start), rule="t.x")


@pytest.mark.parametrize("quantity, dates, kept", [
    ((10, 15), [], True),
    ((10, 15), [(0, 10)], True),           # touching is not overlapping
    ((10, 15), [(15, 20)], True),
    ((10, 15), [(12, 13)], False),         # 2023年前11个月: the duration is inside the date
    ((10, 15), [(0, 11)], False),
    ((10, 15), [(14, 30)], False),
    ((10, 15), [(0, 30)], False),
    ((10, 15), [(0, 2), (3, 5), (20, 30)], True),
    ((10, 15), [(0, 12), (1, 3)], False),  # a long early date still covers it
])
def test_a_quantity_overlapping_a_date_is_dropped(quantity, dates, kept):
    q = _m(*quantity)
    assert drop_overlapping([q], [_m(s, e, "DATE") for s, e in dates]) == ([q] if kept else [])


def test_mention_id_is_stable_and_starts_with_a_letter():
    a = mention_id("abc", "DATE", 3, 9)
    assert a == mention_id("abc", "DATE", 3, 9)
    assert a[0].isalpha() and a != mention_id("abc", "QUANTITY", 3, 9) != mention_id("abd", "DATE", 3, 9)
