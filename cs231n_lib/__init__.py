"""cs231n_lib: the reference layer library, gradient checks, visualizers and grading tools of
the ConvNet workbook. Arrays are (N, C, H, W); every layer is a ``*_forward -> (out, cache)``
and ``*_backward(dout, cache) -> gradients`` pair, as in the cs231n assignments."""

__version__ = "0.1.0"
