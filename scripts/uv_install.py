"""Install into the running interpreter's environment with uv, from where its pip would.

scripts/setup-venv.sh runs it with .venv's Python (uv installed there from PyPI first), and
falls back to pip when it fails. It reads `pip config list` (pip's files and PIP_* variables,
as pip itself reads them) and hands uv what decides where packages come from: the index, the
extra indexes, local folders of wheels and constraint files, and pip's TLS bundle (`cert`,
as SSL_CERT_FILE). pip reads every index as equal and takes the best version from any of
them: so does uv with `--index-strategy unsafe-best-match`.

Any other setting that could change what is installed or from where (a proxy, a trusted
host, client certificates, `no-binary`, ...) makes it exit 3 before installing anything,
and the install is pip's: a setting uv would ignore must never change what a clone
installs.

Usage: .venv/bin/python scripts/uv_install.py ARGS...   (ARGS: uv pip install's, e.g. -e .)
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys

# pip's options that only change how pip talks, not what it installs.
HARMLESS = frozenset(
    {
        "cert",
        "default-timeout",
        "timeout",
        "retries",
        "disable-pip-version-check",
        "progress-bar",
        "quiet",
        "verbose",
        "no-cache-dir",
        "cache-dir",
        "no-input",
        "root-user-action",
        "config-file",
        "no-color",
        "no-python-version-warning",
        "require-virtualenv",
    }
)
MULTI = {  # pip option -> uv option; each value of a whitespace-separated list
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
}
# Sources in pip's order of precedence for one option: the environment, then the install
# command's section, then the global one.
PRECEDENCE = (":env:", "install", "global")


def read_config(lines: list[str]) -> dict[str, dict[str, str]]:
    """`pip config list` lines (`section.option='value'`) as {option: {section: value}}."""
    config: dict[str, dict[str, str]] = {}
    for line in lines:
        if "=" not in line:
            continue
        key, raw = line.split("=", 1)
        section, _, option = key.rpartition(".")
        value = str(ast.literal_eval(raw))  # pip prints each value as a Python literal
        config.setdefault(option, {})[section] = value
    return config


def uv_options(config: dict[str, dict[str, str]]) -> list[str] | None:
    """The `uv pip install` options equivalent to pip's `config`, or None when a setting has
    no safe equivalent."""
    options = ["--index-strategy", "unsafe-best-match"]
    for option, sections in sorted(config.items()):
        source = next((s for s in PRECEDENCE if s in sections), None)
        if source is None:  # a section of another command (e.g. [freeze]): not an install's
            continue
        value = sections[source]
        if option in HARMLESS:
            continue
        if option == "index-url":
            options += ["--index-url", value]
        elif option == "no-index":
            if value.lower() in ("1", "true", "yes", "on"):
                options.append("--no-index")
        elif option in MULTI:
            for item in value.split():
                options += [MULTI[option], item]
        else:
            return None
    return options


def main(args: list[str]) -> int:
    """Install `args` with uv as pip would; uv's exit code, or 3 when pip's settings have no
    safe equivalent (nothing installed)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    )
    config = read_config(listed.stdout.splitlines()) if listed.returncode == 0 else None
    options = uv_options(config) if config is not None else None
    if options is None:
        print("uv_install: pip's settings have no uv equivalent; pip installs", file=sys.stderr)
        return 3
    env = dict(os.environ)
    cert = next((config["cert"][s] for s in PRECEDENCE if s in config.get("cert", {})), None)
    if cert:
        env["SSL_CERT_FILE"] = cert
    uv = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--no-config"]
    uv += ["--python", sys.executable]
    return subprocess.run([*uv, *options, *args], env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
