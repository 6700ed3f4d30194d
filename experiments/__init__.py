"""Command lines (the ``*.py`` files here) and the studies built on the library.

The studies (:mod:`experiments.paper`, :mod:`experiments.movielens`) supply parts
and call the library; nothing in ``simulator``, ``agents`` or ``recommenders``
imports them.
"""
