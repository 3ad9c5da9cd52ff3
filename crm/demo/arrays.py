"""Vectorised building blocks of the demo data: columns assembled with numpy and pyarrow from
random indices into small pools of values, never row by row."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm.common.names import ascii_fold
from crm.demo.errors import DemoError


def seconds(moment: datetime) -> int:
    return calendar.timegm(moment.timetuple())


def slug(text: str) -> str:
    """Lower-case ASCII for e-mail local parts, user names and domains."""
    return re.sub(r"[^a-z0-9-]", "", ascii_fold(text).lower().replace(" ", "-")).strip("-")


def join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def when(mask: np.ndarray, value: pa.Array | str, other: pa.Array | str = "") -> pa.Array:
    return pc.if_else(pa.array(mask), value, other)


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = (seconds.astype(np.int64) * 1_000_000_000).view("datetime64[ns]")
    if valid is None:
        return pa.array(values)
    return pa.array(values, mask=~valid)


def ids(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = values.astype(np.int64)
    return pa.array(values) if valid is None else pa.array(values, mask=~valid)


def frame(columns: dict[str, pa.Array | np.ndarray]) -> pd.DataFrame:
    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v)
                      for k, v in columns.items()})
    # Nullable integers stay integers (a float column would not load into PostgreSQL).
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def skewed(rng: np.random.Generator, sizes: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Indices below `sizes`, favouring small ones when power > 1."""
    index = (rng.random(len(sizes)) ** power * sizes).astype(np.int64)
    return np.minimum(index, sizes - 1)


def weighted(rng: np.random.Generator, n: int, weights: Sequence[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


class Pool:
    """Groups of values (one group per locale, country, department...) in one arrow array."""

    def __init__(self, groups: Sequence[Sequence[Any]], slugs: bool = False) -> None:
        self.sizes = np.array([len(g) for g in groups], dtype=np.int64)
        if (self.sizes == 0).any():
            raise DemoError("A demo data pool is empty.")
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        flat = [value for group in groups for value in group]
        self.values = pa.array(flat)
        self.slugs = pa.array([slug(v) or "x" for v in flat], pa.string()) if slugs else None

    def pick(self, rng: np.random.Generator, group: np.ndarray, power: float = 1.0) -> np.ndarray:
        return self.offsets[group] + skewed(rng, self.sizes[group], power)

    def take(self, index: np.ndarray) -> pa.Array:
        return self.values.take(pa.array(index))

    def take_slug(self, index: np.ndarray) -> pa.Array:
        assert self.slugs is not None
        return self.slugs.take(pa.array(index))


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
