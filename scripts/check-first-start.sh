#!/usr/bin/env bash
# A newcomer's first start, as CI proves it: a clean clone of this checkout into a temporary
# folder, the README's run command (scripts/serve.sh) with no project environment variables,
# then the first answer (the newest prediction of the default target), a wait until the
# background has trained every queued version, and predictions, explanations and backtests of
# the demo data over HTTP. Prints how long the install, the first answer and the background
# took, and the cached-answer throughput against /healthz; stops the server and removes the
# clone.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/kdtcn-first-start.XXXXXX)"
port="${CHECK_PORT:-8000}"
log="$work/serve.log"
pid=""

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use; set CHECK_PORT" >&2
  exit 1
fi

git clone --quiet "$src" "$work/kdtcn"
cd "$work/kdtcn"
test ! -e var || { echo "the clone already has var/" >&2; exit 1; }

echo "first start: scripts/serve.sh in a clean clone ($work/kdtcn), port $port"
started=$(date +%s)
# Only what a shell always has: no DATABASE_URL, ARTIFACTS_DIR, PYSTOW_HOME or API_KEY.
env -i HOME="$HOME" PATH="$PATH" LANG=C.UTF-8 PORT="$port" scripts/serve.sh >"$log" 2>&1 &
pid=$!

deadline=$((started + 3600))
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the server exited during its first start; last lines of its log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "not ready after an hour" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  sleep 2
done
ready=$(date +%s)
installed=$(stat -c %Y .venv/.installed-* 2>/dev/null | sort -n | tail -1 || echo "$started")

# The first answer, then the background: every queued version trained (none failed).
"$src/.venv/bin/python" - "$port" <<'PY'
import sys
import time

import httpx

base = f"http://127.0.0.1:{sys.argv[1]}"
with httpx.Client(base_url=base, timeout=300) as http:
    first = http.get("/v1/predictions/DJIA")
    assert first.status_code == 200, (first.status_code, first.text[:500])
    body = first.json()
    assert body["in_sample"] is False, body
    print(f"first answer: DJIA {body['target']} for {body['date']}: p={body['p']} ({body['call']})")
    training = http.get("/readyz").json()["checks"]["training"]
    print(f"at the first answer: {training}")
    if training["queued"]:  # an older date waits for its version: 503, Retry-After, the job
        old = http.get("/v1/predictions/DJIA", params={"date": "2015-01-05", "target": "same_day"})
        assert old.status_code in (200, 503), (old.status_code, old.text[:500])
        if old.status_code == 503:
            assert int(old.headers["Retry-After"]) > 0 and old.json()["job"]["id"], old.text
            print(f"2015-01-05 same_day while queued: 503, Retry-After {old.headers['Retry-After']} s")
PY
answered=$(date +%s)
"$src/.venv/bin/python" - "$port" <<'PY'
import sys
import time

import httpx

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 3600
while True:
    training = httpx.get(f"{base}/readyz", timeout=60).json()["checks"]["training"]
    if not training["queued"] and not training["running"]:
        break
    assert time.monotonic() < deadline, f"the background did not finish in an hour: {training}"
    time.sleep(5)
assert training["failed"] == 0, training
print(f"background done: {training}")
PY
completed=$(date +%s)

"$src/.venv/bin/python" - "$port" <<'PY'
import sys

import httpx

