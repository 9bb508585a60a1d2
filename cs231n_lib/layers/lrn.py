"""Local response normalization (LRN) across channels, the normalization of AlexNet (2012).

Each activation is divided by a power of the energy of the same pixel in its neighbouring
channels, so that a strongly responding channel damps its neighbours ("lateral inhibition")::

    b[n, c, i, j] = a[n, c, i, j] / (k + alpha * S[n, c, i, j]) ** beta
    S[n, c, i, j] = sum of a[n, c', i, j] ** 2 over the channels c' of the window of c

The window of channel c holds the ``size`` channels ``c - size//2 .. c + (size - 1)//2``,
cut off at the first and the last channel (for an odd size, ``size//2`` on each side).

Conventions, since implementations differ in two places:

* **alpha multiplies the sum** of the squares, as in the AlexNet paper, whose constants are
  the defaults here: ``size=5, alpha=1e-4, beta=0.75, k=2``.
* PyTorch's ``torch.nn.LocalResponseNorm(size, alpha, beta, k)`` (and Caffe's LRN layer)
  multiply the *mean* instead: ``alpha / size`` times the sum, the window padded with zeros and
  always divided by ``size``. Its window is the one above. So PyTorch's layer with
  ``alpha = a`` equals this one with ``alpha = a / size`` (same size, beta and k); PyTorch's
  default k is 1, not 2.

Backward, with ``d = k + alpha * S`` (so ``b = a * d**-beta``): the activation ``a[m]`` feeds its
own output directly and, through ``S``, the outputs of every channel whose window holds m::

    dx[m] = dout[m] * d[m]**-beta - 2 * alpha * beta * a[m] * T[m]
    T[m]  = sum of dout[c] * a[c] * d[c]**(-beta - 1) over the channels c whose window holds m

Those channels are ``m - (size - 1)//2 .. m + size//2``: the window mirrored.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..validate import check_int, check_params
from ._checks import check_dout, check_input_4d

#: AlexNet's constants (Krizhevsky, Sutskever and Hinton, 2012, section 3.3)
LRN_DEFAULTS = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def _channel_window_sum(v: Any, before: int, after: int) -> Any:
    """``out[:, c] = v[:, c - before] + ... + v[:, c + after]``, channels outside 0..C-1 counting
    as zero. One shifted slice per offset (a handful), no loop over channels."""
    xp = xp_of(v)
    C = v.shape[1]
    padded = xp.pad(v, ((0, 0), (before, after), (0, 0), (0, 0)))
    out = xp.zeros_like(v)
    for offset in range(before + after + 1):
        out += padded[:, offset:offset + C]
    return out


def local_response_norm_forward(x: Any, lrn_param: dict | None = None) -> tuple[Any, tuple]:
    """Forward pass of across-channel local response normalization.

    Inputs:
    - x: activations, shape (N, C, H, W)
    - lrn_param: optional dict with
      - 'size': channels in each window, n (default 5)
      - 'alpha': weight of the sum of squares (default 1e-4; PyTorch's alpha / size)
      - 'beta': the exponent (default 0.75)
      - 'k': the constant added (default 2)

    Returns a tuple of:
    - out: shape (N, C, H, W)
    - cache: what the backward pass needs
    """
    check_input_4d(x)
    p = check_params({} if lrn_param is None else lrn_param, "lrn_param", optional=LRN_DEFAULTS)
    size = check_int(p["size"], "lrn_param['size']", 1)
    alpha, beta, k = float(p["alpha"]), float(p["beta"]), float(p["k"])
    if alpha < 0:
        raise ValueError(f"lrn_param['alpha'] must be >= 0, got {alpha}")
    if k <= 0:
        # k > 0 keeps the denominator positive even where every neighbour is 0
        raise ValueError(f"lrn_param['k'] must be > 0, got {k}")
    xp = xp_of(x)
    before, after = size // 2, (size - 1) // 2
    d = k + alpha * _channel_window_sum(x * x, before, after)
    scale = d ** -beta
    out = (x * scale).astype(x.dtype, copy=False)
    return out, (x, d, scale, alpha, beta, before, after, xp.result_type(x))


def local_response_norm_backward(dout: Any, cache: tuple) -> Any:
    """Backward pass of local response normalization.

    Inputs:
    - dout: upstream gradient, shape (N, C, H, W)
    - cache: from :func:`local_response_norm_forward`

    Returns:
    - dx: shape (N, C, H, W)
    """
    x, d, scale, alpha, beta, before, after, dtype = cache
    check_dout(dout, x.shape)
    # every channel c sends dout[c] * a[c] * d[c]**(-beta - 1) to the channels of its window;
    # channel m collects from the c whose window holds it: the mirrored window
    T = _channel_window_sum(dout * x * scale / d, after, before)
    dx = dout * scale - 2 * alpha * beta * x * T
    return dx.astype(dtype, copy=False)
