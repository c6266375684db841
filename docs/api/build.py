"""Render the API reference to one Markdown file: ``python docs/api/build.py API.md``.

Runs ``sphinx-build -b markdown`` on this folder in a temporary directory and copies
the single page it writes to the given path. ``PYTHONHASHSEED`` is fixed so that any
set or dictionary shown in the output has the same order on every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIRECTORY = Path(__file__).resolve().parent


def build_api_markdown(output: Path) -> None:
    """Build the Markdown API reference and write it to ``output``.

    Raises:
        subprocess.CalledProcessError: when Sphinx fails or warns (``-W``).
    """
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as build_directory:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sphinx",
                "-b",
                "markdown",
                "-E",
                "-q",
                "-W",
                "--keep-going",
                "-d",
                str(Path(build_directory) / "doctrees"),
                str(SOURCE_DIRECTORY),
                build_directory,
            ],
            check=True,
            env=environment,
        )
        shutil.copyfile(Path(build_directory) / "index.md", output)


def main() -> int:
    """Build the reference into the path given as the only argument."""
    if len(sys.argv) != 2:
        print("usage: python docs/api/build.py OUTPUT.md", file=sys.stderr)
        return 2
    build_api_markdown(Path(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
