"""Sample inputs shared by the HTTP tests."""

# The DJIA bar of 2016-06-24, the day after the UK referendum.
BAR = {
    "date": "2016-06-24",
    "open": 17946.63,
    "high": 17946.63,
    "low": 17356.34,
    "close": 17400.75,
    "volume": 239000000,
}
