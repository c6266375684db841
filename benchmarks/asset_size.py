"""Size of the Lambda code asset, zipped as the CDK CLI uploads it.

Synthesizes the reference stack into a temporary directory, finds the asset of the
drift functions through the asset manifest and zips it with deflate, as the CDK
CLI does for a directory asset. Usage: ``python benchmarks/asset_size.py``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SYNTH_SCRIPT = Path(__file__).resolve().parent / "synth_one.py"
HANDLERS = ("drift_runtime.update_handler.handler", "drift_runtime.validator.handler")
TARGET_BYTES = 100 * 1024


def function_asset_directory(cloud_assembly: Path) -> Path:
    """Return the asset directory shared by the two drift functions."""
    template = json.loads((cloud_assembly / "Reference.template.json").read_text())
    assets = json.loads((cloud_assembly / "Reference.assets.json").read_text())
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") in HANDLERS
    }
    if len(keys) != 1:
        raise RuntimeError(f"expected one asset for both functions, found {keys}")
    [key] = keys
    for asset in assets["files"].values():
        for destination in asset["destinations"].values():
            if destination["objectKey"] == key:
                return cloud_assembly / str(asset["source"]["path"])
    raise RuntimeError(f"asset {key} not found in the asset manifest")


def zipped_size(directory: Path) -> tuple[int, int, int]:
    """Return the zip size, the unzipped size and the file count of ``directory``."""
    buffer = io.BytesIO()
    unzipped = 0
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
                unzipped += path.stat().st_size
                count += 1
    return len(buffer.getvalue()), unzipped, count


def main() -> int:
    """Synthesize, zip the asset and print its size and contents."""
    with tempfile.TemporaryDirectory() as output:
        subprocess.run(
            [sys.executable, str(SYNTH_SCRIPT), "reference", output],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        directory = function_asset_directory(Path(output))
        size, unzipped, count = zipped_size(directory)
        top_level = sorted(path.name for path in directory.iterdir())
    print("| files | unzipped (bytes) | zipped (bytes) | zipped (KiB) |")
    print("|---|---|---|---|")
    print(f"| {count} | {unzipped} | {size} | {size / 1024:.1f} |")
    print(f"\ntop-level entries of the asset: {top_level}")
    print(f"boto3 bundled: {'boto3' in top_level}")
    verdict = "meets" if size < TARGET_BYTES else "misses"
    print(f"{verdict} the target of < {TARGET_BYTES // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
