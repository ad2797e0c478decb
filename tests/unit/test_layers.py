"""The house keeps its shape: imports go one way between the layers (entrypoints → services →
adapters → models → domain) and never round a circle. The contracts are in pyproject.toml
([tool.importlinter]); docs/architecture.md draws them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_keeps_the_layers_and_no_module_imports_round_a_circle():
    result = lint_imports()

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in result.stdout  # all four ran, over lims
