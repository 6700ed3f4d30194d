"""The loss registries: :data:`POSITIVE_LOSSES` and :data:`NEGATIVE_LOSSES`, by name.

Each value is a :class:`~recommenders.losses.base.LossEntry`: calling it with keyword
arguments builds the loss (what :class:`~recommenders.losses.objective.Objective` does
with a name), and ``entry.for_training(config, windows, n_items)`` builds it the way
:func:`recommenders.training.loop.build_objective` does (``TrainConfig.positive_loss``
names a positive entry, ``Variant.negative_loss`` a negative one). ``TrainConfig``
accepts exactly the names in :data:`POSITIVE_LOSSES`, and the contract test
(tests/recommenders/losses/test_registry.py) runs over every entry.

To add a loss to an existing family (say ``softmax.py``):

1. write the class there, a subclass of :class:`~recommenders.losses.base.WeightedLoss`
   implementing ``per_example(source, states, labels) -> (N,)``, with a default for
   every constructor argument;
2. append ``LossEntry("name", TheClass, role="positive")`` (or ``role="negative"``) to
   that file's ``ENTRIES``. Give it ``fixed={...}`` for constructor arguments the name
   implies, and ``from_train_config=fn`` when training needs more than the defaults:
   ``fn(config, windows, n_items)`` returns the loss, reading e.g. ``config.seed``,
   ``config.device`` or ``config.n_negatives`` (a new option is a new
   :class:`~recommenders.training.loop.TrainConfig` field);
3. optionally, re-export the class from ``recommenders/losses/__init__.py`` so that
   ``from recommenders.losses import TheClass`` works; the registry does not need it.

A new family is a new file with its own ``ENTRIES`` tuple, listed in :data:`_FAMILIES`
below. A name may appear once per registry (checked at import).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

from recommenders.losses import gbce, negative_weight, not_to_recommend, softmax
from recommenders.losses.base import LossEntry

_FAMILIES = (softmax, not_to_recommend, negative_weight, gbce)
"""Every family module; each has ``ENTRIES``. Their order is the registries' order."""


class LossRegistry(Mapping[str, LossEntry]):
    """A read-only ``name -> LossEntry`` mapping whose missing keys name the known ones."""

    def __init__(self, role: Literal["positive", "negative"], entries: tuple[LossEntry, ...]):
        self.role = role
        self._entries: dict[str, LossEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"{role} loss {entry.name!r} is registered twice")
            self._entries[entry.name] = entry

    def __getitem__(self, name: str) -> LossEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.role} loss {name!r}; known: {sorted(self._entries)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"LossRegistry({self.role!r}, {list(self._entries)})"


def _collect(role: Literal["positive", "negative"]) -> LossRegistry:
    return LossRegistry(role, tuple(e for f in _FAMILIES for e in f.ENTRIES if e.role == role))


POSITIVE_LOSSES = _collect("positive")
"""Losses for positive labels, by name."""

NEGATIVE_LOSSES = _collect("negative")
"""Losses for negative labels, by name; weights are magnitudes ``w >= 0``."""
