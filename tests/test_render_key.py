"""The key that lets a rerun keep the report it already made (pipelines/cache.py)."""
import numpy as np
import pandas as pd

from pipelines.cache import frame_digest, render_key, render_version


def test_digest_sees_blank_versus_zero_order_and_columns():
    base = pd.DataFrame({"code": ["a", "b"], "value": [1.0, np.nan]})
    assert frame_digest(base) == frame_digest(base.copy())
    assert frame_digest(base) != frame_digest(base.assign(value=[1.0, 0.0]))  # blank is not 0
    assert frame_digest(base) != frame_digest(base.iloc[::-1])
    assert frame_digest(base) != frame_digest(base.rename(columns={"value": "v"}))
    assert frame_digest(None) == "none"


def test_digest_of_mixed_columns():
    mixed = pd.DataFrame({"value": [1, "x", None, 2.5]}, dtype=object)
    assert frame_digest(mixed) == frame_digest(mixed.copy())
    assert frame_digest(mixed) != frame_digest(mixed.assign(value=[1, "y", None, 2.5]))


def test_key_depends_on_every_part_and_the_code():
    assert render_key("a", "b") != render_key("a", "c")
    assert len(render_version()) == 16
