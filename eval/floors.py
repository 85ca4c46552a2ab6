"""Metric floors as data (eval/floors.yaml), validated on load, and the check against a run's metrics."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from labs.errors import ConfigError

FLOORS_FILE = Path(__file__).with_name("floors.yaml")


class Bound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> "Bound":
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of min or max")
        return self

    def holds(self, value: float) -> bool:
        return value >= self.min if self.min is not None else value <= self.max

    def __str__(self) -> str:
        return f">= {self.min}" if self.min is not None else f"<= {self.max}"


class Floors(RootModel[dict[str, Bound]]):
    @model_validator(mode="after")
    def _keys(self) -> "Floors":
        for key in self.root:
            if key.count(".") != 1:
                raise ValueError(f"floor key {key!r} must be '<suite>.<metric>'")
        return self


def load_floors(path: Path = FLOORS_FILE) -> Floors:
    try:
        return Floors.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: invalid floors file: {exc}") from exc


class FloorCheck(BaseModel):
    key: str
    bound: str
    value: float | None
    ok: bool
    reason: str = ""


def check_floors(floors: Floors, metrics: dict[str, dict[str, float]], ran: set[str]) -> list[FloorCheck]:
    """A floor of a suite that ran but did not report the metric fails: a missing number is not a pass."""
    checks = []
    for key, bound in floors.root.items():
        suite, metric = key.split(".")
        if suite not in ran:
            checks.append(FloorCheck(key=key, bound=str(bound), value=None, ok=True, reason="suite not run"))
            continue
        value = metrics.get(suite, {}).get(metric)
        if value is None:
            checks.append(FloorCheck(key=key, bound=str(bound), value=None, ok=False, reason="metric missing"))
        else:
            checks.append(FloorCheck(key=key, bound=str(bound), value=value, ok=bound.holds(value)))
    return checks
