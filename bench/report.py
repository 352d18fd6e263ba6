"""What every bench reports: tables built once and rendered by tabulate (text for the console,
Markdown for docs/), and the median over rounds of a repeated measurement.

A bench fills a ``Table`` with formatted cells once; ``text`` and ``markdown`` only render those
cells, so the console and the written document can never disagree.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tabulate import tabulate

T = TypeVar("T")


@dataclass
class Table:
    """A titled table; the first ``labels`` columns are left-aligned, the numbers right."""

    title: str
    headers: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    labels: int = 1

    def add(self, *cells: Any) -> None:
        self.rows.append(cells)

    def text(self) -> str:
        return f"{self.title}\n{self._render('simple_outline')}"

    def markdown(self) -> str:
        return f"## {self.title}\n\n{self._render('github')}"

    def _render(self, fmt: str) -> str:
        align = ["left"] * self.labels + ["right"] * (len(self.headers) - self.labels)
        return tabulate(
            self.rows, self.headers, tablefmt=fmt, colalign=align, disable_numparse=True
        )


def write_markdown(path: Path, heading: str, intro: str, tables: Iterable[Table], end: str) -> None:
    """A Markdown document: its heading, an introduction, the tables, a closing paragraph."""
    parts = [f"# {heading}", intro, *(table.markdown() for table in tables), end]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(parts) + "\n")


def median_over_rounds(
    runs: Iterable[T],
    cell: Callable[[T], Hashable],
    medians: Sequence[str],
    totals: Sequence[str] = (),
) -> list[T]:
    """One run per cell: the fields ``medians`` are the median over the cell's rounds, ``totals``
    their sum, the others those of its first round. Cells keep the order they first appear in.
    """
    groups: dict[Hashable, list[T]] = {}
    for run in runs:
        groups.setdefault(cell(run), []).append(run)
    return [
        dataclasses.replace(
            group[0],  # type: ignore[type-var]
            **{name: statistics.median(getattr(r, name) for r in group) for name in medians},
            **{name: sum(getattr(r, name) for r in group) for name in totals},
        )
        for group in groups.values()
    ]


def p99(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def seconds_of(step: Callable[[], object]) -> float:
    """Wall time of one call."""
    began = time.perf_counter()
    step()
    return time.perf_counter() - began


def append_jsonl(path: Path, *records: dict[str, Any]) -> None:
    """Results accumulate: each run adds its records as lines of ``bench/results/*.jsonl``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
