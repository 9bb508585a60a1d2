"""Write the instructor notebooks 01-04 of ``notebooks/`` from the cells below, and execute them.

The notebooks are what students and instructors use; this script is only how they are kept
consistent: every cell is written here once, in order, with its kind:

* ``md(text)``: prose (markdown);
* ``code(source)``: a cell whose last expression is its output;
* ``exercise(source)``: code with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` blocks (the
  release turns each block into ``raise NotImplementedError``);
* ``test(id, points, source)``: a graded test cell; its ``### BEGIN HIDDEN TESTS`` block is
  removed from the student version;
* ``self_check(name)``: the last cell, which runs the public tests as the grader does.

Then the notebook is saved, executed top to bottom in a fresh kernel (its outputs stored for
nbval to compare) and saved again. Running it twice gives the same cells; the stored outputs
differ only where nbval does not look (widget model ids).

    python tools/build_notebooks.py            # all four
    python tools/build_notebooks.py 02 04      # some of them
    python tools/build_notebooks.py --no-execute
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from textwrap import dedent

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


# --------------------------------------------------------------------------------------------
# Cell constructors
# --------------------------------------------------------------------------------------------
def _text(source: str) -> str:
    return dedent(source).strip("\n")


def md(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(_text(source))


def code(source: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(_text(source))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def exercise(source: str) -> nbformat.NotebookNode:
    assert "### BEGIN SOLUTION" in source, "an exercise cell needs a solution block"
    return code(source)


def test(test_id: str, points: int, source: str) -> nbformat.NotebookNode:
    cell = code(source)
    cell.metadata["cs231n"] = {"id": test_id, "points": points}
    return cell


def self_check(name: str) -> nbformat.NotebookNode:
    cell = code(f'from cs231n_lib.grading import check\ncheck("{name}.ipynb")',
                tags=("nbval-ignore-output",))
    cell.metadata["cs231n"] = {"self_check": True}
    return cell


SELF_CHECK_TEXT = """
    ## Self-check

    Save the notebook (Ctrl-S), then run the cell below: it runs the public tests in a fresh
    kernel, exactly as the grader will. Hidden tests run only when your notebook is graded.
