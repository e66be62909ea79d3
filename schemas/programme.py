"""What the programme knows, loaded once for a run and handed down: the indicator catalogue,
the unit registry and the rules' thresholds. `pipelines/settings.py` says which files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.catalogue import Catalogue, load_catalogue
from schemas.checks import Checks, load_checks
from schemas.units import Registry, load_registry


@dataclass(frozen=True)
class Programme:
    catalogue: Catalogue
    registry: Registry
    checks: Checks


def load_programme(units_file: Path | str | None = None,
                   checks_file: Path | str | None = None) -> Programme:
    """Hải Phòng's programme, on another units file or thresholds file when given (each
    loader keeps what it read: a second call costs nothing)."""
    return Programme(catalogue=load_catalogue(), registry=load_registry(units_file=units_file),
                     checks=load_checks(checks_file))
