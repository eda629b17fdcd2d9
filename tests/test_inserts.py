"""Multi-row statements come in a handful of shapes per table, whatever the number of rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from postroom.records.inserts import MAX_ROWS, _chunk_sizes, _native


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=2000))
def test_chunks_cover_every_row_in_powers_of_two(count: int, most: int) -> None:
    sizes = _chunk_sizes(count, most)
    assert sum(sizes) == count
    assert all(size & (size - 1) == 0 and size <= min(most, MAX_ROWS) for size in sizes)
    top = max(sizes, default=0)
    below_cap = [size for size in sizes if size != top]
    assert len(set(below_cap)) == len(below_cap)  # full chunks, then at most one of each smaller size


def test_placeholders_in_the_drivers_own_style() -> None:
    sql = "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)"
    assert _native(sql, "sqlite") == "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
    assert _native(sql, "postgresql") == "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
