"""Next-day price regression scored against the random walk: the pure pieces.

The target, ``next_close`` (`models.targets.NEXT_CLOSE`, of kind `models.kinds.Regression`):
asked on date D, the adjusted close of the first trading day after D, from bars and headlines
up to D (the inputs of ``next_day``, so the same windows and the same no-look-ahead rule).
Models regress the log return r = log(close[t] / close[t-1]) of the predicted day t and
report the close it implies, close[t-1] * exp(r_hat).

Pieces:
* `regression_scores`: RMSE, MAE, MAPE of the price, Theil's U (RMSE of the model over RMSE
  of the random walk on the same days; U < 1 beats it), direction accuracy of the implied
  move (rule below);
* `diebold_mariano`: DM test of equal squared-error loss with a HAC (Newey-West) long-run
  variance from statsmodels, Harvey-Leybourne-Newbold small-sample correction, Student t;
* `lag_correlations`: correlation of a model's predicted change with the realised change of
  the same day and of the previous day (a forecast that lags the price by a day has r1 ~ 1);
* baselines on log returns: the random walk (r_hat = 0) and ARIMA fitted on the training days
  with its parameters frozen and filtered through the data up to t-1 (as the ARIMA direction
  baseline of models.baselines);
* the tutorials' framing: the close min-max scaled with a scaler fitted on training rows
  only, 60-day windows of the scaled close, the scaled next close as the target.

Direction rule (zero moves): as the dataset's label, a move is "up" when close[t] >=
close[t-1]; the implied call is "up" when close_hat[t] >= close[t-1]. So a forecast of no
change (the random walk) calls "up" every day and its direction accuracy is the share of
days that did not fall.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
)
from sklearn.preprocessing import MinMaxScaler

__all__ = [
    "regression_scores",
    "diebold_mariano",
    "lag_correlations",
    "theil_u_interval",
    "random_walk_returns",
    "fit_arima_returns",
    "arima_returns",
    "minmax_windows",
    "MinMaxWindows",
    "TUTORIAL_WINDOW",
]

TUTORIAL_WINDOW = 60  # the tutorials read the last 60 trading days


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(math.sqrt(mean_squared_error(y, p)))


def regression_scores(
    close_prev: np.ndarray, close_true: np.ndarray, close_pred: np.ndarray
) -> dict[str, float]:
    """Scores of predicted closes on the same days: rmse, mae, mape (percent), theil_u
    (rmse / rmse of the random walk close_prev; NaN if that is 0), direction_accuracy of the
    implied move (up iff close >= close_prev, for truth and forecast alike: the module's rule
    for zero moves), and n_days."""
    prev = np.asarray(close_prev, float)
    y = np.asarray(close_true, float)
    p = np.asarray(close_pred, float)
    if not (len(prev) == len(y) == len(p)) or len(y) == 0:
        raise ValueError(f"need equal, non-zero lengths ({len(prev)}, {len(y)}, {len(p)})")
    rmse = _rmse(y, p)
    rmse_rw = _rmse(y, prev)
    return {
        "rmse": rmse,
        "mae": float(mean_absolute_error(y, p)),
        "mape": float(100.0 * mean_absolute_percentage_error(y, p)),
        "theil_u": rmse / rmse_rw if rmse_rw > 0 else float("nan"),
        "direction_accuracy": float(np.mean((p >= prev) == (y >= prev))),
        "n_days": int(len(y)),
    }


def diebold_mariano(
    e_model: np.ndarray,
    e_rw: np.ndarray,
    h: int = 1,
    *,
    maxlags: int | None = None,
    hln: bool = True,
) -> tuple[float, float]:
    """Diebold-Mariano test of equal squared-error loss of two forecasts of the same days.

    d_t = e_model_t^2 - e_rw_t^2; the statistic is mean(d) / se(mean(d)), se from the HAC
    (Newey-West, Bartlett kernel) variance of an OLS of d on a constant (statsmodels,
    cov_type="HAC", no small-sample scaling). Lags: `maxlags`, or by default
    max(h - 1, floor(4 (n/100)^(2/9))) -- the Newey-West rule, so that the serial correlation
    of squared-error differences (volatility clusters) is allowed for even at h = 1, where
    DM's own truncation (h - 1 = 0) would ignore it. With `hln`, the Harvey-Leybourne-Newbold
    (1997) correction sqrt((n + 1 - 2h + h(h-1)/n) / n) multiplies the statistic and the
    p-value is two-sided from Student's t with n - 1 degrees of freedom; otherwise from the
    normal. Negative statistic: the model's loss is lower. Identical losses (d = 0 every
    day) give (0.0, 1.0)."""
    import statsmodels.api as sm
    from scipy import stats

    a = np.asarray(e_model, float)
    b = np.asarray(e_rw, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"error series must be 1-d and of equal length ({a.shape}, {b.shape})")
    n = len(a)
    if n < 3:
        raise ValueError("diebold_mariano needs at least 3 days")
    d = a**2 - b**2
    if np.all(d == 0):
        return 0.0, 1.0
    lags = maxlags if maxlags is not None else max(h - 1, int(4 * (n / 100) ** (2 / 9)))
    fit = sm.OLS(d, np.ones(n)).fit(
        cov_type="HAC", cov_kwds={"maxlags": int(lags), "use_correction": False}
    )
    se = float(fit.bse[0])
    mean = float(fit.params[0])
    if not se > 0:  # a constant non-zero difference: one forecast is always better
        return math.copysign(math.inf, mean), 0.0
    stat = mean / se
    if hln:
        stat *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
        p = 2.0 * float(stats.t.sf(abs(stat), df=n - 1))
    else:
        p = 2.0 * float(stats.norm.sf(abs(stat)))
    return float(stat), p


def theil_u_interval(
    close_prev: np.ndarray,
    close_true: np.ndarray,
    close_pred: np.ndarray,
    *,
    n_resamples: int = 2000,
    block_length: int | None = None,
    seed: int = 0,
) -> dict[str, float | int]:
    """Moving-block bootstrap interval of U - 1 (U of the forecast minus U of the random
    walk, which is 1) over the days, by models.stats.block_bootstrap_diff (the harness's
    paired bootstrap). It is handed day indices as its "outcomes" so that the metric can
    read the true and previous closes of each resampled day. Block length: `block_length`,
    or from the squared-error difference of forecast and random walk (Politis-White via
    arch's optimal_block_length, as models.stats does for the other targets), capped at
    n // 4. Returns diff (U - 1), low, high, p_value (bootstrap sign-flip share),
    block_length, n_resamples, n_valid."""
    from arch.bootstrap import optimal_block_length

    from models.stats import block_bootstrap_diff

    prev = np.asarray(close_prev, float)
    y = np.asarray(close_true, float)
    p = np.asarray(close_pred, float)
    n = len(y)
    if block_length is None:
        d = (y - p) ** 2 - (y - prev) ** 2
        length = 1.0
        if np.ptp(d) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = float(optimal_block_length(d)["circular"].iloc[0])
            if math.isfinite(est) and est > 0:
                length = est
        block_length = int(max(1, min(math.ceil(length), max(1, n // 4))))

    # plain numpy inside the resampling loop: sklearn's input checks cost more than the sum
    sq_rw = (y - prev) ** 2

    def u(idx: np.ndarray, pred: np.ndarray) -> float:
        rw = float(np.mean(sq_rw[idx]))
        return math.sqrt(float(np.mean((y[idx] - pred) ** 2)) / rw) if rw > 0 else math.nan

    return block_bootstrap_diff(
        np.arange(n), p, prev, u, block_length=block_length, n_resamples=n_resamples, seed=seed
    )


def lag_correlations(pred_change: np.ndarray, realised_change: np.ndarray) -> dict[str, float]:
    """Pearson correlation of the predicted change of day t with the realised change of day t
    ("same_day", r0) and of day t-1 ("previous_day", r1), over consecutive days (the first day
    has no previous one in the arrays, so r1 reads n - 1 pairs). NaN where a series is
    constant (the random walk predicts no change)."""
    p = np.asarray(pred_change, float)
    r = np.asarray(realised_change, float)
    if p.shape != r.shape or len(p) < 3:
        raise ValueError("need two equal-length series of at least 3 days")

    def corr(x: np.ndarray, y: np.ndarray) -> float:
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            return float("nan")
        return float(np.corrcoef(x, y)[0, 1])

    return {"same_day": corr(p, r), "previous_day": corr(p[1:], r[:-1])}


def random_walk_returns(days: np.ndarray) -> np.ndarray:
    """The random walk: no change, r_hat = 0 (close_hat[t] = close[t-1])."""
    return np.zeros(len(days))


_SCALE = 100.0  # ARIMA is fitted on percent log returns (better conditioned)


def fit_arima_returns(
    returns: np.ndarray, train_days: np.ndarray, order: tuple[int, int, int] = (1, 0, 1)
) -> Any:
    """The results object of statsmodels' ARIMA(order) fitted on the log returns (x 100,
    percent) of the training days (a contiguous range, train_days.min()..train_days.max())."""
    from statsmodels.tsa.arima.model import ARIMA

    start, end = int(train_days.min()), int(train_days.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ARIMA(np.asarray(returns, float)[start : end + 1] * _SCALE, order=order).fit()


def arima_returns(
    returns: np.ndarray,
    train_days: np.ndarray,
    days: np.ndarray,
    order: tuple[int, int, int] = (1, 0, 1),
    *,
    fitted: Any = None,
) -> np.ndarray:
    """One-step forecasts of the log return of each of `days` from ARIMA fitted on the
    training days only (`fit_arima_returns`, or `fitted`), parameters frozen: the state is
    filtered through the returns up to t-1 (statsmodels `apply(refit=False)` then the
    one-step-ahead prediction), as models.baselines.arima does for the direction targets."""
    fitted = fitted if fitted is not None else fit_arima_returns(returns, train_days, order)
    start = int(train_days.min())
    r = np.asarray(returns, float) * _SCALE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extended = fitted.apply(r[start : int(days.max()) + 1], refit=False)
    mean = np.asarray(extended.get_prediction().predicted_mean)
    return mean[np.asarray(days) - start] / _SCALE


@dataclass
class MinMaxWindows:
    """The tutorials' framing: x (n, W, 1) scaled closes of days a-W+1..a, y (n,) the scaled
    close of day a+1, day (n,) = a+1; and the scaler (fitted on training rows only)."""

    x: np.ndarray
    y: np.ndarray
    day: np.ndarray
    scaler: MinMaxScaler

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled closes back to prices."""
        return self.scaler.inverse_transform(np.asarray(scaled, float).reshape(-1, 1))[:, 0]


def minmax_windows(
    close: np.ndarray,
    fit_rows: np.ndarray,
    days: np.ndarray,
    *,
    window: int = TUTORIAL_WINDOW,
) -> MinMaxWindows:
    """Windows of the min-max scaled close for predicting each of `days` (those with a full
    window before them are kept). The scaler (sklearn MinMaxScaler) is fitted on the closes
    of `fit_rows` (a boolean mask of rows observable before the test days) and never sees
    the others; scaled test prices may leave [0, 1]."""
    close = np.asarray(close, float)
    scaler = MinMaxScaler().fit(close[np.asarray(fit_rows, bool)].reshape(-1, 1))
    scaled = scaler.transform(close.reshape(-1, 1))[:, 0].astype(np.float32)
    days = np.asarray(days)
    days = days[days - window >= 0]
    x = (
        np.stack([scaled[d - window : d] for d in days])[:, :, None]
        if len(days)
        else (np.zeros((0, window, 1), np.float32))
    )
    return MinMaxWindows(x.astype(np.float32), scaled[days], days, scaler)
