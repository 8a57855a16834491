"""`kdtcn protocol freeze|check` and `kdtcn evaluate --confirm`: the frozen evaluation
protocol (evaluation.protocol) and its one confirmation (evaluation.confirm)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from app.settings import get_settings

__all__ = ["confirm", "protocol_cli"]

protocol_cli = typer.Typer(help="The frozen evaluation protocol.", no_args_is_help=True)
console = Console(stderr=True)


def confirm(out: Path, symbols: list[str] | None, again: bool) -> None:
    """`kdtcn evaluate --confirm`: the frozen protocol on its confirmation period."""
    import dataclasses
    import json

    from evaluation.confirm import Plan, run_confirmation
    from evaluation.confirm_report import confirmation_markdown
    from evaluation.protocol import ProtocolError, current_protocol, differences, load_protocol

    try:
        protocol, digest = load_protocol()
    except ProtocolError as exc:
        raise typer.BadParameter(str(exc), param_hint="--confirm") from exc
    drift = differences(protocol, current_protocol())
    if drift:
        raise typer.BadParameter(
            "the code no longer runs the frozen protocol (changed: "
            + ", ".join(drift[:8])
            + "); freeze it anew (`kdtcn protocol freeze`) and confirm on a new period",
            param_hint="--confirm",
        )
    target = out / "confirmation.json"
    if target.exists() and not again:
        done = json.loads(target.read_text()).get("protocol_sha256")
        if done == digest:
            raise typer.BadParameter(
                f"{target} already confirms protocol {digest[:12]}: a protocol is confirmed "
                "once (--again writes anyway, e.g. into another --out to compare runs)",
                param_hint="--confirm",
            )
    plan = Plan.of(protocol)
    if symbols:
        plan = dataclasses.replace(plan, symbols=tuple(symbols))
    settings = get_settings()
    console.print(
        f"confirming protocol {digest[:12]} on {', '.join(plan.symbols)}: train to "
        f"{plan.train_end}, test {plan.test_start}..{plan.test_end}"
    )
    run = run_confirmation(
        protocol=protocol, digest=digest, data_dir=settings.data_dir, plan=plan, say=console.print
    )
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(run, indent=1))
    (out / "confirmation.md").write_text(confirmation_markdown(run))
    console.print(f"wrote {out / 'confirmation.md'} in {run['seconds'] / 60:.1f} min")


@protocol_cli.command("freeze")
def protocol_freeze() -> None:
    """Write the protocol the code runs now, with its hash, to evaluation/protocol.json."""
    from evaluation.protocol import PROTOCOL_PATH, freeze

    digest, changed = freeze()
    console.print(f"froze {PROTOCOL_PATH} sha256 {digest}")
    if changed:
        console.print("changed since the last freeze: " + ", ".join(changed))
        console.print("a new protocol needs a new confirmation period (kdtcn evaluate --confirm)")


@protocol_cli.command("check")
def protocol_check() -> None:
    """Say whether the code still runs the frozen protocol; exit 1 if not."""
    from evaluation.protocol import ProtocolError, current_protocol, differences, load_protocol

    try:
        protocol, digest = load_protocol()
    except ProtocolError as exc:
        console.print(str(exc))
        raise typer.Exit(1) from exc
    drift = differences(protocol, current_protocol())
    if drift:
        console.print(f"the code departs from protocol {digest[:12]} in: " + ", ".join(drift))
        raise typer.Exit(1)
    console.print(f"the code runs the frozen protocol {protocol['name']} sha256 {digest}")
