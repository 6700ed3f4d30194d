"""A data set described by data: the column names and rating rule of an interaction table.

:class:`TableSchema` holds every option :func:`~recommenders.datasets.load_interactions`
takes, so a data set the project has never seen is one small JSON or YAML
file instead of code. For the 2016 MovieLens ``ml-latest-small`` (half-star
ratings, Unix timestamps, genres in ``movies.csv``)::

    {
      "interactions": "ratings.csv",
      "items": "movies.csv",
      "user": "userId", "item": "movieId",
      "order": "timestamp", "order_kind": "timestamp",
      "rating": "rating",
      "item_id": "movieId", "clusters": "genres", "title": "title",
      "rule": {"min_rating": 0.5, "step": 0.5}
    }

``interactions`` and ``items`` are paths relative to the schema file; every
other key is a :func:`load_interactions` option of the same name, and
``rule`` holds :class:`~recommenders.datasets.RatingRule` fields. Columns the
schema does not name are not read, so extra (even empty) columns are ignored;
a named column that is missing or empty is an error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from recommenders.datasets.errors import DataError
from recommenders.datasets.interactions import InteractionData
from recommenders.datasets.loader import load_interactions
from recommenders.datasets.rules import RatingRule
from recommenders.history import Feedback

REQUIRED = ("user", "item", "order", "order_kind", "item_id", "cluster_sep", "sep")
"""Options that cannot be None (the others name optional columns or the data set)."""

PATH_KEYS = ("interactions", "items")
"""Schema keys that are file paths (relative to the schema file) rather than options."""


@dataclass(frozen=True)
class TableSchema:
    """The column names, order kind, CSV separator and rating rule of an interaction table.

    Attributes mirror :func:`~recommenders.datasets.load_interactions`: ``user``,
    ``item``, ``order`` (a position or timestamp column, ``order_kind``),
    ``rating`` or ``feedback`` (at least one), ``dwell`` (fraction watched, in
    [0, 1]); of the item table ``item_id``, ``clusters`` (split on
    ``cluster_sep``), ``creator``, ``creator_name`` and ``title``; ``sep`` is the
    field separator of CSV files (``"\\t"`` for tab-separated); ``rule`` maps
    ratings to feedback; ``name`` names the data set (default: the file's stem).
    """

    user: str = "user"
    item: str = "item"
    order: str = "position"
    order_kind: str = "position"
    rating: str | None = None
    feedback: str | None = None
    dwell: str | None = None
    item_id: str = "item"
    clusters: str | None = "clusters"
    cluster_sep: str = "|"
    creator: str | None = None
    creator_name: str | None = None
    title: str | None = None
    sep: str = ","
    rule: RatingRule = field(default_factory=RatingRule)
    name: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "rule":
                if not isinstance(value, RatingRule):
                    raise ValueError(f"TableSchema.rule must be a RatingRule, got {value!r}")
            elif value is not None and not isinstance(value, str):
                raise ValueError(f"TableSchema.{f.name} must be a string, got {value!r}")
            elif value is None and f.name in REQUIRED:
                raise ValueError(f"TableSchema.{f.name} must be a string, got None")
        if self.order_kind not in ("position", "timestamp"):
            raise ValueError(
                f"TableSchema.order_kind must be 'position' or 'timestamp', got {self.order_kind!r}"
            )
        if self.rating is None and self.feedback is None:
            raise ValueError("TableSchema needs a rating or a feedback column (neither is named)")
        if not self.sep:
            raise ValueError("TableSchema.sep must not be empty")

    @classmethod
    def from_mapping(cls, mapping: dict, source: str = "schema") -> TableSchema:
        """A schema from a mapping of option names (``rule`` a mapping of RatingRule fields).

        One-line ValueError naming ``source`` and the key for an unknown key or a bad value.
        """
        if not isinstance(mapping, dict):
            raise ValueError(
                f"{source}: a schema is a mapping of options, got {type(mapping).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown schema key {unknown[0]!r}; "
                f"known: {', '.join(sorted(known | set(PATH_KEYS)))}"
            )
        values = dict(mapping)
        if "rule" in values:
            values["rule"] = rule_from_mapping(values["rule"], f"{source}: rule")
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    def with_options(self, **options) -> TableSchema:
        """This schema with the options that are not None replaced (``rule_X``: rule field X)."""
        rule = {k.removeprefix("rule_"): v for k, v in options.items() if k.startswith("rule_")}
        rule = {k: v for k, v in rule.items() if v is not None}
        plain = {k: v for k, v in options.items() if not k.startswith("rule_") and v is not None}
        changed = replace(self, **plain) if plain else self
        if rule:
            merged = {**asdict(self.rule), **rule}
            changed = replace(changed, rule=rule_from_mapping(merged, "rating rule"))
        return changed

    def load(self, interactions: str | Path, items: str | Path | None = None) -> InteractionData:
        """Load ``interactions`` (and the item table ``items``) with this schema."""
        read_csv = {} if self.sep == "," else {"sep": self.sep}
        return load_interactions(
            interactions,
            user=self.user,
            order=self.order,
            order_kind=self.order_kind,
            item=self.item,
            rating=self.rating,
            feedback=self.feedback,
            dwell=self.dwell,
            rule=self.rule if self.feedback is None else None,
            items=items,
            item_id=self.item_id,
            clusters=self.clusters if items is not None else None,
            cluster_sep=self.cluster_sep,
            creator=self.creator,
            creator_name=self.creator_name,
            title=self.title,
            name=self.name,
            read_csv=read_csv,
        )

    def to_dict(self) -> dict:
        """JSON-ready form (what :meth:`from_mapping` reads back), e.g. for a run's record."""
        record = asdict(self)
        record["rule"] = self.rule.to_dict()
        return record


def rule_from_mapping(mapping, source: str) -> RatingRule:
    """A RatingRule from a mapping of its fields (``neutral`` a Feedback name or code)."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{source} must be a mapping of RatingRule fields, got {mapping!r}")
    known = {f.name for f in fields(RatingRule)}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValueError(
            f"{source}: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    values = dict(mapping)
    neutral = values.get("neutral")
    if isinstance(neutral, str):
        names = {f.name: f for f in Feedback}
        if neutral.upper() not in names:
            raise ValueError(
                f"{source}: neutral {neutral!r} is not a Feedback name {sorted(names)}"
            )
        values["neutral"] = names[neutral.upper()]
    try:
        return RatingRule(**values)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


@dataclass(frozen=True)
class SchemaFile:
    """A schema read from a file, with the table paths it names resolved against its folder."""

    schema: TableSchema
    interactions: Path | None
    items: Path | None


def read_schema(path: str | Path) -> SchemaFile:
    """Read a JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML) schema file.

    One-line DataError naming the file for a missing file, bad syntax, an
    unknown key or a bad value.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: schema file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise DataError(
                f"{path}: reading a YAML schema needs PyYAML (pip install pyyaml)"
            ) from None
        try:
            mapping = yaml.safe_load(text)
        except yaml.YAMLError as error:
            first = str(error).strip().splitlines()[0]
            raise DataError(f"{path}: not valid YAML ({first})") from None
    elif path.suffix == ".json":
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: not valid JSON ({error})") from None
    else:
        raise DataError(f"{path}: a schema file ends in .json, .yaml or .yml")
    if not isinstance(mapping, dict):
        raise DataError(f"{path}: a schema is a mapping of options, got {type(mapping).__name__}")
    paths = {key: mapping.pop(key, None) for key in PATH_KEYS}
    for key, value in paths.items():
        if value is not None and not isinstance(value, str):
            raise DataError(f"{path}: {key!r} must be a path (a string), got {value!r}")
    try:
        schema = TableSchema.from_mapping(mapping, str(path))
    except ValueError as error:
        raise DataError(str(error)) from None
    folder = path.parent

    def resolve(value: str | None) -> Path | None:
        return None if value is None else folder / value

    return SchemaFile(schema, resolve(paths["interactions"]), resolve(paths["items"]))
