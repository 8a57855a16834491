"""Non-neural baselines for the `big_move` target (and, where sensible, any 0/1 target).

`big_move` asks on day D: will the next trading day's absolute log return exceed q, where q is
the 80th percentile of |log return| over the model's training days (computed by the caller and
passed in as `BaselineData.threshold`).

Signature of every baseline: ``fn(data, train, days) -> p`` with `p[i]` the probability of label
1 for day `days[i]`. `train` are the ascending indices of the training days (their labels may be
used to fit), `days` the ascending indices to predict (training days and later test days).

No look-ahead: the prediction for day t reads `returns` and `news` of days < t only. The fitted
baselines are fitted on the training days, so a prediction for a day inside the training span
depends on the training data as a whole (as for any in-sample fit); for a day after the training
span it depends on data before that day only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.baselines import Baseline, BaselineData

__all__ = [
    "BIG_MOVE_BASELINES",
    "Baseline",
    "BaselineData",
    "base_rate",
    "big_move_persistence",
    "garch",
    "garch_sigma",
    "har_logreg",
    "news_volume",
]

EPS = 1e-6
HAR_WINDOWS = (1, 5, 22)
NEWS_WINDOW = 5


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)


def _labelled(data: BaselineData, train: np.ndarray) -> np.ndarray:
    """The training days whose label is defined (0 or 1)."""
    train = np.asarray(train, dtype=np.int64)
    return train[np.isin(data.labels[train], (0, 1))]


def _rate(data: BaselineData, train: np.ndarray) -> float:
    days = _labelled(data, train)
    if len(days) == 0:
        raise ValueError("no training day has a defined label (labels are all -1)")
    return float(data.labels[days].mean())


def _need_threshold(data: BaselineData, name: str) -> float:
    if data.threshold is None:
        raise ValueError(f"{name} needs BaselineData.threshold (q of big_move); it is None")
    return float(data.threshold)


def _window_means(x: np.ndarray, days: np.ndarray, window: int, first: int) -> np.ndarray:
    """Mean of x over days max(first, t - window) .. t - 1 for each t (NaN where empty).

    Reads x strictly before t. NaNs inside the window are ignored."""
    out = np.full(len(days), np.nan)
    for i, t in enumerate(days):
        chunk = x[max(first, t - window) : t]
        chunk = chunk[np.isfinite(chunk)]
        if len(chunk):
            out[i] = chunk.mean()
    return out


def _logreg_fit_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_days: np.ndarray, fallback: float
) -> np.ndarray:
    """Standardised logistic regression; rows of x_days with a NaN get `fallback`."""
    p = np.full(len(x_days), fallback)
    if len(set(y_train.tolist())) < 2:  # one class only: nothing to learn beyond the rate
        return _clip(p)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x_train, y_train)
    ok = np.all(np.isfinite(x_days), axis=1)
    if ok.any():
        p[ok] = model.predict_proba(x_days[ok])[:, 1]
    return _clip(p)


def base_rate(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The share of label 1 over the training days (labels only), every day."""
    return _clip(np.full(len(days), _rate(data, train)))


