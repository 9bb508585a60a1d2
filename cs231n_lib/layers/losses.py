"""Classification losses on class scores: softmax (cross-entropy) and multiclass SVM (hinge).

Both take scores x of shape (N, C) and integer labels y of shape (N,) with ``0 <= y[i] < C``,
and return the loss averaged over the N examples with its gradient with respect to x.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..validate import check_finite, check_float_array, check_labels


def _check_scores(x: Any, y: Any) -> None:
    check_float_array(x, "x", 2, "(N, C) scores")
    N, C = x.shape
    if N == 0 or C == 0:
        raise ValueError("x must hold at least one example and one class, "
                         f"got shape {tuple(x.shape)}")
    check_labels(y, C, N, "y")
    check_finite(x, "x")  # one NaN score would turn the whole loss into NaN


def softmax_loss(x: Any, y: Any) -> tuple[Any, Any]:
    """Softmax (cross-entropy) loss.

    The scores become probabilities ``p = exp(x) / sum(exp(x))`` per row; the loss of one
    example is ``-log p[y]``. Subtracting each row's maximum first changes nothing
    mathematically and keeps ``exp`` from overflowing. The gradient is ``p - onehot(y)``,
    averaged over the batch.

    Inputs:
    - x: scores, shape (N, C); x[i, j] is the score of class j for example i
    - y: labels, shape (N,), integers in [0, C)

    Returns a tuple of:
    - loss: a scalar (dtype of x)
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    _check_scores(x, y)
    xp = xp_of(x, y)
    N = x.shape[0]
    rows = xp.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dx = xp.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return loss, dx


def svm_loss(x: Any, y: Any) -> tuple[Any, Any]:
    """Multiclass SVM (hinge) loss with margin 1.

    Each wrong class j adds ``max(0, x[j] - x[y] + 1)``: it is penalized when it scores within
    1 of the correct class. The gradient is +1 for every wrong class with a positive margin and
    minus their count for the correct class, averaged over the batch. (At a margin of exactly 0
    we take the gradient 0.)

    Inputs:
    - x: scores, shape (N, C)
    - y: labels, shape (N,), integers in [0, C)

    Returns a tuple of:
    - loss: a scalar (dtype of x)
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    _check_scores(x, y)
    xp = xp_of(x, y)
    N = x.shape[0]
    rows = xp.arange(N)
    correct = x[rows, y][:, None]
    margins = xp.maximum(0, x - correct + 1)
    margins[rows, y] = 0  # the correct class is not compared with itself
    loss = margins.sum() / x.dtype.type(N)
    dx = (margins > 0).astype(x.dtype)  # +1 per violating wrong class...
    dx[rows, y] = -dx.sum(axis=1)  # ...and minus their count for the correct one (it was 0)
    dx /= N
    return loss, dx
