"""End to end on a slice of the real data: explanations (Shapley effects of headlines,
occlusion, attention, the graph), over real HTTP and in headless Chromium, on the e2e world
(tests.worlds.build_e2e_world)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from app.services.daily import collect_days
from app.services.explanations import GraphOptions, explain
from app.services.predictions import ModelRegistry, prepare
from app.services.prices import load_prices
from models.features import price_features
from models.inputs import model_event_rows
from models.targets import TARGETS, get_target
from models.tuned import served_variant
from models.windows import make_windows, window_at
from models.zoo import NEURAL_MODELS
from tests.worlds import BREXIT, up_labels

pytestmark = pytest.mark.slow


def test_brexit_explanation_lists_events_and_links_uk_with_eu(client) -> None:  # type: ignore[no-untyped-def]
    """The default graph is a readable summary (at most 40 nodes) of the events of the
    headlines that moved the answer most; detail=full draws every event, and there the UK
    and EU events are linked through Q145 and Q458 and share a group. (Which events make the
    summary depends on the version's effects, so the UK-EU link is asked of the full graph.)"""
    resp = client.get("/v1/explanations/DJIA", params={"date": BREXIT, "target": "same_day"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    brexit = [
        e
        for e in body["events"]
        if e["date"] == BREXIT and {"Q145", "Q458"} & {x["id"] for x in e["entities"]}
    ]
    assert brexit, "no event of the day mentions the UK or the EU"
    # own effects: for the events of the top headlines (the rest null unless detail=full)
    assert any(isinstance(e["effect"], float) and e["effect"] != 0 for e in brexit)
    assert all(e["effect"] is None or isinstance(e["effect"], float) for e in body["events"])
    nodes = {n["data"]["id"]: n["data"] for n in body["graph"]["nodes"]}
    assert len(nodes) <= 40 and body["graph_detail"]["nodes"] == len(nodes)
    assert body["graph_detail"]["events_drawn"] < body["graph_detail"]["events_total"]
    # the summary starts from the headline with the largest |effect|: its events are drawn
    top = max(body["headlines"], key=lambda h: abs(h["effect"]))
    assert top["events"] and all(f"event:{i}" in nodes for i in top["events"])
    edges = [e["data"] for e in body["graph"]["edges"]]
    assert all(e["label"] for e in edges if e["kind"] == "relation")
    # no path runs through a hub (such as the US) unless the hub is an event's own entity
    mentioned = {e["target"] for e in edges if e["kind"] == "mentions"}
    entities = {qid: n for qid, n in nodes.items() if n["kind"] == "entity"}
    assert all(not n["hub"] or qid in mentioned for qid, n in entities.items())

    full = client.get(
        "/v1/explanations/DJIA", params={"date": BREXIT, "target": "same_day", "detail": "full"}
    ).json()
    full_nodes = {n["data"]["id"]: n["data"] for n in full["graph"]["nodes"]}
    assert all(f"event:{e['id']}" in full_nodes for e in full["events"])
    assert all(isinstance(e["effect"], float) for e in full["events"])
    assert full_nodes["Q145"]["label"] == "United Kingdom" and full_nodes["Q458"]["label"]
    full_edges = [e["data"] for e in full["graph"]["edges"]]
    kg_edges = {(e["source"], e["target"]) for e in full_edges if e["kind"] == "relation"}
    assert ("Q145", "Q458") in kg_edges or ("Q458", "Q145") in kg_edges
    mentions = {(e["source"], e["target"]) for e in full_edges if e["kind"] == "mentions"}
    day = [e for e in full["events"] if e["date"] == BREXIT]
    uk = [e for e in day if (f"event:{e['id']}", "Q145") in mentions]
    eu = [e for e in day if (f"event:{e['id']}", "Q458") in mentions]
    assert uk and eu, "no UK event or no EU event of the day is drawn"
    # Events the graph connects share a group: UK and EU events are in one colour.
    uk_eu_groups = {e["group"] for e in uk + eu}
    assert len(uk_eu_groups) == 1 and None not in uk_eu_groups
    small = client.get(
        "/v1/explanations/DJIA",
        params={"date": BREXIT, "target": "same_day", "events": 3, "nodes": 12},
    ).json()
    assert small["graph_detail"]["events_drawn"] <= 3 and len(small["graph"]["nodes"]) <= 12
    bad = client.get("/v1/explanations/DJIA", params={"date": BREXIT, "nodes": 2})
    assert bad.status_code == 422 and "nodes" in bad.text


def test_headline_effects_are_shapley_values_that_add_up(client) -> None:  # type: ignore[no-untyped-def]
    """Each headline once, with its events beneath; the headlines' effects add up to the
    answer with every event minus the answer with none (1e-4), for every target."""
    for target in ("same_day", "big_move", "next_close"):
        body = client.get("/v1/explanations/DJIA", params={"date": BREXIT, "target": target}).json()
        headlines = body["headlines"]
        ids = [h["id"] for h in headlines]
        assert len(ids) == len(set(ids)) > 20
        owned = [i for h in headlines for i in h["events"]]
        assert len(owned) == len(set(owned)) == body["graph_detail"]["events_total"]
        # the summary lists the events of the 40 headlines with the largest |effect|
        listed = {e["headline_id"] for e in body["events"]}
        cut = sorted((abs(h["effect"]) for h in headlines), reverse=True)[39]
        assert listed and all(abs(h["effect"]) >= cut for h in headlines if h["id"] in listed)
        assert {e["id"] for e in body["events"]} <= set(owned)
        a = body["attribution"]
        total = a["with_all_events"] - a["without_events"]
        assert body["total_effect"] == pytest.approx(total, abs=1e-9)
        tol = 1e-4 if body["effect_unit"] == "probability" else 1e-2  # index points
        assert sum(h["effect"] for h in headlines) == pytest.approx(total, abs=tol)
        assert abs(total) > 0 and a["players"] == sum(h["read"] for h in headlines)
        # headlines the model cannot read (days before its receptive field) count 0 exactly
        assert all(h["effect"] == 0 for h in headlines if not h["read"])
        assert -1 <= a["occlusion_rank_agreement"] <= 1
        groups = body["groups"]
        assert all(isinstance(g["effect"], float) for g in groups)


def test_removing_the_top_headlines_moves_the_answer_more_than_random_ones(built) -> None:  # type: ignore[no-untyped-def]
    """The deletion curve: over several dates, leaving out the k headlines with the largest
    Shapley values lowers P(up) more than leaving out k headlines drawn at random."""
    from app.services.explanations import PERMUTATIONS, coalitions_of
    from models.attribution import deletion, shapley

    server, factory = built
    rng = np.random.default_rng(0)
    ks = (1, 3, 5)
    top_drop, random_drop = np.zeros(len(ks)), np.zeros(len(ks))
    dates = ("2016-04-22", "2016-05-13", "2016-06-03", "2016-06-17", BREXIT)
    with factory() as session:
        for date in dates:
            prediction = prepare(
                session=session,
                registry=server.app.state.registry,
                symbol="DJIA",
                date=dt.date.fromisoformat(date),
                rule=get_target("same_day"),
            )
            coalitions, index = coalitions_of(prediction)
            ids = list(dict.fromkeys(stored.headline.id for _, stored in index))
            owners = [ids.index(stored.headline.id) for _, stored in index]
            values = shapley(coalitions, owners, permutations=PERMUTATIONS).values
            order = np.argsort(-values)
            for n, k in enumerate(ks):
                top_drop[n] += deletion(coalitions, owners, [order[:k]])[0]
                draws = [rng.choice(len(ids), k, replace=False) for _ in range(30)]
                random_drop[n] += np.mean(deletion(coalitions, owners, draws))
    top_drop /= len(dates)
    random_drop /= len(dates)
    assert np.all(top_drop > random_drop), (top_drop, random_drop)
    assert np.all(top_drop > 0)


def test_occlusion_effect_is_the_drop_in_p_up_when_removed(built, pipeline) -> None:  # type: ignore[no-untyped-def]
    server, factory = built
    registry = ModelRegistry(server.app.state.settings.artifacts_dir, pipeline.graph)
    with factory() as session:
        prediction = prepare(
            session=session,
            registry=registry,
            symbol="DJIA",
            date=dt.date(2016, 6, 24),
            rule=get_target("same_day"),
        )
        body = explain(prediction, pipeline.graph, GraphOptions(detail="full")).model_dump()
        top = max(body["events"], key=lambda e: e["effect"])
        assert top["effect"] > 0
        drop = {
            j: (day.event_ids.index(top["id"]),)
            for j, day in enumerate(prediction.event_days)
            if top["id"] in day.event_ids
        }
        without = float(prediction.loaded.model.predict(prediction.window(drop=drop)[None])[0])
    assert body["prediction"]["p_up"] - without == pytest.approx(top["effect"], abs=1e-6)
    assert without < body["prediction"]["p_up"]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_served_inputs_and_effects_equal_the_training_path(built, target) -> None:  # type: ignore[no-untyped-def]
    """Serving and training cut the same input (models.inputs): for several dates, the
    window a prediction reads equals the window training builds over the whole stored
    series for the same predicted day, its probability is the model's output on it, and an event's
    effect is the drop in P(up) when the training path pools its day without it."""
    server, factory = built
    registry = server.app.state.registry
    with factory() as session:
        prices = load_prices(session=session, symbol="DJIA")
        dates = [d.date() for d in prices.index]
        checked = 0
        for date in ("2016-04-15", "2016-05-20", "2016-06-10", "2016-06-23", BREXIT):
            day = dt.date.fromisoformat(date)
            served = prepare(
                session=session, registry=registry, symbol="DJIA", date=day, rule=get_target(target)
            )
            loaded = served.loaded
            model, cfg = loaded.model, loaded.model.config
            days = None
            if loaded.embedder is not None:
                embed, dim = loaded.embedder.embed, loaded.embedder.dim
                days = collect_days(session=session, dates=dates, embed=embed, dim=dim)
            slots = model.event_slots  # > 0: KDTCN's variant for this target pools by attention
            variant, _ = served_variant(target, loaded.row.train_end)
            assert slots == (NEURAL_MODELS[variant].event_slots if variant else 0)
            raw_events = (
                model_event_rows(days, loaded.embedder.dim, slots) if days is not None else None
            )
            p, e = model.normalise(price_features(prices).to_numpy(np.float32), raw_events)
            p = p if cfg.price_dim else None
            windows = make_windows(p, e, up_labels(prices), window=cfg.window, rule=TARGETS[target])
            # The training window that predicts the same day as the served answer.
            if TARGETS[target].bar_of_date_is_input:
                k = int(np.flatnonzero(windows.anchor == dates.index(day))[0])
            else:
                k = int(np.flatnonzero(windows.day == dates.index(day))[0])
            np.testing.assert_allclose(served.window(), windows.x[k], atol=1e-6)
            expected = float(model.predict(windows.x[k][None])[0])
            assert served.p == pytest.approx(expected, abs=1e-6)
            if days is None:
                continue
            graph = server.app.state.pipeline.graph
            full = explain(served, graph, GraphOptions(detail="full")).model_dump()
            effects = {ev["id"]: ev["effect"] for ev in full["events"]}
            anchor, shift = int(windows.anchor[k]), TARGETS[target].event_shift
            # Every day whose event row the window reads, its first event left out.
            for j in range(anchor - cfg.window + 1 + shift, anchor + 1 + shift):
                if not days[j].event_ids:
                    continue
                pooled = model_event_rows(days, loaded.embedder.dim, slots, drop={j: (0,)})
                x = window_at(
                    p, model.normalise(None, pooled)[1], anchor, cfg.window, TARGETS[target]
                )
                # effects are in the answer's units: a probability, or next_close's price
                answer = served.reported(np.array([served.p, model.predict(x[None])[0]]))
                drop = float(answer[0] - answer[1])
                # float32 networks: 1e-6 of a probability, 1e-4 of an index point
                tol = 1e-4 if served.unit == "price" else 1e-6
                assert effects[days[j].event_ids[0]] == pytest.approx(drop, abs=tol)
                checked += 1
            weights = {ev["id"]: ev["attention"] for ev in full["events"]}
            if not slots:
                assert set(weights.values()) == {None}
                continue
            # attention: each read day's weights over its events sum to 1
            assert full["attribution"]["pooling"].startswith("attention")
            read_days = {ev["day"] for ev in full["events"] if ev["read"]}
            for d in read_days:
                total = sum(weights[ev["id"]] for ev in full["events"] if ev["day"] == d)
                assert total == pytest.approx(1.0, abs=1e-4)
        assert checked >= 5 or days is None


def test_effects_png_is_an_image(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(
        "/v1/explanations/DJIA/effects.png", params={"date": BREXIT, "target": "same_day"}
    )
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert resp.content[:8] == b"\x89PNG\r\n\x1a\n" and len(resp.content) > 5000


@pytest.mark.browser
def test_explanation_page_draws_in_headless_chromium(built) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    from tests.browser import chromium_driver, draw, screenshot

    driver = chromium_driver()
    if driver is None:
        pytest.skip("chromium/chromedriver not installed (scripts/setup-system.sh)")
    try:
        page = f"{built[0].base_url}/v1/explanations/DJIA/view?date={BREXIT}&target=same_day"
        assert draw(driver, page) == "drawn"
        items = driver.find_elements(By.CSS_SELECTOR, "#effects li.headline")
        assert len(items) > 20
        page = driver.find_element(By.ID, "effects").text
        assert "Britain" in page or "EU" in page or "Brexit" in page
        reasons = driver.find_elements(By.CSS_SELECTOR, "#reasons li")
        assert len(reasons) >= 2 and "add up to" in driver.find_element(By.ID, "additivity").text
        nodes = driver.execute_script("return window.kdtcnGraph.nodes().length")
        assert 5 < nodes <= 40
        # Clicking the headline with the largest effect highlights its events in the graph.
        items[0].click()
        lit = driver.execute_script("return window.kdtcnGraph.$('.highlighted').length")
        drawn = driver.execute_script(
            "return window.kdtcnExplanation.headlines[0].events.some("
            "id => window.kdtcnGraph.getElementById('event:' + id).nonempty())"
        )
        assert lit > 0 or not drawn
        screenshot(driver, "explanation-2016-06-24.png")
    finally:
        driver.quit()
