"""Does the lock agree with what it locks, and with what is installed?

    python requirements/check_lock.py sources     # every *.in / pyproject pin is locked at that version
    python requirements/check_lock.py installed LOCK...   # this interpreter's packages == the locks, together

Standard library only: `make` runs the first check with the system Python before any venv exists, so a lock that
no longer matches pyproject.toml stops the install at once, naming the packages, instead of installing something
else. The second is what the drift test runs inside each venv.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Which lock holds the pins of which source. pyproject's test extra is installed too, so it is checked too.
LOCK_OF_SOURCE = {
    REPO / "pyproject.toml": HERE / "app.lock",
    HERE / "build.in": HERE / "app.lock",
    HERE / "llm.in": HERE / "llm.lock",
    HERE / "llm-weights.in": HERE / "llm-weights.lock",
}
# Installed in a venv but never from a lock: the project itself (editable).
NOT_LOCKED = {"trialguard"}
_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:(==|>=|<=|~=|!=|<|>)\s*([^;\s]+))?")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """`2.13.0+cpu` satisfies `==2.13.0` (PEP 440: a pin without a local label matches any local label)."""
    return version.split("+", 1)[0]


def read_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _LOCK_LINE.match(line):
            pins[canonical(match[1])] = match[2]
    if not pins:
        raise SystemExit(f"{path}: no 'name==version' lines; regenerate it with `make lock`")
    return pins


def source_requirements(path: Path) -> list[str]:
    if path.suffix == ".toml":
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        return [*project["dependencies"], *project.get("optional-dependencies", {}).get("test", [])]
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def source_problems() -> list[str]:
    problems = []
    for source, lock_path in LOCK_OF_SOURCE.items():
        if not lock_path.exists():
            problems.append(f"{lock_path.name} is missing (it locks {source.name}); run `make lock`")
            continue
        lock = read_lock(lock_path)
        for requirement in source_requirements(source):
            match = _REQUIREMENT.match(requirement)
            if not match:
                problems.append(f"{source.name}: cannot read the requirement {requirement!r}")
                continue
            name, operator, version = canonical(match[1]), match[2], match[3]
            if name not in lock:
                problems.append(f"{name}: in {source.name} but not in {lock_path.name}")
            elif operator == "==" and public(lock[name]) != version and lock[name] != version:
                problems.append(f"{name}: {source.name} pins {version}, {lock_path.name} has {lock[name]}")
    return problems


def installed_problems(lock_paths: list[Path]) -> list[str]:
    lock = {name: version for path in lock_paths for name, version in read_lock(path).items()}
    names = " + ".join(path.name for path in lock_paths)
    installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    problems = []
    for name in sorted(lock.keys() | installed.keys()):
        if name in NOT_LOCKED:
            continue
        want, have = lock.get(name), installed.get(name)
        if want is None:
            problems.append(f"{name} {have}: installed but not in {names}")
        elif have is None:
            problems.append(f"{name}: {names} has {want}, not installed")
        elif have != want:
            problems.append(f"{name}: installed {have}, {names} has {want}")
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["sources"]:
        problems, what = source_problems(), "the lock files do not match their sources"
        fix = "run `make lock` and commit the locks with the change"
    elif argv[:1] == ["installed"] and len(argv) >= 2:
        problems, what = installed_problems([Path(a) for a in argv[1:]]), f"{sys.prefix} differs from {' + '.join(argv[1:])}"
        fix = "remove the venv and run `make install` (it installs from the lock)"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if problems:
        print(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems) + f"\n{fix}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
