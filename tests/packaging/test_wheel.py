"""The built wheel installs on its own and synthesizes the reference stack.

The wheel is installed, not editable, into a new virtual environment, and the
reference app is copied to a folder outside the repository, so the stack can only
find the Lambda code through the installed package. pip may download aws-cdk-lib and
the other dependencies from the package index on the first run; later runs use
pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[2]
RUNTIME_SOURCE = REPOSITORY / "src" / "drift_constructs" / "drift_runtime"
REFERENCE_APP_FILES = ("app.py", "reference_stack.py")
HANDLERS = {
    "drift_runtime.update_handler.handler",
    "drift_runtime.validator.handler",
}
INSTALL_TIMEOUT_SECONDS = 600
SYNTH_TIMEOUT_SECONDS = 300


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{' '.join(command)} failed with exit code {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result  # type: ignore[no-any-return]


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / "python"


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist and, from it, the wheel, as ``python -m build`` does."""
    output = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(output), str(REPOSITORY)])
    wheels = sorted(output.glob("*.whl"))
    sdists = sorted(output.glob("*.tar.gz"))
    assert len(wheels) == 1, wheels
    assert len(sdists) == 1, sdists
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_check_passes(distributions: dict[str, Path]) -> None:
    result = _run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(distributions["wheel"]),
            str(distributions["sdist"]),
        ]
    )
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_carries_lambda_code(distributions: dict[str, Path]) -> None:
    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        names = set(wheel.namelist())
    expected_runtime = {
        f"drift_constructs/drift_runtime/{path.name}"
        for path in RUNTIME_SOURCE.glob("*.py")
    }
    assert "drift_constructs/drift_runtime/validator.py" in expected_runtime
    assert expected_runtime <= names, sorted(expected_runtime - names)
    assert "drift_constructs/py.typed" in names
    assert "drift_constructs/cli.py" in names
    assert not [name for name in names if name.startswith("tests/")]
    assert not [name for name in names if name.endswith(".pyc")]


def test_wheel_declares_console_script(distributions: dict[str, Path]) -> None:
    with zipfile.ZipFile(distributions["wheel"]) as wheel:
        entry_points_name = next(
            name for name in wheel.namelist() if name.endswith("entry_points.txt")
        )
        entry_points = wheel.read(entry_points_name).decode()
    assert "drift-constructs = drift_constructs.cli:main" in entry_points


def _function_asset_directories(cloud_assembly: Path) -> dict[str, Path]:
    """Map each Lambda function's logical id to its asset directory in cdk.out."""
    [template_path] = cloud_assembly.glob("*.template.json")
    [assets_path] = cloud_assembly.glob("*.assets.json")
    template = json.loads(template_path.read_text())
    assets = json.loads(assets_path.read_text())
    directory_by_key: dict[str, Path] = {}
    for asset in assets["files"].values():
        for destination in asset["destinations"].values():
            directory_by_key[destination["objectKey"]] = (
                cloud_assembly / asset["source"]["path"]
            )
    directories: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        if properties.get("Handler") in HANDLERS:
            directories[logical_id] = directory_by_key[properties["Code"]["S3Key"]]
    return directories


def test_installed_wheel_synthesizes_reference_stack(
    distributions: dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = _venv_python(venv)
    _run(
        [str(python), "-m", "pip", "install", "--quiet", str(distributions["wheel"])],
        timeout=INSTALL_TIMEOUT_SECONDS,
    )

    app_directory = tmp_path / "app"
    app_directory.mkdir()
    for name in REFERENCE_APP_FILES:
        shutil.copyfile(REPOSITORY / "examples" / name, app_directory / name)
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    environment["CDK_OUTDIR"] = str(tmp_path / "cdk.out")

    located = _run(
        [
            str(python),
            "-c",
            "import drift_constructs; print(drift_constructs.__file__)",
        ],
        cwd=app_directory,
        env=environment,
    )
    package_file = Path(located.stdout.strip()).resolve()
    assert venv.resolve() in package_file.parents, package_file

    _run(
        [str(python), "app.py"],
        cwd=app_directory,
        env=environment,
        timeout=SYNTH_TIMEOUT_SECONDS,
    )

    directories = _function_asset_directories(tmp_path / "cdk.out")
    assert len(directories) == len(HANDLERS), directories
    for logical_id, directory in directories.items():
        assert (directory / "drift_runtime" / "validator.py").is_file(), logical_id
        assert (directory / "drift_runtime" / "update_handler.py").is_file()
        assert not (directory / "cli.py").exists(), logical_id
        assert not (directory / "testing").exists(), logical_id
