"""Sample inputs shared by the HTTP tests."""

import time

import httpx

# The DJIA bar of 2016-06-24, the day after the UK referendum.
BAR = {
    "date": "2016-06-24",
    "open": 17946.63,
    "high": 17946.63,
    "low": 17356.34,
    "close": 17400.75,
    "volume": 239000000,
}


def wait_until_processed(http: httpx.Client, timeout: float = 120.0) -> dict:
    """GET /v1/ingest until nothing is pending (the extraction caught up); its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get("/v1/ingest").json()
        if status["pending"] == 0:
            return status
        assert time.monotonic() < deadline, f"still pending after {timeout} s: {status}"
        time.sleep(0.1)
