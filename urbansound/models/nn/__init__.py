"""Neural models written in NumPy and trained by their own gradient descent.

Three scikit-learn classifiers whose forward pass, backward pass and optimiser are all
written here, so every step of training can be read and tested:

``gd-logreg``  :class:`GDLogisticRegression`, multinomial softmax regression.
``fnn``        :class:`FeedForwardNetwork`, a multilayer perceptron.
``rnn``        :class:`RecurrentNetwork`, an Elman or GRU network over sequences
               (for example MFCC frame matrices), trained by backpropagation through
               time.

All three follow the scikit-learn estimator contract (``__init__`` stores its keyword
arguments, ``fit`` validates them and returns ``self``, fitted attributes end in ``_``)
and pass :func:`sklearn.utils.estimator_checks.parametrize_with_checks`.
:mod:`urbansound.models.registry` gives them by name with defaults for this data.

Notes
-----
Behaviour common to the three models:

Inputs
    Standardised inside ``fit`` (``mean_`` and ``scale_`` are stored), so the models
    take raw features. Computation is float64 throughout; the softmax is computed
    through log-sum-exp and the sigmoid only exponentiates non-positive numbers, so
    extreme inputs give finite probabilities.
Objective
    Mean softmax cross-entropy plus ``lam / 2`` times the squared Frobenius norm of
    every weight matrix; biases are not penalised.
Optimiser
    ``solver="gd"`` takes one full-batch step per epoch, ``solver="sgd"`` takes one
    step per shuffled minibatch of ``batch_size``. With ``momentum`` > 0 the update is
    heavy-ball momentum: ``v = momentum * v - eta * grad; w += v``.
Early stopping
    With ``early_stopping=True`` a stratified ``validation_fraction`` of the training
    set is held out; training stops once the validation cross-entropy has not improved
    by ``tol`` for ``patience`` epochs, and the weights of the best epoch are kept.
Errors
    Bad hyperparameters raise :class:`ValueError` naming the parameter and the value,
    from ``fit`` (never from ``__init__``). A loss that becomes non-finite (``eta``
    far too large) raises :class:`FloatingPointError`.
Testing hooks
    Every model has ``_init_params(n_inputs, n_classes, rng)`` and
    ``_loss_and_grads(params, X, y)``: ``params`` is a dict of named arrays, ``X`` the
    standardised 2-D design, ``y`` class indices ``0 .. n_classes - 1``; it returns the
    objective and a dict of its gradients, for checking against finite differences.

Examples
--------
>>> from sklearn.datasets import make_classification
>>> X, y = make_classification(n_samples=200, n_features=8, random_state=0)
>>> FeedForwardNetwork(hidden="16", epochs=20, random_state=0).fit(X, y).score(X, y) > 0.8
True
"""

from urbansound.models.nn._base import ACTIVATIONS
from urbansound.models.nn.fnn import FeedForwardNetwork
from urbansound.models.nn.logreg import GDLogisticRegression
from urbansound.models.nn.rnn import RecurrentNetwork

__all__ = ["ACTIVATIONS", "FeedForwardNetwork", "GDLogisticRegression", "RecurrentNetwork"]