"""


# --------------------------------------------------------------------------------------------
# 01 · local connectivity
# --------------------------------------------------------------------------------------------
NB01 = [
    md("""
    # 01 · Local connectivity

    Neighbouring pixels of a photograph belong together; pixels far apart mostly do not. A
    convolutional network builds that into its first idea: a neuron that looks at a small patch
    of the image instead of at all of it. In this notebook you will

    * treat an image as a volume of numbers with a depth,
    * count what an ordinary, fully-connected neuron costs on real image sizes,
    * write a neuron that looks at one small window through every colour channel,
    * measure how far neurons higher up in a stack can see, on a real photograph.

    Each **Exercise** is followed by a test cell. The self-check at the end runs the public
    tests the way the grader does.
    """),
    code("""
    import numpy as np

    from cs231n_lib import geometry, viz
    from cs231n_lib.data import load_photo
    from cs231n_lib.layers import conv_forward_naive

    rng = np.random.default_rng(0)  # every random number of this notebook comes from here
    """),
    md("""
    ## 1. Images are volumes

    Every layer of a ConvNet receives a *volume*: numbers arranged along three axes. For the
    input image the third axis, the **depth**, holds the colour channels. The notes write a
    volume as width × height × depth (32x32x3 for a CIFAR-10 image). In code, this library
    follows the cs231n assignments and stores a batch as `(N, C, H, W)`: image, channel, row,
    column. One image is a `(C, H, W)` array.
    """),
    code("""
    photo = load_photo("astronaut", size=32)
    photo.shape, photo.dtype
    """),
    md("Each entry is one activation; a 32×32 colour image holds this many:"),
    code("geometry.activation_count(photo.shape)"),
    md("""
    ## 2. The price of full connectivity

    A neuron of an ordinary layer owns one weight for every number of its input. On a tiny
    CIFAR-10 image that is thousands of weights, and the count grows with the square of the
    image side:
    """),
    code("""
    {f"{H}x{W}x{C}": geometry.fc_param_count(H * W * C, 1)["weights"]
     for H, W, C in [(32, 32, 3), (200, 200, 3)]}
    """),
    md("""
    That is for a single neuron; a useful layer needs many, and each weight must be learned from
    a limited number of examples. Convolutional layers avoid this with two ideas: *local
    connectivity* (this notebook) and *parameter sharing* (notebook 03).

    **Exercise 1.** Write `fc_layer_params(input_shape, n_neurons)`: how many parameters
    (weights plus biases) a fully-connected layer of `n_neurons` neurons has on an input of
    shape `input_shape` (a tuple with any number of axes).
    """),
    exercise('''
    def fc_layer_params(input_shape, n_neurons):
        """Weights plus biases of a fully-connected layer.

        Inputs:
        - input_shape: tuple, e.g. (3, 32, 32)
        - n_neurons: number of neurons of the layer

        Returns: an int
        """
        ### BEGIN SOLUTION
        ### HINT: every neuron has one weight per input number, and one bias
        inputs = int(np.prod(input_shape))
        return inputs * n_neurons + n_neurons
        ### END SOLUTION
    '''),
    test("fc_layer_params", 1, """
    for shape, n in [((3, 32, 32), 1), ((3, 200, 200), 100), ((10,), 7)]:
        expected = geometry.fc_param_count(int(np.prod(shape)), n)["total"]
        assert fc_layer_params(shape, n) == expected, (shape, n, fc_layer_params(shape, n), expected)
    print("fc_layer_params agrees with geometry.fc_param_count")
    ### BEGIN HIDDEN TESTS
    assert fc_layer_params((3, 200, 200), 1) == 120_001
    assert fc_layer_params((1, 1, 1), 5) == 10
    ### END HIDDEN TESTS
    """),
    md("""
    ## 3. Local connectivity

    Wire each neuron to a small square window of the input instead, F×F pixels. The window is
    small in height and width but goes through **all** the channels: connections are local in
    space and complete in depth. F is the neuron's **receptive field**, also called its filter
    size.

    A 5×5 window on a 32x32x3 image, and a 3×3 window on a 16x16x20 volume:
    """),
    code("""
    {"5x5 window on 32x32x3": geometry.conv_param_count(C=3, K=1, F=5),
     "3x3 window on 16x16x20": geometry.conv_param_count(C=20, K=1, F=3)}
    """),
    md("""
    75 weights and a bias instead of 3,072, and the count no longer depends on the image size.
    The second case shows that depth is never cut: a 3×3 window on 20 channels makes
    3·3·20 = 180 connections.

    **Exercise 2.** Write `local_neuron(x, w, b, row, col)`: the output of one neuron whose
    F×F window has its top-left corner at `(row, col)` of the volume `x`, that is the sum of the
    window times the weights, plus the bias.
    """),
    exercise('''
    def local_neuron(x, w, b, row, col):
        """One locally connected neuron.

        Inputs:
        - x: input volume, shape (C, H, W)
        - w: the neuron's weights, shape (C, F, F)
        - b: its bias, a float
        - row, col: the top-left corner of its window in x

        Returns: a float
        """
        ### BEGIN SOLUTION
        ### HINT: cut a (C, F, F) window out of x, multiply it elementwise by w, sum, add b
        F = w.shape[-1]
        window = x[:, row:row + F, col:col + F]
        return float(np.sum(window * w) + b)
        ### END SOLUTION
    '''),
    test("local_neuron", 2, """
    x = rng.standard_normal((3, 8, 8))
    w = rng.standard_normal((3, 5, 5))
    # the reference conv layer computes all such neurons at once (stride 1, no padding)
    out, _ = conv_forward_naive(x[None], w[None], np.array([0.5]), {"stride": 1, "pad": 0})
    for row, col in [(0, 0), (1, 3), (3, 3)]:
        assert np.isclose(local_neuron(x, w, 0.5, row, col), out[0, 0, row, col]), (row, col)
    print("local_neuron matches the conv layer")
    ### BEGIN HIDDEN TESTS
    x2, w2 = rng.standard_normal((20, 16, 16)), rng.standard_normal((20, 3, 3))
    ref, _ = conv_forward_naive(x2[None], w2[None], np.zeros(1), {"stride": 1, "pad": 0})
    ours = [local_neuron(x2, w2, 0.0, r, c) for r in range(14) for c in range(14)]
    assert np.allclose(ours, ref[0, 0].ravel())
    ### END HIDDEN TESTS
    """),
    md("""
    Local in space, full in depth, seen from the outside: nudge a pixel far from the window and
    the neuron does not notice; nudge a single channel of a pixel inside it and it does.
    """),
    code('''
    x = rng.standard_normal((3, 12, 12))
    w = rng.standard_normal((3, 5, 5))

    def neuron(x):
        """The neuron whose 5x5 window starts at row 2, column 2."""
        return np.sum(x[:, 2:7, 2:7] * w)

    far, inside = x.copy(), x.copy()
    far[:, 10, 10] += 1.0   # every channel of a pixel outside the window
    inside[2, 6, 6] += 1.0  # only the blue channel of the window's corner pixel
    bool(neuron(far) == neuron(x)), bool(neuron(inside) == neuron(x))
    '''),
    md("""
    ## 4. Depth columns

    A layer puts several neurons on the same window, each with its own weights, so that each
    can respond to something different: an edge at some angle, a patch of some colour. The
    neurons that share one window form a **depth column** (or *fibre*). With K filters the
    output volume has depth K, and in the `(N, K, H_out, W_out)` layout the depth column at
    output position (i, j) is `out[n, :, i, j]`.
    """),
    code("""
    K = 5
    image = load_photo("astronaut", size=32).astype(np.float64)
    filters = rng.standard_normal((K, 3, 5, 5))
    out, _ = conv_forward_naive(image[None], filters, np.zeros(K), {"stride": 1, "pad": 0})
    out.shape, out[0, :, 10, 10].shape
    """),
    md("""
    ## 5. How far does a neuron see?

    A neuron of the second layer looks at a window of first-layer neurons, and each of those
    looks at a window of the image: its view of the image is wider than its own window. With
    stride 1, every F×F layer widens the view by F − 1 pixels.

    **Exercise 3.** Write `stacked_field(filter_sizes)`: the receptive field (in pixels, along
    one axis) of a neuron at the top of a stack of stride-1 conv layers with the given filter
    sizes, listed from the bottom up. An empty stack sees 1 pixel.
    """),
    exercise('''
    def stacked_field(filter_sizes):
        """Receptive field of a stack of stride-1 conv layers.

        Inputs:
        - filter_sizes: list of ints, the F of each layer from the bottom up

        Returns: an int
        """
        ### BEGIN SOLUTION
        ### HINT: start from 1 pixel; every layer adds F - 1
        field = 1
        for F in filter_sizes:
            field += F - 1
        return field
        ### END SOLUTION
    '''),
    test("stacked_field", 1, """
    for sizes in [[3], [3, 3], [3, 3, 3], [7], [5, 3, 1]]:
        assert stacked_field(sizes) == geometry.receptive_field([(F,) for F in sizes]), sizes
    print("three 3x3 layers see", stacked_field([3, 3, 3]), "pixels, as one 7x7 layer does:",
          stacked_field([7]))
    ### BEGIN HIDDEN TESTS
    assert stacked_field([]) == 1
    assert stacked_field([11, 5, 3, 3, 3]) == geometry.receptive_field([(11,), (5,), (3,), (3,), (3,)])
    ### END HIDDEN TESTS
    """),
    md("""
    ### The receptive-field viewer

    Choose a stack of layers, or type one: `3x3, 3x3 s2, 3x3 d2` lists the filter size of each
    layer with an optional stride `s`, dilation `d` and padding `p`. Move the point with the two
    sliders. Each coloured box is what one neuron after that layer sees of the photo; the
    close-up counts, for every pixel, how many paths lead from it up to the top neuron.
    """),
    code('viz.receptive_field_widget(photo="astronaut", preset="three 3x3 (7x7 view)")'),
    md("""
    Three stacked 3×3 layers and a single 7×7 layer see the same 7×7 patch, but not in the same
    way. In the stack, a central pixel reaches the top neuron along many more paths than a
    pixel at the edge of the patch; the 7×7 layer weighs all 49 pixels alike:
    """),
    code("""
    three = viz.compute_receptive_field("3x3, 3x3, 3x3", (33, 33))
    seven = viz.compute_receptive_field("7x7", (33, 33))
    viz.render_profiles({"three 3x3": three, "one 7x7": seven})
    """),
    md("""
    The stack is also cheaper. With C channels in and out, three 3×3 layers have 27C² weights
    and one 7×7 layer 49C² (and the stack can put a non-linearity between its layers):
    """),
    code("""
    C = 64
    {"three 3x3": 3 * geometry.conv_param_count(C, C, 3, bias=False)["weights"],
     "one 7x7": geometry.conv_param_count(C, C, 7, bias=False)["weights"]}
    """),
    md("""
    ## Summary

    * Activations are volumes; this library stores them as `(N, C, H, W)`.
    * A fully-connected neuron needs one weight per input number: 3,072 on 32x32x3, 120,000
      on 200x200x3.
    * A locally connected neuron sees an F×F window through the full depth: 5·5·3 = 75 weights
      plus a bias on a colour image.
    * Neurons on the same window form a depth column; stacking layers widens what a neuron sees.

    **Going further (not graded).** What receptive field do five stacked 3×3 layers have? Find a
    stack in the viewer whose top neuron sees more than 30 pixels with only three layers.

    The notebook's own numbers, checked by the library (these points need no exercise):
    """),
    test("facts", 1, """
    assert geometry.fc_param_count(32 * 32 * 3, 1)["weights"] == 3072
    assert geometry.fc_param_count(200 * 200 * 3, 1)["weights"] == 120_000
    assert geometry.conv_param_count(3, 1, 5)["weights"] == 75
    assert geometry.conv_param_count(20, 1, 3)["weights"] == 180
    assert geometry.receptive_field([(3,), (3,), (3,)]) == 7
    print("the numbers of this notebook check out")
    """),
    md(SELF_CHECK_TEXT),
    self_check("01_local_connectivity"),
]


# --------------------------------------------------------------------------------------------
# 02 · spatial arrangement
# --------------------------------------------------------------------------------------------
NB02 = [
    md("""
    # 02 · Spatial arrangement: how many neurons fit

    Notebook 01 settled what one neuron sees. This one settles how many neurons a conv layer has
    and where they sit. Besides the filter size F, three numbers decide it:

    * the **depth** K: how many filters, that is how many neurons share each window;
    * the **stride** S: how many pixels the window moves from one neuron to the next;
    * the **zero padding** P: how many rings of zeros are put around the input.

    You will write the output-size rule, a one-dimensional conv layer, the padding that keeps the
    size, and meet the famous 224-versus-227 puzzle of AlexNet.
    """),
    code("""
    import itertools

    import numpy as np

    from cs231n_lib import geometry, viz
    from cs231n_lib.geometry import ConvGeometryError, conv_output_size
    from cs231n_lib.layers import conv_forward_naive

    rng = np.random.default_rng(0)
    """),
    md(r"""
    ## 1. The output-size rule

    Along one axis the padded input has W + 2P cells. Windows of F cells start at cells
    0, S, 2S, …, and the last one must end exactly at the last cell. Counting the starting
    points gives

    $$W_{out} = \frac{W - F + 2P}{S} + 1 .$$

    The height follows the same rule, and the output's depth is K. The rule describes a layer
    only when the fraction is a whole number; otherwise the windows cannot tile the input and
    the setting is invalid. The examples of the notes:
    """),
    code("""
    cases = {"7x7 input, F=3, S=1, P=0": (7, 3, 1, 0),
             "7x7 input, F=3, S=2, P=0": (7, 3, 2, 0),
             "W=5, F=3, S=1, P=1": (5, 3, 1, 1),
             "W=5, F=3, S=2, P=1": (5, 3, 2, 1)}
    {name: conv_output_size(*args) for name, args in cases.items()}
    """),
    md("""
    Invalid settings raise `ConvGeometryError` (a kind of `ValueError`) with the arithmetic and
    some nearby settings that do fit:
    """),
    code("""
    for args in [(5, 3, 3, 1), (10, 3, 2, 0)]:
        try:
            conv_output_size(*args)
        except ConvGeometryError as err:
            print(err)
    """),
    md("""
    **Exercise 1.** Write `my_output_size(W, F, S=1, P=0, dilation=1)`. Return the output size as
    an `int`. When the windows do not fit (the filter is larger than the padded input, or the
    division leaves a remainder), raise `ValueError` with a message showing the arithmetic, such
    as `(10 - 3 + 2*0)/2 + 1 = 4.5`. Leave `dilation` aside until section 4: a dilated filter
    covers `dilation*(F - 1) + 1` cells, which takes the place of F in the rule.
    """),
    exercise('''
    def my_output_size(W, F, S=1, P=0, dilation=1):
        """Output size of a conv layer along one axis.

        Inputs:
        - W: input size; F: filter size; S: stride; P: zero padding on each side
        - dilation: 1 for an ordinary filter (section 4)

        Returns: an int. Raises ValueError when the windows do not fit.
        """
        ### BEGIN SOLUTION
        ### HINT: compute the span of the filter, check that it fits, then divmod(W - span + 2P, S)
        span = dilation * (F - 1) + 1
        if span > W + 2 * P:
            raise ValueError(f"a filter spanning {span} cells does not fit {W} + 2*{P} = {W + 2 * P}")
        steps, rest = divmod(W - span + 2 * P, S)
        if rest:
            raise ValueError(f"({W} - {span} + 2*{P})/{S} + 1 = {(W - span + 2 * P) / S + 1} "
                             "is not a whole number")
        return steps + 1
        ### END SOLUTION
    '''),
    test("output_size", 2, """
    settings = list(itertools.product(range(1, 13), range(1, 6), range(1, 5), range(0, 3)))
    for W, F, S, P in settings:
        try:
            expected = conv_output_size(W, F, S, P)
        except ConvGeometryError:
            try:
                my_output_size(W, F, S, P)
            except ValueError:
                continue
            raise AssertionError(f"my_output_size{(W, F, S, P)} should raise ValueError")
        got = my_output_size(W, F, S, P)
        assert got == expected and isinstance(got, int), ((W, F, S, P), got, expected)
    print("my_output_size agrees with the library on", len(settings), "settings")
    ### BEGIN HIDDEN TESTS
    try:
        my_output_size(10, 3, 2, 0)
        raise AssertionError("W=10, F=3, S=2, P=0 must raise ValueError")
    except ValueError as err:
        assert "4.5" in str(err), str(err)
    assert my_output_size(227, 11, 4, 0) == 55
    ### END HIDDEN TESTS
    """),
    md("""
    ## 2. The output-size explorer

    Move the sliders. The row of cells is one line of the input, with its zero padding in grey;
    each green circle is a neuron, joined to the cells its window reads. Invalid settings are
    drawn as well: the neuron that does not fit hangs past the end in red, and input cells that no
    window reads are outlined in red. Try the notes' invalid case: stride 3 with W = 5, F = 3,
    P = 1.
    """),
    code("viz.output_size_widget(W=5, F=3, S=2, P=1)"),
    md("""
    The notes' one-dimensional picture uses a neuron with weights [1, 0, −1] and no bias on an
    input of 5 numbers with one zero of padding on each side. Stride 1 gives 5 outputs, stride 2
    gives 3:
    """),
    code("""
    x = np.array([1.0, 2.0, -1.0, 0.0, 3.0])
    w = np.array([1.0, 0.0, -1.0])
    {f"S={S}": conv_forward_naive(x.reshape(1, 1, 1, -1), w.reshape(1, 1, 1, -1), np.zeros(1),
                                  {"stride": (1, S), "pad": (0, 1)})[0].ravel().tolist()
     for S in (1, 2)}
    """),
    md("""
    **Exercise 2.** Write `conv1d(x, w, b, S, P)`: a one-dimensional conv layer with one filter.
    Pad `x` with P zeros on both sides, slide `w` with stride S and return the outputs as an
    array. Use `my_output_size` for the number of outputs, so that an invalid setting raises
    `ValueError`.
    """),
    exercise('''
    def conv1d(x, w, b, S=1, P=0):
        """One filter sliding along a 1-D input.

        Inputs:
        - x: shape (W,); w: shape (F,); b: a float; S: stride; P: zero padding

        Returns: out, shape (W_out,)
        """
        ### BEGIN SOLUTION
        ### HINT: np.pad(x, P), then out[i] = sum(x_pad[i*S : i*S + F] * w) + b
        F = len(w)
        n = my_output_size(len(x), F, S, P)
        x_pad = np.pad(x, P)
        return np.array([np.dot(x_pad[i * S:i * S + F], w) + b for i in range(n)])
        ### END SOLUTION
    '''),
    test("conv1d", 2, """
    def reference_conv1d(x, w, b, S, P):
        out, _ = conv_forward_naive(x.reshape(1, 1, 1, -1), w.reshape(1, 1, 1, -1), np.array([b]),
                                    {"stride": (1, S), "pad": (0, P)})
        return out.ravel()

    x, w = rng.standard_normal(9), rng.standard_normal(3)
    for S, P in [(1, 0), (1, 1), (2, 1), (3, 0)]:
        assert np.allclose(conv1d(x, w, 0.25, S, P), reference_conv1d(x, w, 0.25, S, P)), (S, P)
    print("conv1d matches the conv layer")
    ### BEGIN HIDDEN TESTS
    try:
        conv1d(np.zeros(5), np.ones(3), 0.0, 3, 1)
        raise AssertionError("S=3 with W=5, F=3, P=1 must raise ValueError")
    except ValueError:
        pass
    assert np.allclose(conv1d(np.arange(5.0), np.array([1.0, 0.0, -1.0]), 0.0, 2, 1), [-1, -2, 3])
    ### END HIDDEN TESTS
    """),
    md("""
    ## 3. Padding that keeps the size

    In the first picture of the notes the input and the output both have 5 cells: with stride 1,
    padding P = (F − 1)/2 on each side gives back the input's size. That is the usual choice,
    because it lets the network's depth and its image sizes be chosen independently.

    **Exercise 3.** Write `same_padding(F)`: the padding that keeps the size of a stride-1 layer
    with an F×F filter. For an even F no symmetric padding works: raise `ValueError`.
    """),
    exercise('''
    def same_padding(F):
        """Zero padding that keeps the size of a stride-1 conv layer with filter size F."""
        ### BEGIN SOLUTION
        ### HINT: (F - 1) / 2, when that is a whole number
        if F % 2 == 0:
            raise ValueError(f"F = {F} is even: (F - 1)/2 = {(F - 1) / 2} is not a whole number")
        return (F - 1) // 2
        ### END SOLUTION
    '''),
    test("same_padding", 1, """
    for F in (1, 3, 5, 7, 11):
        for W in (F, 32, 57):
            assert conv_output_size(W, F, 1, same_padding(F)) == W, (W, F)
    print("with F=3 a 32-pixel input stays", conv_output_size(32, 3, 1, same_padding(3)), "wide")
    ### BEGIN HIDDEN TESTS
    for F in (2, 4):
        try:
            same_padding(F)
            raise AssertionError(f"F={F} must raise ValueError")
        except ValueError:
            pass
    ### END HIDDEN TESTS
    """),
    md("""
    ## 4. Dilation

    A dilated filter leaves gaps between its taps. With dilation D (PyTorch's convention, used
    by this library: D = 1 is an ordinary filter) the F taps are D cells apart and cover
    D(F − 1) + 1 cells. The notes count the gaps instead, so their dilation 0 is D = 1 here.
    The output-size rule is unchanged, with that span in place of F:
    """),
    code("""
    {f"D={D}": {"span": geometry.effective_filter_size(3, D),
                "output on 9 cells": conv_output_size(9, 3, 1, 0, dilation=D)}
     for D in (1, 2, 3, 4)}
    """),
    md("Now give `my_output_size` its `dilation` argument, if you have not yet:"),
    test("output_size_dilation", 1, """
    for W, F, S, P, D in itertools.product(range(3, 12), (2, 3), (1, 2), (0, 1), (2, 3)):
        try:
            expected = conv_output_size(W, F, S, P, D)
        except ConvGeometryError:
            continue
        assert my_output_size(W, F, S, P, dilation=D) == expected, (W, F, S, P, D)
    print("my_output_size handles dilation")
    ### BEGIN HIDDEN TESTS
    for args in [(5, 3, 1, 0, 3), (8, 3, 2, 0, 2)]:
        try:
            my_output_size(*args)
            raise AssertionError(f"{args} must raise ValueError")
        except ValueError:
            pass
    ### END HIDDEN TESTS
    """),
    md("""
    ## 5. The AlexNet puzzle: 227 or 224?

    The first layer of AlexNet takes colour images of 227×227 pixels, uses 11×11 filters with
    stride 4 and no padding, and has K = 96 filters. Its output volume:
    """),
    code("""
    side = conv_output_size(227, 11, 4, 0)
    (side, side, 96)
    """),
    md("The AlexNet paper speaks of 224×224 images. With the same layer, that cannot work:"),
    code("""
    try:
        conv_output_size(224, 11, 4, 0)
    except ConvGeometryError as err:
        print(err)
    """),
    md("""
    The sizes closest to 224 that fit are 223 and 227. A likely explanation is three pixels of
    padding that the paper does not mention: 224 + 3 = 227. Set the explorer to W = 224 and look
    for the padding or stride that repairs it:
    """),
    code("conv_output_size(224 + 3, 11, 4, 0)"),
    code("viz.output_size_widget(W=224, F=11, S=4, P=0, C=3, K=96)"),
    md("""
    ## Summary

    * Output size along each axis: (W − F + 2P)/S + 1, with D(F − 1) + 1 in place of F for a
      dilated filter; the output depth is the number of filters K.
    * The setting is valid only when that is a whole number: W = 10, F = 3, P = 0, S = 2 gives
      4.5 and is rejected.
    * P = (F − 1)/2 with stride 1 keeps the size; AlexNet's 227 (not 224) gives 55×55×96.

    **Going further (not graded).** Which strides make a 32-pixel input work with F = 5 and
    P = 2? Why is stride 3 rare in practice?

    The notebook's numbers, checked by the library (no exercise needed):
    """),
    test("facts", 1, """
    assert conv_output_size(7, 3, 1, 0) == 5 and conv_output_size(7, 3, 2, 0) == 3
    assert conv_output_size(5, 3, 1, 1) == 5 and conv_output_size(5, 3, 2, 1) == 3
    assert conv_output_size(227, 11, 4, 0) == 55
    for bad in [(5, 3, 3, 1), (10, 3, 2, 0), (224, 11, 4, 0)]:
        try:
            conv_output_size(*bad)
            raise AssertionError(f"{bad} should not fit")
        except ConvGeometryError:
            pass
    print("the numbers of this notebook check out")
    """),
    md(SELF_CHECK_TEXT),
    self_check("02_spatial_arrangement"),
]


# --------------------------------------------------------------------------------------------
# 03 · parameter sharing
# --------------------------------------------------------------------------------------------
NB03 = [
    md("""
    # 03 · Parameter sharing

    Local windows alone still leave a conv layer with an enormous number of parameters when
    every neuron owns its weights. This notebook counts them for AlexNet's first layer, makes
    the one assumption that divides the count by three thousand, and then follows a conv layer
    number by number: in NumPy, in the library, and in the notes' demo.
    """),
    code("""
    import numpy as np

    from cs231n_lib import geometry, viz
    from cs231n_lib.gradient_check import rel_error
    from cs231n_lib.layers import (conv_backward_naive, conv_forward_naive,
                                   locally_connected_backward, locally_connected_forward)

    rng = np.random.default_rng(0)
    """),
    md("""
    ## 1. Counting without sharing

    AlexNet's first layer produces a 55x55x96 volume (notebook 02). If each of its neurons had
    weights of its own, each would need an 11×11×3 block of weights plus a bias:
    """),
    code("""
    neurons = geometry.activation_count((55, 55, 96))
    per_neuron = 11 * 11 * 3 + 1
    neurons, per_neuron, neurons * per_neuron
    """),
    md("""
    Over a hundred million parameters in the first layer alone. A layer built this way is called
    *locally connected*; the library counts it the same way:
    """),
    code("geometry.locally_connected_param_count(C=3, K=96, F=11, H_out=55, W_out=55)"),
    md("""
    ## 2. One filter per depth slice

    The 55×55 neurons of one **depth slice** (one of the 96 activation maps) all do the same
    job, each at its own place. If a pattern such as a vertical edge is worth detecting in one
    corner of an image, it is worth detecting anywhere. So let the whole slice use **one** set of
    weights and one bias: a *filter*. The layer then has 96 filters:
    """),
    code("geometry.conv_param_count(C=3, K=96, F=11)"),
    md("""
    34,944 parameters instead of 105,705,600. Sliding one filter across the image and taking a
    dot product at every position is a convolution, which names the layer. The assumption is not
    always right: in a dataset of centred faces, eyes and mouths always sit in the same places,
    and a locally connected layer can learn different detectors for different positions.

    **Exercise 1.** Write `count_params(H, W, C, K, F, S, P, shared=True)`: the parameters
    (weights and biases) of a layer of K filters of size F×F on an H×W×C input, with sharing
    (a conv layer) or without it (a locally connected layer, one filter bank per output
    position). Use `geometry.conv_output_size` for the output size.
    """),
    exercise('''
    def count_params(H, W, C, K, F, S, P, shared=True):
        """Parameters of a conv layer (shared=True) or of a locally connected layer."""
        ### BEGIN SOLUTION
        ### HINT: shared: K filters of F*F*C weights + K biases; not shared: that per output position
        per_filter = F * F * C + 1
        if shared:
            return K * per_filter
        H_out = geometry.conv_output_size(H, F, S, P)
        W_out = geometry.conv_output_size(W, F, S, P)
        return H_out * W_out * K * per_filter
        ### END SOLUTION
    '''),
    test("count_params", 2, """
    assert count_params(227, 227, 3, 96, 11, 4, 0, shared=False) == 105_705_600
    assert count_params(227, 227, 3, 96, 11, 4, 0, shared=True) == 34_944
    for H, W, C, K, F, S, P in [(32, 32, 3, 12, 5, 1, 2), (7, 9, 2, 3, 3, 2, 1)]:
        H_out, W_out = geometry.conv_output_size(H, F, S, P), geometry.conv_output_size(W, F, S, P)
        assert count_params(H, W, C, K, F, S, P) == geometry.conv_param_count(C, K, F)["total"]
        assert count_params(H, W, C, K, F, S, P, shared=False) == \\
            geometry.locally_connected_param_count(C, K, F, H_out, W_out)["total"]
    print("count_params agrees with the library")
    ### BEGIN HIDDEN TESTS
    assert count_params(16, 16, 20, 1, 3, 1, 1, shared=True) == 181
    assert count_params(5, 5, 1, 1, 5, 1, 0, shared=False) == 26
    ### END HIDDEN TESTS
    """),
    md("""
    ### The parameter counter

    The same output volume made by a fully-connected, a locally connected and a conv layer.
    Change the input and the layer and compare the bars (on a logarithmic scale):
    """),
    code("viz.param_counter_widget()"),
    md("""
    ## 3. Depth slices and depth columns in NumPy

    The notes index volumes as `X[x, y, depth]`: the depth column at (x, y) is `X[x, y, :]` and
    depth slice d is `X[:, :, d]`. Their example is a volume of shape (11, 11, 4):
    """),
    code("""
    X = rng.standard_normal((11, 11, 4))
    X[0, 0, :].shape, X[:, :, 0].shape
    """),
    md("""
    (In this library's `(C, H, W)` layout the same volume is `X.transpose(2, 1, 0)`; its depth
    column is `[:, y, x]` and its slice `[d]`.) A conv layer with F = 5, S = 2 and no padding
    fits (11 − 5)/2 + 1 = 4 neurons along each axis. The neuron at (x, y) of activation map d
    computes `np.sum(X[x*2:x*2+5, y*2:y*2+5, :] * W_d) + b_d`: the window moves in steps of the
    stride, and the same `W_d` and `b_d` serve every position of the map.

    **Exercise 2.** Write `conv_xyd(X, Ws, bs, S)`, this layer in the notes' layout, with loops.
    """),
    exercise('''
    def conv_xyd(X, Ws, bs, S):
        """A conv layer without padding, on a volume in the notes' (x, y, depth) layout.

        Inputs:
        - X: input, shape (Wx, Wy, D)
        - Ws: filters, shape (K, F, F, D); Ws[d] makes activation map d
        - bs: biases, shape (K,)
        - S: stride

        Returns: V, shape (Wx_out, Wy_out, K)
        """
        ### BEGIN SOLUTION
        ### HINT: loop over x, y and d; V[x, y, d] = np.sum(X[window] * Ws[d]) + bs[d]
        K, F = Ws.shape[0], Ws.shape[1]
        nx = geometry.conv_output_size(X.shape[0], F, S, 0)
        ny = geometry.conv_output_size(X.shape[1], F, S, 0)
        V = np.zeros((nx, ny, K))
        for x in range(nx):
            for y in range(ny):
                for d in range(K):
                    V[x, y, d] = np.sum(X[x * S:x * S + F, y * S:y * S + F, :] * Ws[d]) + bs[d]
        return V
        ### END SOLUTION
    '''),
    test("conv_xyd", 2, """
    Ws, bs = rng.standard_normal((2, 5, 5, 4)), rng.standard_normal(2)
    V = conv_xyd(X, Ws, bs, 2)
    assert V.shape == (4, 4, 2), V.shape
    # the same layer in the library's (N, C, H, W) layout: C is the depth, H is y, W is x
    ref, _ = conv_forward_naive(X.transpose(2, 1, 0)[None], Ws.transpose(0, 3, 2, 1), bs,
                                {"stride": 2, "pad": 0})
    assert rel_error(V, ref[0].transpose(2, 1, 0)) < 1e-10
    # entries the notes work out by hand: output (x, y, d) and the window it reads
    by_hand = {(1, 0, 0): X[2:7, 0:5], (3, 0, 0): X[6:11, 0:5],
               (0, 1, 1): X[0:5, 2:7], (2, 3, 1): X[4:9, 6:11]}
    for (x, y, d), window in by_hand.items():
        assert np.isclose(V[x, y, d], np.sum(window * Ws[d]) + bs[d]), (x, y, d)
    print("V has shape", V.shape, "and matches the conv layer")
    ### BEGIN HIDDEN TESTS
    X3, W3 = rng.standard_normal((9, 7, 3)), rng.standard_normal((3, 3, 3, 3))
    b3 = rng.standard_normal(3)
    ref3, _ = conv_forward_naive(X3.transpose(2, 1, 0)[None], W3.transpose(0, 3, 2, 1), b3,
                                 {"stride": 1, "pad": 0})
    assert rel_error(conv_xyd(X3, W3, b3, 1), ref3[0].transpose(2, 1, 0)) < 1e-10
    ### END HIDDEN TESTS
    """),
    md("""
    ## 4. Locally connected versus conv

    The library has both layers. A locally connected layer keeps one filter bank per output
    position: its weights have shape `(H_out, W_out, K, C, F, F)`. Put the same filters at every
    position and it computes exactly the convolution.

    **Exercise 3.** Write `tie_weights(w, b, H_out, W_out)`: locally connected weights and
    biases that repeat a conv layer's `w` and `b` at every output position.
    """),
    exercise('''
    def tie_weights(w, b, H_out, W_out):
        """Locally connected parameters that repeat one conv layer's filters everywhere.

        Inputs:
        - w: conv filters, shape (K, C, F, F); b: biases, shape (K,)
        - H_out, W_out: the output size

        Returns a tuple of:
        - w_lc: shape (H_out, W_out, K, C, F, F)
        - b_lc: shape (H_out, W_out, K)
        """
        ### BEGIN SOLUTION
        ### HINT: np.broadcast_to(w, (H_out, W_out) + w.shape), then .copy()
        w_lc = np.broadcast_to(w, (H_out, W_out) + w.shape).copy()
        b_lc = np.broadcast_to(b, (H_out, W_out) + b.shape).copy()
        return w_lc, b_lc
        ### END SOLUTION
    '''),
    test("tie_weights", 1, """
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    param = {"stride": 2, "pad": 1}  # (7 - 3 + 2)/2 + 1 = 4
    conv_out, _ = conv_forward_naive(x, w, b, param)
    w_lc, b_lc = tie_weights(w, b, 4, 4)
    assert w_lc.shape == (4, 4, 4, 3, 3, 3) and b_lc.shape == (4, 4, 4)
    lc_out, _ = locally_connected_forward(x, w_lc, b_lc, param)
    assert rel_error(lc_out, conv_out) < 1e-10
    print("a locally connected layer with tied weights is the conv layer")
    ### BEGIN HIDDEN TESTS
    w_lc2, b_lc2 = tie_weights(w, b, 2, 3)
    assert w_lc2.shape == (2, 3, 4, 3, 3, 3) and np.array_equal(w_lc2[1, 2], w)
    assert np.array_equal(b_lc2[0, 1], b)
    ### END HIDDEN TESTS
    """),
    md("""
    Sharing also explains the gradient of a filter. During backpropagation every neuron of a
    slice computes a gradient for the weights it used; with sharing those are the same weights,
    so their gradients add up. Summing the locally connected layer's weight gradients over all
    positions gives the conv layer's gradient:
    """),
    code("""
    x, w = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    param = {"stride": 2, "pad": 1}
    w_lc = np.broadcast_to(w, (4, 4) + w.shape).copy()
    b_lc = np.broadcast_to(b, (4, 4) + b.shape).copy()
    dout = rng.standard_normal((2, 4, 4, 4))
    _, lc_cache = locally_connected_forward(x, w_lc, b_lc, param)
    _, dw_lc, db_lc = locally_connected_backward(dout, lc_cache)
    _, dw, db = conv_backward_naive(dout, conv_forward_naive(x, w, b, param)[1])
    # one shared filter = the sum of its copies' gradients over all output positions
    (bool(rel_error(dw_lc.sum(axis=(0, 1)), dw) < 1e-10),
     bool(rel_error(db_lc.sum(axis=(0, 1)), db) < 1e-10))
    """),
    md("""
    ## 5. One filter, the whole image

    A hand-made vertical-edge filter lights up on vertical edges wherever they are in the
    photo, because the same weights are used at every position. Try the other filters, photos
    and strides:
    """),
    code('viz.filters_widget(photo="camera", bank="edges")'),
    md("""
    ## 6. The convolution demo, one number at a time

    The notes' demo: a 5x5x3 input, K = 2 filters of 3×3, stride 2 and padding 1. The output is
    (5 − 3 + 2)/2 + 1 = 3 wide, a 3x3x2 volume:
    """),
    code("""
    x, w, b = viz.demo_volume(C=3, H=5, W=5, K=2, F=3)
    out, _ = conv_forward_naive(x[None], w, b, {"stride": 2, "pad": 1})
    out.shape
    """),
    md("""
    Step through it with the slider or the play button. In every input slice the orange window
    is multiplied, number by number, with the same slice of the active filter; the products of
    all three slices are summed, the bias is added, and the result goes into the orange output
    cell. Change any setting: one the layer rejects is explained instead of drawn.
    """),
    code("viz.conv_stepper_widget()"),
    md("""
    The same sum for one output number, from `compute_conv_step`: its position, the sum of each
    input slice, the bias, the total, and the number the layer wrote:
    """),
    code("""
    s = viz.compute_conv_step(x, w, b, {"stride": 2, "pad": 1}, step=4)
    (s.k, s.i, s.j), s.channel_sums.tolist(), float(s.b[s.k]), s.total, float(out[0, s.k, s.i, s.j])
    """),
    md("""
    ## Summary

    * Without sharing, AlexNet's first layer has 290,400 neurons × 364 parameters =
      105,705,600; with one filter per depth slice, 96 × 363 + 96 = 34,944.
    * A conv layer is a locally connected layer whose filter banks are tied; the gradient of a
      shared filter is the sum of the gradients of its copies.
    * `V[x, y, d] = np.sum(X[window] * W_d) + b_d`, the window moving by the stride.

    **Going further (not graded).** With the parameter counter, find an input size at which a
    fully-connected layer to the same output would need more than a trillion weights.

    The notebook's numbers, checked by the library (no exercise needed):
    """),
    test("facts", 1, """
    assert geometry.activation_count((55, 55, 96)) == 290_400
    assert geometry.locally_connected_param_count(3, 96, 11, 55, 55)["total"] == 105_705_600
    counts = geometry.conv_param_count(3, 96, 11)
    assert (counts["weights"], counts["total"]) == (34_848, 34_944)
    assert geometry.conv_output_size(11, 5, 2, 0) == 4
    assert geometry.conv_output_size(5, 3, 2, 1) == 3
    print("the numbers of this notebook check out")
    """),
    md(SELF_CHECK_TEXT),
    self_check("03_parameter_sharing"),
]


# --------------------------------------------------------------------------------------------
# 04 · the conv layer
# --------------------------------------------------------------------------------------------
NB04 = [
    md("""
    # 04 · The convolutional layer

    You know what a conv layer computes; now you implement it. First the forward pass with
    loops, then its backward pass, checked against numeric gradients. Then the idea that makes
    conv layers fast, **im2col**, which turns the whole layer into one matrix product. Along the
    way: why the backward pass is a convolution itself, what a 1×1 convolution is good for, and
    how dilation widens what a neuron sees.
    """),
    code("""
    import numpy as np

    from cs231n_lib import geometry, viz
    from cs231n_lib.fast_layers import conv_forward_fast
    from cs231n_lib.gradient_check import (check_layer_gradients, eval_numerical_gradient_array,
                                           rel_error)
    from cs231n_lib.im2col import im2col
    from cs231n_lib.layers import conv_backward_naive, conv_forward_naive

    rng = np.random.default_rng(0)
    """),
    md(r"""
    ## 1. The forward pass

    For an input `x` of shape (N, C, H, W), filters `w` of shape (F, C, HH, WW) and biases `b`
    of shape (F,), the output has shape (N, F, H_out, W_out) and

    $$\text{out}[n, f, i, j] = \sum_{c, u, v} x_p[n, c,\ iS + uD,\ jS + vD]\ w[f, c, u, v] + b[f]$$

    where $x_p$ is `x` with P zeros on every side, S the stride and D the dilation (1 for an
    ordinary filter).

    **Exercise 1.** Write `conv_forward_student(x, w, b, conv_param)` with loops over the
    output positions (loops over images and filters are fine too). `conv_param` holds integer
    `'stride'` and `'pad'` and maybe `'dilation'` (default 1). Return `(out, cache)` with
    `cache = (x, w, b, conv_param)`.
    """),
    exercise('''
    def conv_forward_student(x, w, b, conv_param):
        """Forward pass of a conv layer.

        Inputs:
        - x: shape (N, C, H, W); w: shape (F, C, HH, WW); b: shape (F,)
        - conv_param: 'stride', 'pad' and optionally 'dilation'

        Returns a tuple of:
        - out: shape (N, F, H_out, W_out)
        - cache: (x, w, b, conv_param)
        """
        ### BEGIN SOLUTION
        ### HINT: pad x with np.pad, then for each output (i, j) cut the window with slices of step D
        S, P = conv_param["stride"], conv_param["pad"]
        D = conv_param.get("dilation", 1)
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        H_out = geometry.conv_output_size(H, HH, S, P, D)
        W_out = geometry.conv_output_size(W, WW, S, P, D)
        x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
        out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[:, :, i * S:i * S + D * (HH - 1) + 1:D, j * S:j * S + D * (WW - 1) + 1:D]
                # (N, C, HH, WW) against (F, C, HH, WW): one dot product per image and filter
                out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
        return out, (x, w, b, conv_param)
        ### END SOLUTION
    '''),
    test("conv_forward", 3, """
    for shape, wshape, param in [((2, 3, 5, 5), (4, 3, 3, 3), {"stride": 1, "pad": 0}),
                                 ((2, 3, 7, 7), (2, 3, 3, 3), {"stride": 2, "pad": 1}),
                                 ((1, 2, 8, 8), (3, 2, 2, 2), {"stride": 2, "pad": 0})]:
        x, w, b = rng.standard_normal(shape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
        out, _ = conv_forward_student(x, w, b, param)
        ref, _ = conv_forward_naive(x, w, b, param)
        assert out.shape == ref.shape, (out.shape, ref.shape)
        assert rel_error(out, ref) < 1e-10, rel_error(out, ref)
    print("conv_forward_student matches conv_forward_naive")
    ### BEGIN HIDDEN TESTS
    x, w, b = rng.standard_normal((2, 2, 9, 9)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    for param in [{"stride": 1, "pad": 2, "dilation": 2}, {"stride": 3, "pad": 0}]:
        assert rel_error(conv_forward_student(x, w, b, param)[0], conv_forward_naive(x, w, b, param)[0]) < 1e-10
    ### END HIDDEN TESTS
    """),
    md(r"""
    ## 2. The backward pass

    The upstream gradient `dout` has the output's shape. Each output number came from one
    window, so by the chain rule

    * the pixels of that window receive `dout[n, f, i, j] * w[f]`,
    * the filter `w[f]` receives `dout[n, f, i, j] * window`,
    * the bias `b[f]` receives `dout[n, f, i, j]`.

    Windows overlap when the stride is smaller than the filter, so the contributions add up.

    **Exercise 2.** Write `conv_backward_student(dout, cache)` returning `(dx, dw, db)`, with
    the same stride, padding and dilation as your forward pass.
    """),
    exercise('''
    def conv_backward_student(dout, cache):
        """Backward pass of a conv layer.

        Inputs:
        - dout: shape (N, F, H_out, W_out)
        - cache: from conv_forward_student

        Returns a tuple of: dx (N, C, H, W), dw (F, C, HH, WW), db (F,)
        """
        ### BEGIN SOLUTION
        ### HINT: loop over (i, j) as in the forward pass, add into dx_pad and dw, then crop the padding
        x, w, b, conv_param = cache
        S, P = conv_param["stride"], conv_param["pad"]
        D = conv_param.get("dilation", 1)
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        H_out, W_out = dout.shape[2:]
        x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
        dx_pad = np.zeros_like(x_pad)
        dw = np.zeros_like(w)
        for i in range(H_out):
            for j in range(W_out):
                rows = slice(i * S, i * S + D * (HH - 1) + 1, D)
                cols = slice(j * S, j * S + D * (WW - 1) + 1, D)
                g = dout[:, :, i, j]  # (N, F)
                dx_pad[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
                dw += np.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))
        dx = dx_pad[:, :, P:P + H, P:P + W]
        db = dout.sum(axis=(0, 2, 3))
        return dx, dw, db
        ### END SOLUTION
    '''),
    test("conv_backward", 3, """
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    param = {"stride": 2, "pad": 1}
    out, cache = conv_forward_student(x, w, b, param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_student(dout, cache)
    # numeric gradients of the reference layer's output, by centred differences
    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, param)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: conv_forward_naive(x, w, b, param)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: conv_forward_naive(x, w, b, param)[0], b, dout)
    for name, analytic, numeric in [("dx", dx, dx_num), ("dw", dw, dw_num), ("db", db, db_num)]:
        assert rel_error(analytic, numeric) < 1e-7, (name, rel_error(analytic, numeric))
    print("conv_backward_student passes the numeric gradient check")
    ### BEGIN HIDDEN TESTS
    x, w, b = rng.standard_normal((1, 2, 7, 7)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    for param in [{"stride": 1, "pad": 0, "dilation": 2}, {"stride": 2, "pad": 0}]:
        out, cache = conv_forward_naive(x, w, b, param)
        dout = rng.standard_normal(out.shape)
        ours = conv_backward_student(dout, conv_forward_student(x, w, b, param)[1])
        for a, r in zip(ours, conv_backward_naive(dout, cache)):
            assert rel_error(a, r) < 1e-10
    ### END HIDDEN TESTS
    """),
    md("""
    The library's one-call checker does this for every input of a layer pair, and when a
    gradient is wrong it names the array and the worst entry. On the reference layer:
    """),
    code("""
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2)
    errors = check_layer_gradients(conv_forward_naive, conv_backward_naive, {"x": x, "w": w, "b": b},
                                   {"stride": 2, "pad": 1})
    {name: bool(err < 1e-7) for name, err in errors.items()}
    """),
    md("""
    ## 3. The backward pass is a convolution

    Take stride 1 and no padding. The weight gradient `dw[f, c]` slides `dout[:, f]` over the
    input channel `x[:, c]` and sums over the images: a convolution of x with dout, in which the
    images play the role of the channels. Check it with the forward layer itself:
    """),
    code("""
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    out, cache = conv_forward_naive(x, w, np.zeros(4), {"stride": 1, "pad": 0})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    # x as (C, N, H, W) "images with N channels", dout as (F, N, 4, 4) "filters": output (C, F, 3, 3)
    dw_as_conv, _ = conv_forward_naive(x.transpose(1, 0, 2, 3), dout.transpose(1, 0, 2, 3),
                                       np.zeros(4), {"stride": 1, "pad": 0})
    bool(rel_error(dw_as_conv.transpose(1, 0, 2, 3), dw) < 1e-10)
    """),
    md("""
    The input gradient is a convolution too: each input pixel collects `dout` times the filter
    taps that touched it, which is `dout` slid under the filters turned by 180° (flipped up-down
    and left-right), with the roles of F and C exchanged, over `dout` padded by HH − 1 zeros
    (a "full" convolution).

    **Exercise 3.** Write `dx_by_convolution(dout, w)`: dx of a stride-1, unpadded conv layer
    with square filters, computed by one call of `conv_forward_naive`.
    """),
    exercise('''
    def dx_by_convolution(dout, w):
        """dx of a stride-1, unpadded conv layer, as a forward convolution.

        Inputs:
        - dout: shape (N, F, H_out, W_out)
        - w: shape (F, C, HH, HH)

        Returns: dx, shape (N, C, H_out + HH - 1, W_out + HH - 1)
        """
        ### BEGIN SOLUTION
        ### HINT: flip w on its last two axes, swap its first two, pad dout with HH - 1 zeros
        F, C, HH, _ = w.shape
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, F, HH, HH)
        dx, _ = conv_forward_naive(dout, flipped, np.zeros(C), {"stride": 1, "pad": HH - 1})
        return dx
        ### END SOLUTION
    '''),
    test("dx_by_convolution", 2, """
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    out, cache = conv_forward_naive(x, w, np.zeros(4), {"stride": 1, "pad": 0})
    dout = rng.standard_normal(out.shape)
    dx, _, _ = conv_backward_naive(dout, cache)
    assert rel_error(dx_by_convolution(dout, w), dx) < 1e-10
    print("dx is dout convolved with the flipped filters")
    ### BEGIN HIDDEN TESTS
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 5, 5))
    out, cache = conv_forward_naive(x, w, np.zeros(3), {"stride": 1, "pad": 0})
    dout = rng.standard_normal(out.shape)
    assert rel_error(dx_by_convolution(dout, w), conv_backward_naive(dout, cache)[0]) < 1e-10
    ### END HIDDEN TESTS
    """),
    md("""
    ## 4. im2col: the layer as one matrix product

    Every output number is a filter dotted with a window. Copy each window into a column of a
    matrix `X_col` and each filter into a row of `W_row`: the single product `W_row @ X_col`
    then computes all of them at once, and a tuned matrix-multiplication library (BLAS) does the
    work. For AlexNet's first layer:
    """),
    code("""
    x = rng.standard_normal((1, 3, 227, 227)).astype(np.float32)
    w = (0.01 * rng.standard_normal((96, 3, 11, 11))).astype(np.float32)
    X_col = im2col(x, 11, 11, stride=4)
    W_row = w.reshape(96, -1)
    X_col.shape, W_row.shape, (W_row @ X_col).shape
    """),
    md("""
    A column holds the 11·11·3 = 363 numbers of one window, and there are 55·55 = 3025 windows.
    Reshaped, the 96 × 3025 product is the 55x55x96 output volume, the same numbers the fast
    conv layer computes:
    """),
    code("""
    out = (W_row @ X_col).reshape(96, 55, 55)
    fast, _ = conv_forward_fast(x, w, np.zeros(96, np.float32), {"stride": 4, "pad": 0})
    out.shape, bool(np.allclose(out, fast[0], atol=1e-5))
    """),
    md("""
    The price is memory: windows overlap, so `X_col` holds copies of most input numbers (here
    about seven copies each):
    """),
    code('viz.compute_im2col_shapes((3, 227, 227), K=96, F=11, S=4)'),
    md("""
    ### im2col, live

    The orange window on the left is the orange column of `X_col`; the orange row of `W_row` is
    one filter; the two meet in the orange entry of the product, which is one number of the
    output volume. Move the window, change the filter row, or change the layer.
    """),
    code("viz.im2col_widget()"),
    md("""
    **Exercise 4.** Write `im2col_student(x, F, S, P)` with loops, in the library's layout: row
    `c*F*F + u*F + v` holds tap (u, v) of channel c, and column `n*H_out*W_out + i*W_out + j` is
    the window under output (i, j) of image n.
    """),
    exercise('''
    def im2col_student(x, F, S, P):
        """Every F x F window of x as one column.

        Inputs:
        - x: shape (N, C, H, W); F: filter size; S: stride; P: zero padding

        Returns: cols, shape (C*F*F, N*H_out*W_out)
        """
        ### BEGIN SOLUTION
        ### HINT: loop over images and output positions; window.reshape(-1) is one column
        N, C, H, W = x.shape
        H_out, W_out = geometry.conv_output_size(H, F, S, P), geometry.conv_output_size(W, F, S, P)
        x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
        cols = np.empty((C * F * F, N * H_out * W_out), dtype=x.dtype)
        for n in range(N):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * S:i * S + F, j * S:j * S + F]
                    cols[:, (n * H_out + i) * W_out + j] = window.reshape(-1)
        return cols
        ### END SOLUTION
    '''),
    test("im2col", 2, """
    x = rng.standard_normal((2, 3, 7, 7))
    for F, S, P in [(3, 1, 0), (3, 2, 1), (2, 1, 0)]:
        ours, ref = im2col_student(x, F, S, P), im2col(x, F, F, stride=S, pad=P)
        assert ours.shape == ref.shape, (ours.shape, ref.shape)
        assert np.array_equal(ours, ref), (F, S, P)
    # with it, a conv layer is one matrix product and a reshape
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    product = w.reshape(4, -1) @ im2col_student(x, 3, 2, 1) + b[:, None]  # (4, 2*4*4)
    out = product.reshape(4, 2, 4, 4).transpose(1, 0, 2, 3)
    assert rel_error(out, conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})[0]) < 1e-10
    print("im2col_student matches the library, and W_row @ X_col is the conv layer")
    ### BEGIN HIDDEN TESTS
    x = rng.standard_normal((1, 2, 7, 5))
    assert np.array_equal(im2col_student(x, 3, 2, 0), im2col(x, 3, 3, stride=2, pad=0))
    ### END HIDDEN TESTS
    """),
    md("""
    ## 5. 1×1 convolutions

    For a flat two-dimensional signal a 1×1 filter would only rescale it. In a ConvNet the
    filter reaches through the whole depth, so a 1×1 conv layer computes, at every pixel, K dot
    products with the C numbers of the depth column: a small fully-connected layer applied to
    each pixel. On a 32x32x3 input, each 1×1 filter has 3 weights:
    """),
    code("""
    x = rng.standard_normal((1, 3, 32, 32))
    w, b = rng.standard_normal((8, 3, 1, 1)), rng.standard_normal(8)
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
    per_pixel = np.einsum("kc,nchw->nkhw", w[:, :, 0, 0], x) + b[None, :, None, None]
    out.shape, bool(np.allclose(out, per_pixel))
    """),
    md("""
    ## 6. Dilated convolutions

    With dilation D the taps of a filter sit D pixels apart. In one dimension, a 3-tap filter
    with D = 2 reads the inputs 0, 2 and 4 for its first output, skipping every other one (the
    notes call this dilation 1: they count the gaps, this library counts as PyTorch does):
    """),
    code("""
    x = np.arange(7.0).reshape(1, 1, 1, 7)  # 0, 1, ..., 6
    w = np.array([1.0, 10.0, 100.0]).reshape(1, 1, 1, 3)
    out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0, "dilation": 2})
    out.ravel().tolist()  # the first reads inputs 0, 2, 4: 1*0 + 10*2 + 100*4
    """),
    md("Your forward pass from Exercise 1 should handle `'dilation'` too:"),
    test("conv_forward_dilated", 1, """
    x, w, b = rng.standard_normal((1, 2, 7, 7)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    param = {"stride": 1, "pad": 0, "dilation": 2}
    out, _ = conv_forward_student(x, w, b, param)
    assert out.shape == (1, 2, 3, 3), out.shape
    assert rel_error(out, conv_forward_naive(x, w, b, param)[0]) < 1e-10
    print("the dilated forward pass matches")
    """),
    md("""
    Dilation lets a few layers see far. Two stacked 3×3 layers see a 5×5 patch of the input
    (their *effective receptive field*); with dilations 1, 2 and 4, three layers see 15×15 with
    no more weights than three ordinary 3×3 layers:
    """),
    code("""
    stacks = {"3x3, 3x3": [(3,), (3,)],
              "3x3, 3x3, 3x3": [(3,), (3,), (3,)],
              "3x3 dilated 1, 2, 4": [(3, 1, 0, 1), (3, 1, 0, 2), (3, 1, 0, 4)]}
    {name: [field.size for field in geometry.receptive_fields(layers)] for name, layers in stacks.items()}
    """),
    md("See it on a photo, then compare with the stack without dilation:"),
    code('viz.receptive_field_widget(photo="chelsea", preset="3x3 dilated 1, 2, 4")'),
    md("""
    ## Summary

    * A conv layer's forward pass is a dot product per window and filter; its backward pass
      sends `dout` back through the same windows, and both gradients are convolutions.
    * im2col turns the layer into one matrix product: for AlexNet's first layer, a 96 × 363
      `W_row` times a 363 × 3025 `X_col`.
    * A 1×1 conv layer mixes channels pixel by pixel; dilation widens the receptive field
      without adding weights.

    **Going further (not graded).** How much memory does `X_col` take for a batch of 64
    AlexNet images in float32? Which stride makes `X_col` no larger than the input?

    The notebook's numbers, checked by the library (no exercise needed):
    """),
    test("facts", 1, """
    shapes = viz.compute_im2col_shapes((3, 227, 227), K=96, F=11, S=4)
    assert shapes["X_col"] == (363, 3025) and shapes["W_row"] == (96, 363)
    assert shapes["output"] == (1, 96, 55, 55)
    assert geometry.receptive_field([(3,), (3,)]) == 5
    assert geometry.receptive_field([(3, 1, 0, 1), (3, 1, 0, 2), (3, 1, 0, 4)]) == 15
    assert geometry.conv_param_count(3, 8, 1)["weights"] == 24
    print("the numbers of this notebook check out")
    """),
    md(SELF_CHECK_TEXT),
    self_check("04_conv_layer"),
]


BOOK = {
    "01_local_connectivity": NB01,
    "02_spatial_arrangement": NB02,
    "03_parameter_sharing": NB03,
    "04_conv_layer": NB04,
}


# --------------------------------------------------------------------------------------------
# Writing and executing
# --------------------------------------------------------------------------------------------
def notebook(name: str, cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate(cells):
        cell = nbformat.from_dict(dict(cell))
        cell.id = f"nb{name[:2]}-{index:02d}"  # stable ids: the grader uses cells as landmarks
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def build(name: str, execute: bool = True, timeout: int = 600) -> float:
    """Write notebooks/<name>.ipynb; execute it in place when ``execute``. Returns seconds."""
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = notebook(name, BOOK[name])
    nbformat.write(nb, path)  # the self-check cell reads the saved file
    if not execute:
        return 0.0
    start = time.perf_counter()
    # no widget state and no timing metadata: the saved file depends on the cells only
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write and execute notebooks 01-04.")
    parser.add_argument("only", nargs="*", help="notebook numbers to build (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="write the cells only")
    args = parser.parse_args(argv)
    names = [n for n in BOOK if not args.only or n[:2] in args.only]
    NOTEBOOKS.mkdir(exist_ok=True)
    for name in names:
        seconds = build(name, execute=not args.no_execute)
        print(f"{name}: {len(BOOK[name])} cells" + (f", executed in {seconds:.1f} s" if seconds else ""),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