def big_move_persistence(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """1.0 if the last observed move |returns[t-1]| exceeded q, else 0.0 (clipped).

    Fits nothing; reads returns[t-1] and the threshold. Day 0 (no previous return) gets 0."""
    q = _need_threshold(data, "Big-move persistence")
    days = np.asarray(days, dtype=np.int64)
    prev = np.where(days >= 1, np.abs(data.returns[np.maximum(days - 1, 0)]), np.nan)
    with np.errstate(invalid="ignore"):
        return _clip((prev > q).astype(np.float64))


def _har_features(returns: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Log of mean |r| * 100 over the previous 1, 5, 22 days (only returns[1:] exist)."""
    absr = np.abs(np.asarray(returns, dtype=np.float64)) * 100.0
    cols = [_window_means(absr, days, w, first=1) for w in HAR_WINDOWS]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.maximum(np.stack(cols, axis=1), 1e-4))


def har_logreg(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Logistic regression on the HAR pattern of lagged absolute returns.

    Features for day t: log(100 * mean |r|) over days t-1, t-5..t-1 and t-22..t-1 (returns < t
    only), standardised. Fitted on the labelled training days with all 22 lags observed
    (t >= 23, as returns[0] is NaN). Days to predict with fewer lags use the lags they have;
    a day with none (t <= 1) gets the training base rate."""
    days = np.asarray(days, dtype=np.int64)
    fit_days = _labelled(data, train)
    fit_days = fit_days[fit_days > max(HAR_WINDOWS)]
    x_fit = _har_features(data.returns, fit_days)
    keep = np.all(np.isfinite(x_fit), axis=1)
    return _logreg_fit_predict(
        x_fit[keep],
        data.labels[fit_days[keep]],
        _har_features(data.returns, days),
        _rate(data, train),
    )


def _news_features(news: np.ndarray, days: np.ndarray) -> np.ndarray:
    news = np.asarray(news, dtype=np.float64)
    last = np.where(days >= 1, news[np.maximum(days - 1, 0)], np.nan)
    mean = _window_means(news, days, NEWS_WINDOW, first=0)
    return np.log1p(np.stack([last, mean], axis=1))


def news_volume(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Logistic regression on the number of headlines observable before day t.

    Predicting day t (answered on day D = t-1) may read headlines dated up to D, i.e. news of
    day indices <= t-1. Features: log1p(news[t-1]) and log1p(mean news[t-5..t-1]), standardised.
    Fitted on the labelled training days with a full 5-day window (t >= 5). Days with a shorter
    window use the days they have; day 0 gets the training base rate."""
    if data.news is None:
        raise ValueError("News volume needs BaselineData.news (headline counts); it is None")
    news = np.asarray(data.news, dtype=np.float64)
    if np.any(news < 0):
        raise ValueError("BaselineData.news holds negative headline counts")
    days = np.asarray(days, dtype=np.int64)
    fit_days = _labelled(data, train)
    fit_days = fit_days[fit_days >= NEWS_WINDOW]
    x_fit = _news_features(news, fit_days)
    keep = np.all(np.isfinite(x_fit), axis=1)
    return _logreg_fit_predict(
        x_fit[keep], data.labels[fit_days[keep]], _news_features(news, days), _rate(data, train)
    )


def _garch_fit(returns: np.ndarray, start: int, end: int) -> Any:
    """GARCH(1,1) of the arch package, constant mean, Student-t errors, fitted on
    returns[start..end] * 100."""
    from arch import arch_model

    y = np.asarray(returns[start : end + 1], dtype=np.float64) * 100.0
    if not np.all(np.isfinite(y)):
        raise ValueError("GARCH(1,1): returns of the training span must be finite (after day 0)")
    model = arch_model(y, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(disp="off", show_warning=False)


def garch_sigma(returns: np.ndarray, train: np.ndarray, last: int) -> tuple[np.ndarray, Any]:
    """Fitted GARCH(1,1) result and conditional sigma (in %, NaN before the span) for days
    0..last, with the parameters frozen after the fit on the training span.

    Inside the training span sigma is arch's own in-sample filter (initialised by arch's
    backcast from the first <= 75 training residuals). After it the same recursion continues
    with the frozen parameters: sigma2_t = omega + alpha * (100 r_{t-1} - mu)^2 +
    beta * sigma2_{t-1}, so sigma_t reads returns < t only. Returns after the training span
    must be finite."""
    start = max(int(np.min(train)), 1)
    end = int(np.max(train))
    res = _garch_fit(returns, start, end)
    mu, omega, alpha, beta = (float(res.params[k]) for k in ("mu", "omega", "alpha[1]", "beta[1]"))
    sigma2 = np.full(max(last, end) + 1, np.nan)
    sigma2[start : end + 1] = np.asarray(res.conditional_volatility) ** 2
    y = np.asarray(returns, dtype=np.float64) * 100.0
    for t in range(end + 1, last + 1):
        sigma2[t] = omega + alpha * (y[t - 1] - mu) ** 2 + beta * sigma2[t - 1]
    return np.sqrt(sigma2[: last + 1]), res


def garch(data: BaselineData, train: np.ndarray, days: np.ndarray) -> np.ndarray:
    """GARCH(1,1) volatility forecast turned into P(|r_t| > q).

    Fits arch's GARCH(1,1) once on 100 * returns of the training span (train.min() .. train.max(),
    skipping the NaN of day 0), mean "Constant" (arch's default; the fitted mu is tiny for daily
    index returns but keeps the filter consistent with the fit), standardised Student-t errors
    (daily index returns are fat-tailed; the t's extra parameter nu is estimated, and nu -> inf
    recovers the normal). Filters later days with the parameters frozen (see `garch_sigma`), and
    returns P(|mu + sigma_t z| > 100 q) for z ~ the fitted standardised t. Reads returns < t and
    the threshold. Days before the training span cannot be predicted (ValueError)."""
    q = _need_threshold(data, "GARCH(1,1)") * 100.0
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.empty(0)
    if days.min() < max(int(np.min(train)), 1):
        raise ValueError("GARCH(1,1) predicts days from the start of the training span on")
    sigma, res = garch_sigma(data.returns, train, int(days.max()))
    mu, nu = float(res.params["mu"]), float(res.params["nu"])
    s = sigma[days]
    dist = res.model.distribution
    upper = 1.0 - dist.cdf((q - mu) / s, [nu])
    lower = dist.cdf((-q - mu) / s, [nu])
    return _clip(upper + lower)


BIG_MOVE_BASELINES: dict[str, Baseline] = {
    "Base rate": base_rate,
    "Big-move persistence": big_move_persistence,
    "HAR-LogReg": har_logreg,
    "GARCH(1,1)": garch,
    "News volume": news_volume,
}
