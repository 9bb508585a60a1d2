"""Live visualizers for the notebooks: every formula of the notes with a slider next to it.

Each visualizer is three functions, so that what is drawn can be tested:

==  =====================  ==================================  ==================================
nb  module                 computes                            widget
==  =====================  ==================================  ==================================
00  ``augmentation``       one image transformed, normalized   each transform, random copies
00  ``strides``            shape, strides, view or copy        x's buffer under an operation
00  ``gradient_descent``   loss of SGD / mini-batch / batch    batch sizes, learning rate
01  ``receptive_field``    what a neuron deep in a stack sees  receptive fields on a photo
02  ``output_size``        output size, window positions       W, F, S, P, dilation explorer
03  ``param_counter``      FC vs locally connected vs conv     parameter counts for any layer
03  ``filters``            activation maps of a filter bank    filters and their maps on a photo
03  ``conv_stepper``       one output number and its sum       the notes' demo, generalised
04  ``im2col_view``        the window, its column, the rows    im2col beside the sliding window
05  ``pool_stepper``       one pooling window, its switch, dx  pooling window by window, backward
06  ``batchnorm_explorer`` batch vs running statistics         batch size, mode, momentum, seed
07  ``score_map``          class scores over a larger canvas   a crop slid over the score maps
08  ``hyperparams``        training runs: loss, accuracies     Train/Stop, live curves, run table
09  ``memory_explorer``    memory by kind and layer, batch     network, input, batch, dtype, GPU
==  =====================  ==================================  ==================================

``compute_*`` returns numbers and arrays (on the device of its inputs), ``render_*`` returns a
matplotlib figure or an HTML string, ``*_widget()`` returns a :class:`~.common.LiveView`.
"""
from .augmentation import (augmentation_widget, compute_augmentation, load_source,
                           render_augmentation)
from .batchnorm_explorer import (batchnorm_widget, compute_batchnorm_stats, digit_activations,
                                 render_batchnorm_stats)
from .common import PALETTE, Drawing, LiveView
from .conv_stepper import compute_conv_step, conv_stepper_widget, demo_volume, render_conv_step
from .filters import compute_activations, filters_widget, hand_made_filters, render_filters
from .gradient_descent import (compute_gd_comparison, gd_widget, render_gd_comparison,
                               updates_per_epoch)
from .hyperparams import (RunSettings, TrainingRun, compute_training_run, hyperparams_widget,
                          render_runs)
from .im2col_view import (compute_im2col_shapes, compute_im2col_view, im2col_widget,
                          render_im2col_view)
from .memory_explorer import compute_memory, memory_explorer_widget, render_memory
from .output_size import compute_output_size, output_size_widget, render_output_size
from .param_counter import compute_param_counts, param_counter_widget, render_param_counts
from .pool_stepper import (compute_pool_step, compute_switches, demo_plane, photo_plane,
                           pool_stepper_widget, render_pool_step, upstream_gradient)
from .receptive_field import (compute_receptive_field, parse_layers, receptive_field_widget,
                              render_profiles, render_receptive_field)
from .score_map import (compute_score_map, digit_canvas, render_score_map, score_map_widget,
                        train_digits_net)
from .strides import compute_strides, render_strides, strides_widget

__all__ = [
    "PALETTE", "Drawing", "LiveView",
    "compute_output_size", "render_output_size", "output_size_widget",
    "demo_volume", "compute_conv_step", "render_conv_step", "conv_stepper_widget",
    "parse_layers", "compute_receptive_field", "render_receptive_field", "render_profiles",
    "receptive_field_widget",
    "compute_im2col_shapes", "compute_im2col_view", "render_im2col_view", "im2col_widget",
    "compute_param_counts", "render_param_counts", "param_counter_widget",
    "hand_made_filters", "compute_activations", "render_filters", "filters_widget",
    "load_source", "compute_augmentation", "render_augmentation", "augmentation_widget",
    "compute_strides", "render_strides", "strides_widget",
    "updates_per_epoch", "compute_gd_comparison", "render_gd_comparison", "gd_widget",
    "digit_activations", "compute_batchnorm_stats", "render_batchnorm_stats", "batchnorm_widget",
    "demo_plane", "photo_plane", "upstream_gradient", "compute_pool_step", "compute_switches",
    "render_pool_step", "pool_stepper_widget",
    "compute_memory", "render_memory", "memory_explorer_widget",
    "digit_canvas", "train_digits_net", "compute_score_map", "render_score_map",
    "score_map_widget",
    "RunSettings", "TrainingRun", "compute_training_run", "render_runs", "hyperparams_widget",
]
