"""The data options every command that reads a real data set shares.

A data set is a preset (``--dataset ml1m``, the folder under the data root or
``--data``) or any interaction table (``--interactions FILE``, with
``--items FILE``) described by column options or one ``--schema FILE``
(JSON/YAML, :class:`recommenders.datasets.TableSchema`). Options given on the
command line override the schema's; unset options keep the schema's, then
:class:`TableSchema`'s defaults. The rating rule's fields are options too
(``--min-rating 0.5 --rating-step 0.5`` for half stars).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.arguments import number
from recommenders.datasets import (
    PRESETS,
    InteractionData,
    TableSchema,
    load_preset,
    read_schema,
)
from recommenders.datasets.presets import preset_folder

COLUMN_OPTIONS = (
    ("user", "user id column (default user)"),
    ("item", "item id column (default item)"),
    ("order", "position or timestamp column (default position)"),
    ("rating", "rating column: numbers on the rating rule's scale"),
    ("feedback", "feedback column: Feedback codes 0..4 or names (DISLIKE, ...)"),
    ("dwell", "dwell column: fraction watched, in [0, 1] (default: 1.0 for every event)"),
    ("item-id", "item id column of --items (default item)"),
    ("clusters", "content cluster column of --items, e.g. genres (default clusters)"),
    ("cluster-sep", "separator of several clusters in one cell (default |)"),
    ("creator", "creator column of --items, e.g. a director id (default: none)"),
    ("creator-name", "creator display-name column of --items"),
    ("title", "title column of --items"),
    ("sep", "CSV field separator of both tables, e.g. '\\t' (default ,)"),
)
"""(option, help) of every column option; the option's name with _ is the TableSchema field."""

RULE_OPTIONS = (
    ("min-rating", "min_rating", "lowest rating of the scale (default 1)"),
    ("max-rating", "max_rating", "highest rating of the scale (default 5)"),
    ("rating-step", "step", "step of the scale (default 1; 0.5 for half stars)"),
    ("dislike-max", "dislike_max", "ratings <= this are DISLIKE (default 2)"),
    ("positive-min", "positive_min", "ratings >= this are POSITIVE (default 4)"),
    ("like-min", "like_min", "ratings >= this are LIKE (default: none)"),
)
"""(option, RatingRule field, help) of the rating rule's options."""


def add_data_arguments(parser: argparse.ArgumentParser, default: str | None = "ml1m") -> None:
    """Add the data source (``--dataset`` | ``--interactions``/``--schema``), the column
    options and the rating rule options to ``parser``; ``default`` is the preset used
    when no source is named (None: the command has another default source)."""
    what = f"default {default}" if default else "instead of the command's default source"
    source = parser.add_argument_group("data set", f"a preset ({what}) or any interaction table")
    source.add_argument("--dataset", choices=sorted(PRESETS), help=f"a preset ({what})")
    source.add_argument(
        "--data", type=Path, help="the preset's folder (default: under the data root)"
    )
    source.add_argument(
        "--interactions", type=Path, help="an interaction table (CSV, .csv.gz or parquet)"
    )
    source.add_argument("--items", type=Path, help="its item table (clusters, creator, title)")
    source.add_argument(
        "--schema",
        type=Path,
        help="JSON/YAML file of the column options below (and the tables' paths); "
        "options given here override it",
    )
    columns = parser.add_argument_group(
        "columns of --interactions / --items (as recommenders.datasets.load_interactions)"
    )
    for option, text in COLUMN_OPTIONS:
        columns.add_argument(f"--{option}", help=text)
    columns.add_argument(
        "--order-kind", choices=("position", "timestamp"), help="of --order (default position)"
    )
    rule = parser.add_argument_group("rating rule (recommenders.datasets.RatingRule)")
    for option, _, text in RULE_OPTIONS:
        rule.add_argument(f"--{option}", type=number, help=text)


def _given(args: argparse.Namespace) -> list[str]:
    names = [option for option, _ in COLUMN_OPTIONS] + ["order-kind"]
    names += [option for option, _, _ in RULE_OPTIONS]
    return [f"--{n}" for n in names if getattr(args, n.replace("-", "_")) is not None]


def table_schema(args: argparse.Namespace) -> tuple[TableSchema, Path | None, Path | None]:
    """The schema, interaction table and item table the options name (the schema file's
    paths unless --interactions / --items are given)."""
    if args.schema is not None:
        read = read_schema(args.schema)
        schema, interactions, items = read.schema, read.interactions, read.items
    else:
        # A table named only by its columns: without --rating or --feedback, "rating".
        rating = "rating" if args.rating is None and args.feedback is None else args.rating
        schema = TableSchema(rating=rating, feedback=args.feedback)
        interactions, items = None, None
    options = {
        option.replace("-", "_"): getattr(args, option.replace("-", "_"))
        for option, _ in COLUMN_OPTIONS
    }
    options["order_kind"] = args.order_kind
    options["sep"] = None if args.sep is None else args.sep.encode().decode("unicode_escape")
    for option, field, _ in RULE_OPTIONS:
        options[f"rule_{field}"] = getattr(args, option.replace("-", "_"))
    try:
        schema = schema.with_options(**options)
    except ValueError as error:
        raise ValueError(f"data options: {error}") from None
    interactions = args.interactions if args.interactions is not None else interactions
    items = args.items if args.items is not None else items
    return schema, interactions, items


def load_data(args: argparse.Namespace, default: str = "ml1m") -> InteractionData:
    """The data set the options of :func:`add_data_arguments` name.

    One-line ValueError when the options contradict each other: a preset with
    column options, ``--items`` without a table, a schema naming no table.
    """
    table = args.interactions is not None or args.schema is not None
    if args.dataset is not None and table:
        raise ValueError(
            "--dataset names a preset; --interactions / --schema name a table: pick one"
        )
    if not table:
        given = _given(args) + (["--items"] if args.items is not None else [])
        if given:
            raise ValueError(
                f"{given[0]} describes an interaction table; give it with --interactions FILE "
                "(or --schema FILE), or drop it to use a preset"
            )
        return load_preset(args.dataset or default, args.data)
    if args.data is not None:
        raise ValueError("--data is a preset's folder; with --interactions give the file itself")
    schema, interactions, items = table_schema(args)
    if interactions is None:
        raise ValueError(f"{args.schema}: names no interactions table; give --interactions FILE")
    return schema.load(interactions, items)


def preset_name(args: argparse.Namespace, default: str | None = "ml1m") -> str | None:
    """The preset the options load (``default`` when none is named), or None for a table."""
    if args.interactions is not None or args.schema is not None:
        return None
    return args.dataset or default


def data_source(args: argparse.Namespace, default: str | None = "ml1m") -> dict:
    """Where the data came from, JSON-ready for a run's record: the preset and its folder,
    or the table files and the schema they were read with."""
    preset = preset_name(args, default)
    if preset is not None:
        folder = args.data if args.data is not None else preset_folder(preset)
        return {"preset": preset, "folder": str(folder)}
    schema, interactions, items = table_schema(args)
    return {
        "interactions": str(interactions),
        "items": None if items is None else str(items),
        "schema_file": None if args.schema is None else str(args.schema),
        "schema": schema.to_dict(),
    }
