"""What gets installed: ranges in pyproject.toml, and the lock files `make` installs from."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
TEST = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]]
EVERY_RANGE = (
    RUNTIME
    + TEST
    + [
        Requirement(r)
        for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()
        if extra != "test"
        for r in reqs
    ]
)

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def read_lock(name: str) -> dict[str, tuple[Version, list[str]]]:
    """Each pinned package of a lock file: its version and the hashes that follow it."""
    pins: dict[str, tuple[Version, list[str]]] = {}
    current: list[str] | None = None
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = []
            pins[canonicalize_name(match["name"])] = (Version(match["version"]), current)
        elif current is not None and (hashed := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            current.append(hashed[1])
    return pins


def bounds(requirement: Requirement) -> tuple[Version, Version]:
    lower = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    upper = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
    assert lower and upper, f"{requirement} needs both a lower and an upper bound"
    return min(lower), min(upper)


@pytest.mark.parametrize("requirement", EVERY_RANGE, ids=str)
def test_no_range_crosses_a_major_version(requirement: Requirement) -> None:
    lower, upper = bounds(requirement)
    # Below 1.0 a minor release may break things, so it counts as a major one.
    allowed = Version(f"0.{lower.minor + 1}" if lower.major == 0 else f"{lower.major + 1}")
    assert upper <= allowed, f"{requirement} allows more than one major version"


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.lock", RUNTIME), ("requirements-test.lock", RUNTIME + TEST)],
)
def test_the_lock_pins_every_dependency_within_its_range_with_hashes(
    lock: str, requirements: list[Requirement]
) -> None:
    pins = read_lock(lock)
    for requirement in requirements:
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned, f"{requirement.name} is not in {lock}: run `make lock`"
        version, _ = pinned
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement}: run `make lock`"
        )
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"{lock} pins without a hash: {unhashed}"


def test_the_runtime_lock_runs_what_the_tests_ran() -> None:
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    differ = {
        name: (str(version), str(test[name][0]) if name in test else None)
        for name, (version, _) in runtime.items()
        if name not in test or test[name][0] != version
    }
    assert not differ, f"the two locks disagree (runtime, test): {differ}"
