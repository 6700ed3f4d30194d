"""Training sequential recommenders on interaction logs (Wang et al. 2023, eq. 1).

* :mod:`~recommenders.training.loop`: :class:`TrainConfig` and :func:`train_model`;
* :mod:`~recommenders.training.fit`: one call from a log to a saved checkpoint;
* :mod:`~recommenders.training.throughput`: training events per second;
* :mod:`~recommenders.training.learning_curve`: per-epoch plots.
"""

from recommenders.training.fit import FitResult, fit_variant
from recommenders.training.loop import TrainConfig, TrainingDiverged, TrainResult, train_model

__all__ = [
    "FitResult",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "fit_variant",
    "train_model",
]
