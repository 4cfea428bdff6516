"""What some tests need beyond pip: the shared test data beside the checkout, and Debian programs.

Each function returns what was asked for, or skips the calling test with a reason that names what
is missing and how to get it, so that `make test` on a fresh clone skips instead of failing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
INSTALL = "`make test` installs it when run as root or with sudo"


def shared_data(relative: str) -> Path:
    """The folder `../shared/<relative>` beside the checkout, or skip: a public clone has no ../shared."""
    folder = (SHARED / relative).resolve()
    if not folder.is_dir() or not any(folder.iterdir()):
        pytest.skip(f"needs the shared test data {SHARED / relative}, which is not beside this checkout")
    return folder


def program(name: str, package: str) -> str:
    """The path of the program `name` (a name on PATH or a path), or skip naming its Debian package."""
    found = shutil.which(name)
    if not found:
        pytest.skip(f"needs the program {name!r} (Debian's {package}); {INSTALL}")
    return found


def debian_file(path: Path, package: str) -> Path:
    """A file that a Debian package installs, or skip naming the package."""
    if not path.is_file():
        pytest.skip(f"needs {path} (Debian's {package}); {INSTALL}")
    return path
