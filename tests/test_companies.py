"""Knowledge of companies (kg.companies, issue 31 part 3): which entity a company is, its
facts as triples, co-mentions counted on training days only, and the relations a universe
model reads; on the bundled S&P 500 list and WD40k graph."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from kg.companies import (
    MIN_CO_MENTIONS,
    co_mentions,
    companies_of,
    company_triples,
    load_reference,
    relations,
    stock_node,
)
from tests.conftest import DATA_DIR

MEMBERS = [
    ("AAPL", "Apple Inc.", "Technology"),
    ("INTC", "Intel Corporation", "Technology"),
    ("GE", "General Electric Company", "Industrial Goods"),
    ("RDS-B", "Royal Dutch Shell", "Basic Matierials"),
    ("BRK-A", "Berkshire Hathaway Inc.", "Financial"),
]


@pytest.fixture(scope="module")
def companies(pipeline):  # type: ignore[no-untyped-def]
    reference = load_reference(DATA_DIR / "reference" / "sp500_constituents.csv")
    found = companies_of(MEMBERS, reference=reference, linker=pipeline.linker)
    return {c.symbol: c for c in found}


def test_a_company_is_the_entity_of_its_whole_name_only(companies) -> None:  # type: ignore[no-untyped-def]
    assert companies["AAPL"].entity == "Q312"  # "Apple Inc."
    assert companies["INTC"].entity == "Q248"  # "Intel", the name without "Corporation"
    # A part of the name is not the company: Shell is not the Netherlands, and a fuzzy
    # near miss ("General Electric CF6", an engine) is not General Electric.
    assert companies["RDS-B"].entity is None
    assert companies["GE"].entity is None
    assert stock_node(companies["GE"]) == "stock:GE"
    assert stock_node(companies["AAPL"]) == "Q312"


def test_the_reference_gives_sub_industry_and_headquarters_where_it_lists_the_company(
    companies,
) -> None:  # type: ignore[no-untyped-def]
    apple = companies["AAPL"]
    assert apple.sub_industry == "Technology Hardware, Storage & Peripherals"
    assert apple.headquarters == "Cupertino, California" and apple.state == "California"
    assert companies["INTC"].state == "California"
    # BRK-A: the list has BRK.B only; no class is guessed for another.
    assert companies["BRK-A"].sub_industry is None
    assert companies["RDS-B"].headquarters is None  # not in the S&P 500


def test_co_mentions_are_counted_before_the_cut_only() -> None:
    cut = dt.date(2015, 8, 1)
    items = [(dt.date(2015, 7, 31), ["AAPL", "INTC", "XYZ"])] * 6 + [(cut, ["AAPL", "GE"])] * 50
    co = co_mentions(items, symbols=["AAPL", "INTC", "GE"], before=cut)
    assert co == {("AAPL", "INTC"): 6}  # XYZ is not a member; the cut day is not counted


def test_facts_and_relations(companies) -> None:  # type: ignore[no-untyped-def]
    chosen = [companies[s] for s in ("AAPL", "INTC", "GE", "RDS-B")]
    co = {("AAPL", "INTC"): MIN_CO_MENTIONS, ("GE", "INTC"): MIN_CO_MENTIONS - 1}
    triples = set(company_triples(chosen, co))
    assert ("Q312", "kd:ticker", "w:aapl") in triples
    assert ("Q312", "kd:sector", "sector:Technology") in triples
    assert ("Q312", "kd:state", "state:California") in triples
    assert ("Q312", "kd:co_mentioned", "Q248") in triples
    assert not any(r == "kd:co_mentioned" and "stock:GE" in (h, t) for h, r, t in triples)
    related = {s: dict(rel) for s, rel in relations(chosen, co).items()}
    apple_intel = related["AAPL"]["INTC"]
    assert list(apple_intel[:3]) == [1.0, 0.0, 1.0]  # sector, not sub-industry, state
    assert apple_intel[3] == pytest.approx(math.log1p(MIN_CO_MENTIONS))
    assert (related["INTC"]["AAPL"] == apple_intel).all()  # symmetric
    assert "RDS-B" not in related["AAPL"] and related["RDS-B"] == {}  # nothing shared