base = f"http://127.0.0.1:{sys.argv[1]}"
params = {"date": "2016-06-24", "target": "same_day"}
with httpx.Client(base_url=base, timeout=120) as http:
    pred = http.get("/v1/predictions/DJIA", params=params)
    assert pred.status_code == 200, (pred.status_code, pred.text[:500])
    body = pred.json()
    missing = {"p_up", "direction", "model", "data", "coverage", "cached"} - set(body)
    assert not missing, f"prediction lacks {missing}"
    assert 0.0 <= body["p_up"] <= 1.0 and body["direction"] in ("up", "down")
    assert body["data"]["prices_to"] < "2016-06-24" <= body["data"]["headlines_to"]
    assert body["coverage"]["events"] > 0, body["coverage"]
    # Point in time: the answer comes from a version fitted on labels before 2016-06-24.
    assert body["in_sample"] is False and body["model"]["train_until"] < "2016-06-24", body
    latest = http.get("/v1/predictions/DJIA")
    assert latest.status_code == 200, latest.text[:500]
    expl = http.get("/v1/explanations/DJIA", params=params)
    assert expl.status_code == 200, (expl.status_code, expl.text[:500])
    ex = expl.json()
    missing = {"prediction", "method", "events", "groups", "graph"} - set(ex)
    assert not missing, f"explanation lacks {missing}"
    assert ex["events"] and ex["graph"]["nodes"] and ex["graph"]["edges"]
    assert any(e["date"] == "2016-06-24" for e in ex["events"])
    assert ex["prediction"]["in_sample"] is False
    span = {"start": "2015-01-02", "end": "2016-06-30", "target": "next_day", "cost_bps": 5}
    back = http.get("/v1/backtest/DJIA", params=span)
    assert back.status_code == 200, (back.status_code, back.text[:500])
    bt = back.json()
    assert bt["in_sample_days"] == 0 and bt["n_days"] > 300, bt["n_days"]
    big = http.get("/v1/predictions/DJIA", params={"date": "2016-06-24", "target": "big_move"})
    assert big.status_code == 200, (big.status_code, big.text[:500])
    bm = big.json()
    assert bm["call"] in ("big", "calm") and bm["p_up"] is None and bm["label_threshold"] > 0
    assert bm["in_sample"] is False, bm
    # next_close: a price with its 80% interval, out of sample, and its backtest's U.
    nc = http.get("/v1/predictions/DJIA", params={"date": "2016-06-24", "target": "next_close"})
    assert nc.status_code == 200, (nc.status_code, nc.text[:500])
    close = nc.json()
    price = close["price"]
    assert price["low"] < price["predicted_close"] < price["high"], price
    assert close["in_sample"] is False and close["p"] is None, close
    span_nc = {"start": "2015-01-02", "end": "2016-06-30", "target": "next_close"}
    back_nc = http.get("/v1/backtest/DJIA", params=span_nc)
    assert back_nc.status_code == 200, (back_nc.status_code, back_nc.text[:500])
    reg = back_nc.json()["regression"]
    assert back_nc.json()["in_sample_days"] == 0 and reg["rmse"] > 0, reg
    # The second symbol, served with the same news (the bundled ^GSPC history).
    gspc = {}
    for target in ("next_day", "same_day", "big_move", "next_close"):
        g = http.get("/v1/predictions/GSPC", params={"date": "2016-06-24", "target": target})
        assert g.status_code == 200, (target, g.status_code, g.text[:500])
        gspc[target] = g.json()
        assert gspc[target]["in_sample"] is False, g.text
        if target == "next_close":
            assert gspc[target]["price"]["predicted_close"] > 0, g.text
        else:
            assert 0.0 <= gspc[target]["p"] <= 1.0, g.text
    assert gspc["same_day"]["p"] != body["p"], (gspc["same_day"]["p"], body["p"])
    models = http.get("/v1/models").json()
    assert models["symbols"] == ["DJIA", "GSPC"], models["symbols"]
    page = http.get("/v1/explanations/DJIA/view")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    print(
        f"prediction 2016-06-24 same_day: p_up={body['p_up']} ({body['direction']}), "
        f"model {body['model']['name']} {body['model']['version']}; "
        f"explanation: {len(ex['events'])} events, {len(ex['graph']['nodes'])} nodes"
    )
    print(
        f"prediction 2016-06-24 big_move: P={bm['p']} that {bm['outcome']} ({bm['call']})"
    )
    print(
        f"prediction 2016-06-24 next_close: {price['predicted_close']} (80% interval "
        f"{price['low']}..{price['high']}; close on 2016-06-24 {price['previous_close']}); "
        f"backtest 2015-01-02..2016-06-30 RMSE {reg['rmse']:.1f}, Theil's U "
        f"{reg['theil_u']:.3f}, interval coverage {reg['interval_coverage']:.2f}"
    )
    print(
        "GSPC 2016-06-24: "
        + ", ".join(
            f"{t} p={g['p']} ({g['call']})"
            if g["p"] is not None
            else f"{t} close={g['price']['predicted_close']}"
            for t, g in gspc.items()
        )
    )
    model, always = bt["classification"]["model"], bt["classification"]["always_up"]
    print(
        f"backtest next_day {bt['start']}..{bt['end']}: {bt['n_days']} days, "
        f"{len(bt['versions'])} versions, MCC {model['mcc']:.3f}, hit rate "
        f"{model['hit_rate']:.3f} (always up {always['hit_rate']:.3f})"
    )
PY

"$src/.venv/bin/python" "$src/benchmarks/bench_throughput.py" "http://127.0.0.1:$port"

echo "install (new .venv): $((installed - started)) s;" \
  "ready (serving) $((ready - installed)) s after the install;" \
  "first answer $((answered - installed)) s after the install;" \
  "every version $((completed - installed)) s after the install;" \
  "total from the clone until every version: $((completed - started)) s"
grep -E "ready after|first start" "$log" | sed 's/^/  serve.sh: /' || true
