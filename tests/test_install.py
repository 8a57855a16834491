"""scripts/uv_install.py: uv installs from where pip's settings say, or leaves it to pip."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from app.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "uv_install.py"
spec = importlib.util.spec_from_file_location("uv_install", SCRIPT)
assert spec is not None and spec.loader is not None
uv_install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(uv_install)


def _options(lines: list[str]) -> list[str] | None:
    return uv_install.uv_options(uv_install.read_config(lines))


def test_indexes_wheel_folders_and_constraints_are_handed_to_uv() -> None:
    lines = [
        "global.cert='/etc/ssl/certs/ca-certificates.crt'",
        "global.constraint='/etc/pip/constraints.txt'",
        "global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'",
        "global.find-links='/opt/old'",
        'global.index-url="https://mirror.example/simple"',
        ":env:.find-links='/opt/wheels'",
        ":env:.default-timeout='180'",
    ]
    options = _options(lines)
    assert options is not None
    pairs = list(zip(options[::2], options[1::2], strict=True))
    assert pairs == [
        ("--index-strategy", "unsafe-best-match"),  # pip's: the best version of any index
        ("--constraint", "/etc/pip/constraints.txt"),
        ("--extra-index-url", "file:///opt/a/simple"),
        ("--extra-index-url", "file:///opt/b/simple"),
        ("--find-links", "/opt/wheels"),  # the environment's, over the file's
        ("--index-url", "https://mirror.example/simple"),
    ]


def test_a_setting_uv_would_ignore_leaves_the_install_to_pip() -> None:
    for line in ("global.proxy='http://proxy:3128'", "install.no-binary=':all:'"):
        assert _options(["global.find-links='/opt/wheels'", line]) is None, line
    assert _options(["install.no-index='true'"]) == [
        "--index-strategy",
        "unsafe-best-match",
        "--no-index",
    ]
    # An option of another command's section is not the install's.
    assert _options(["freeze.exclude='pip'"]) == ["--index-strategy", "unsafe-best-match"]


def test_the_script_refuses_before_installing_when_pip_has_an_unknown_setting(
    tmp_path: Path,
) -> None:
    """Run as setup-venv.sh runs it: with a proxy in pip's file it exits 3 and calls no uv
    (a missing package would be an error of uv's, not exit 3)."""
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nproxy = http://127.0.0.1:9\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = str(config)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "no-such-package-kdtcn"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 3, done.stderr
    assert "pip installs" in done.stderr
