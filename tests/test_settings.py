"""Settings that reach libraries through the environment, and `kg/` staying free of `app/`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.settings import PROJECT_ROOT


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pystow_home_comes_from_the_setting_and_nothing_lands_in_the_home_dir(
    tmp_path: Path,
) -> None:
    home, pystow_home = tmp_path / "home", tmp_path / "pystow"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYSTOW_HOME"}
    env |= {"HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT)}
    _run(
        "from pathlib import Path\n"
        "from app.settings import Settings\n"
        f"Settings(pystow_home=Path({str(pystow_home)!r}), "
        f"artifacts_dir=Path({str(tmp_path / 'artifacts')!r}), "
        "database_url='sqlite://').ensure_dirs()\n"
        "import pykeen.models\n",
        env,
    )
    assert (pystow_home / "pykeen").is_dir()
    assert list(home.iterdir()) == []


def test_kg_does_not_import_app() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = _run(
        "import importlib, pkgutil, sys\n"
        "import kg\n"
        "for m in pkgutil.iter_modules(kg.__path__):\n"
        "    importlib.import_module(f'kg.{m.name}')\n"
        "print(sorted(n for n in sys.modules if n == 'app' or n.startswith('app.')))\n",
        env,
    )
    assert out.strip() == "[]"
