"""mathgrad: the derivatives every neural network is trained with, in NumPy.

Every differentiable operation is a pair ``op_forward(*inputs, **options) -> (out, cache)``
and ``op_backward(dout, cache) -> grads``; the book in ``docs/`` derives each rule and
checks it against finite differences with :func:`gradcheck`.

The modules ``softmax``, ``sigmoid`` and ``gradcheck`` share their names with a function;
after ``import mathgrad`` the attribute is the function (as the public contract says), and
the module stays importable as ``import mathgrad.softmax`` via ``sys.modules``.
"""

from . import activations as _activations
from . import attention as _attention
from . import conv as _conv
from . import dropout as _dropout
from . import embedding as _embedding
from . import gradcheck as _gradcheck
from . import linear as _linear
from . import lstm as _lstm
from . import mlp as _mlp
from . import normalization as _normalization
from . import optim as _optim
from . import pooling as _pooling
from . import rnn as _rnn
from . import sigmoid as _sigmoid
from . import softmax as _softmax
from .activations import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .embedding import *  # noqa: F403
from .gradcheck import *  # noqa: F403
from .linear import *  # noqa: F403
from .lstm import *  # noqa: F403
from .mlp import *  # noqa: F403
from .normalization import *  # noqa: F403
from .optim import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sigmoid import *  # noqa: F403
from .softmax import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    *_softmax.__all__,
    *_sigmoid.__all__,
    *_activations.__all__,
    *_linear.__all__,
    *_mlp.__all__,
    *_conv.__all__,
    *_pooling.__all__,
    *_rnn.__all__,
    *_normalization.__all__,
    *_dropout.__all__,
    *_lstm.__all__,
    *_attention.__all__,
    *_embedding.__all__,
    *_gradcheck.__all__,
    *_optim.__all__,
]

del (
    _softmax,
    _sigmoid,
    _activations,
    _linear,
    _mlp,
    _conv,
    _pooling,
    _rnn,
    _normalization,
    _dropout,
    _lstm,
    _attention,
    _embedding,
    _gradcheck,
    _optim,
)
