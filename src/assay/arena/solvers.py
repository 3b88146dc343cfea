"""Maximum-likelihood Bradley–Terry fits on per-pair counts, many problems at once.

`fit_half_ties`: P(i beats j) = 1 / (1 + exp(θj − θi)), a tie counted as half a win for each side.
This is a logistic regression; it is solved by Newton's method (IRLS) on a whole stack of count vectors
at once (the full data, or 1,000 bootstrap resamples warm-started from it), one batched LAPACK solve
per step. choix (`ilsr_pairwise_dense`) and statsmodels' Logit fit one problem at a time and are the
references the tests and bench/bench_arena.py compare against.

`fit_davidson`: Davidson's tie model, P(i) ∝ πi, P(j) ∝ πj, P(tie) ∝ ν√(πi πj), by scipy's L-BFGS.

Both add `ridge`/2 · Σθ² (a Gaussian prior with sd 1/√ridge on each log-strength, sd 1,000 by default):
negligible wherever the maximum-likelihood estimate exists, and it keeps a model that never lost in
some resample at a large finite rating instead of an infinite one. θ is returned centred (mean 0)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp, softmax

from assay.errors import AssayError

DEFAULT_RIDGE = 1e-6
_MAX_STEP = 4.0


def _newton_system(won: np.ndarray, games: np.ndarray, theta: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(gradient, negative Hessian) of the log-likelihood at θ for stacks: won (R, n) = each model's total
    wins, games (R, n, n), θ (R, n). The all-ones direction is added to the Hessian: the likelihood does not
    move under θ + c, so this keeps it invertible for a connected comparison graph even at ridge 0 and stops
    rounding errors from being amplified along that direction by 1/ridge; the fixed point is unchanged.
    Computed in place on two (R, n, n) buffers: this is the bootstrap's inner loop."""
    n = theta.shape[1]
    p = theta[:, :, None] - theta[:, None, :]
    expit(p, out=p)
    hessian = games * p  # expected wins
    gradient = won - hessian.sum(axis=2) - ridge * theta
    p -= 1.0
    hessian *= p  # -games p (1 - p): the off-diagonal
    diagonal = np.arange(n)
    hessian[:, diagonal, diagonal] = -hessian.sum(axis=2) + ridge
    hessian += 1.0 / n
    return gradient, hessian


def fit_half_ties(wins: np.ndarray, theta0: np.ndarray | None = None, ridge: float = DEFAULT_RIDGE, tol: float = 1e-4,
                  max_iter: int = 200) -> np.ndarray:
    """wins: (n, n) or (R, n, n), wins[i, j] = wins of i over j (ties already halved) -> θ, (n,) or (R, n).
    Converged when no θ moved by more than `tol` in the last step: Newton converges quadratically, so the
    error left is of the order of that step squared (measured: a step of 7e-5 is followed by one of 2e-9;
    tests/arena check θ against choix and statsmodels to 1e-7)."""
    single = np.ndim(wins) == 2
    w = np.asarray(wins, dtype=float)
    w = w[None] if single else w
    rounds, n = w.shape[0], w.shape[1]
    games = w + w.transpose(0, 2, 1)
    won = w.sum(axis=2)
    theta = np.zeros((rounds, n)) if theta0 is None else np.array(np.broadcast_to(theta0, (rounds, n)), dtype=float)
    theta -= theta.mean(axis=1, keepdims=True)
    for _ in range(max_iter):
        gradient, hessian = _newton_system(won, games, theta, ridge)
        try:
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:
            raise AssayError("Bradley–Terry: the comparison graph is not connected; give a ridge > 0") from None
        step = np.clip(step, -_MAX_STEP, _MAX_STEP)
        step -= step.mean(axis=1, keepdims=True)
        theta += step
        if float(np.max(np.abs(step), initial=0.0)) < tol:
            break
    else:
        raise AssayError(f"Bradley–Terry: Newton's method did not converge in {max_iter} steps")
    return theta[0] if single else theta


def one_step_starts(wins: np.ndarray, full_wins: np.ndarray, theta_hat: np.ndarray,
                    ridge: float = DEFAULT_RIDGE) -> np.ndarray:
    """Starting points for refits of resampled wins (R, n, n) near the full-data fit θ̂: one Newton step
    from θ̂ with the full data's Hessian, which all resamples share (one factorisation for all)."""
    games = wins + wins.transpose(0, 2, 1)
    full = full_wins[None]
    _, hessian = _newton_system(full.sum(axis=2), full + full.transpose(0, 2, 1), theta_hat[None], ridge)
    p = expit(theta_hat[:, None] - theta_hat[None, :])
    gradient = (wins - games * p).sum(axis=2) - ridge * theta_hat
    step = np.linalg.solve(hessian[0], gradient.T).T
    step = np.clip(step - step.mean(axis=1, keepdims=True), -_MAX_STEP, _MAX_STEP)
    return theta_hat + step


def _davidson_objective(params: np.ndarray, n: int, first: np.ndarray, second: np.ndarray, first_wins: np.ndarray,
                        second_wins: np.ndarray, ties: np.ndarray, ridge: float) -> tuple[float, np.ndarray]:
    theta, log_nu = params[:n], params[n]
    ti, tj = theta[first], theta[second]
    logits = np.stack([ti, tj, log_nu + (ti + tj) / 2.0], axis=1)
    games = first_wins + second_wins + ties
    observed = first_wins * ti + second_wins * tj + ties * logits[:, 2]
    value = float(np.sum(games * logsumexp(logits, axis=1) - observed) + ridge / 2.0 * theta @ theta)
    share = softmax(logits, axis=1) * games[:, None]  # expected counts of each outcome
    resid_i = first_wins + ties / 2.0 - share[:, 0] - share[:, 2] / 2.0
    resid_j = second_wins + ties / 2.0 - share[:, 1] - share[:, 2] / 2.0
    grad_theta = -(np.bincount(first, resid_i, minlength=n) + np.bincount(second, resid_j, minlength=n)) + ridge * theta
    grad_nu = -float(np.sum(ties - share[:, 2]))
    return value, np.append(grad_theta, grad_nu)


def fit_davidson(n: int, first: np.ndarray, second: np.ndarray, first_wins: np.ndarray, second_wins: np.ndarray,
                 ties: np.ndarray, start: np.ndarray | None = None,
                 ridge: float = DEFAULT_RIDGE) -> tuple[np.ndarray, float]:
    """-> (θ centred, ν). ν is the tie propensity (0: no ties)."""
    if not np.any(ties):
        raise AssayError("Bradley–Terry --ties davidson: no battle was a tie, so the tie parameter has no estimate; "
                         "use --ties half")
    x0 = np.zeros(n + 1) if start is None else start
    result = minimize(_davidson_objective, x0, jac=True, method="L-BFGS-B",
                      args=(n, first, second, first_wins, second_wins, ties, ridge),
                      options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10})
    if not result.success and "ABNORMAL" not in str(result.message):
        raise AssayError(f"Bradley–Terry (Davidson): the fit did not converge ({result.message})")
    theta = result.x[:n] - result.x[:n].mean()
    return theta, float(np.exp(result.x[n]))
