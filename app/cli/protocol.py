"""`kdtcn protocol freeze|check`: the frozen evaluation protocol (evaluation.protocol); its one
confirmation (`kdtcn evaluate --confirm`, evaluation.confirm) and the knowledge ablation
under it (`kdtcn evaluate --ablation knowledge`, evaluation.ablation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.cli.common import console, opened, progress_bar
from app.settings import get_settings

__all__ = ["ablate_knowledge", "confirm_protocol", "protocol_cli"]

protocol_cli = typer.Typer(help="The frozen evaluation protocol.", no_args_is_help=True)


def _frozen_protocol(option: str) -> tuple[dict[str, Any], str]:
    """(the frozen protocol, its hash), refused (naming `option`) when the file is altered or
    the code no longer runs it."""
    from evaluation.protocol import ProtocolError, current_protocol, differences, load_protocol

    try:
        protocol, digest = load_protocol()
    except ProtocolError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc
    drift = differences(protocol, current_protocol())
    if drift:
        raise typer.BadParameter(
            "the code no longer runs the frozen protocol (changed: "
            + ", ".join(drift[:8])
            + "); freeze it anew (`kdtcn protocol freeze`) and confirm on a new period",
            param_hint=option,
        )
    return protocol, digest


def confirm_protocol(out: Path, symbols: list[str] | None, again: bool) -> None:
    """`kdtcn evaluate --confirm`: the frozen protocol on its confirmation period."""
    import dataclasses
    import json

    from evaluation.confirm import Plan, run_confirmation
    from evaluation.confirm_report import confirmation_markdown

    protocol, digest = _frozen_protocol("--confirm")
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


def ablate_knowledge(out: Path, symbol: str) -> None:
    """`kdtcn evaluate --ablation knowledge`: KDTCN with and without the WD40k facts under
    the frozen protocol, on the stored data of `symbol` (evaluation.ablation)."""
    import datetime as dt
    import json

    from app.services.evaluation import evaluation_inputs, input_digests
    from evaluation.ablation import knowledge_markdown, run_knowledge_ablation
    from kg.graph import KnowledgeGraph

    protocol, digest = _frozen_protocol("--ablation")
    train_end = dt.date.fromisoformat(protocol["development"]["train_end"])
    with opened() as (settings, factory, _):
        graph = KnowledgeGraph.load(settings.data_dir / "wd40k")
        with factory() as session:
            prices, inputs = evaluation_inputs(
                session=session,
                symbol=symbol,
                graph=graph,
                artifacts=settings.artifacts_dir,
                train_end=train_end,
                say=console.print,
                text=False,
            )
    if len(prices) == 0:
        raise typer.BadParameter(f"no stored bars of {symbol}", param_hint="--symbol")
    with progress_bar() as bar:
        task = bar.add_task("model runs", total=3 * 2 * len(protocol["harness"]["seeds"]))
        try:
            result = run_knowledge_ablation(
                prices,
                inputs,
                protocol=protocol,
                digest=digest,
                progress=lambda label: bar.update(task, advance=1, description=label),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--ablation") from None
    result["protocol"]["symbol"] = symbol
    result["protocol"]["input_digests"] = input_digests(prices, inputs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "knowledge.json").write_text(json.dumps(result, indent=1))
    (out / "knowledge.md").write_text(knowledge_markdown(result))
    console.print(f"wrote {out / 'knowledge.md'} in {result['protocol']['seconds'] / 60:.1f} min")


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
