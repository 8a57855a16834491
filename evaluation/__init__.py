"""The research harness on the forecasting core: folds and schemes, the classifiers' and
next_close's evaluations, the hyper-parameter search, reports, the frozen protocol and its
confirmation."""
