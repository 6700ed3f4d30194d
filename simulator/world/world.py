"""A world: corpus + user population + response model, from one seed, in one file.

The file is a NumPy ``.npz`` archive (read with ``allow_pickle=False``, so
loading never executes code) holding the arrays and a JSON header with the
format version and every config. ``World.fingerprint`` hashes both, so a
checkpoint can name the world it was trained on.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from agents import Population, PopulationConfig, ResponseConfig, UserModel
from recommenders.atomic import atomic_write_bytes
from simulator.similarity import ItemAttributes
from simulator.world.corpus import Corpus, CorpusConfig

WORLD_FORMAT = "responsiveness-world"
WORLD_VERSION = 1


class WorldFileError(ValueError):
    """A world file is missing, corrupt, or written by another format version."""


@dataclass(frozen=True)
class WorldConfig:
    """Everything that defines a world; ``seed`` drives all of its randomness."""

    seed: int = 0
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> WorldConfig:
        return cls(
            seed=int(data["seed"]),
            corpus=CorpusConfig(**data["corpus"]),
            population=PopulationConfig(**data["population"]),
            response=ResponseConfig(**data["response"]),
        )


WORLD_SECTIONS = ("corpus", "population", "response")
"""The parts of a :class:`WorldConfig` that :func:`override_world_config` reaches."""


def world_parameters(config: WorldConfig | None = None) -> dict[str, object]:
    """Every ``section.field`` of ``config`` (default: ``WorldConfig()``) -> its value."""
    config = config or WorldConfig()
    return {
        f"{section}.{f.name}": getattr(getattr(config, section), f.name)
        for section in WORLD_SECTIONS
        for f in fields(getattr(config, section))
    }


KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
"""How :func:`world_parameter_value`'s errors name the type a parameter takes."""


def world_parameter_value(key: str, value, known: dict | None = None):
    """``value`` as the type of the world parameter ``key`` (a ``section.field`` of
    :func:`world_parameters`; an int field takes a whole number, a float field any
    number); a one-line ValueError listing the known keys for an unknown key or a value
    of the wrong type. Ranges are checked by the config parts themselves."""
    known = world_parameters() if known is None else known
    if key not in known:
        raise ValueError(f"unknown world parameter {key!r}; known: {', '.join(known)}")
    current = known[key]
    if isinstance(current, bool) or isinstance(value, bool):
        ok = isinstance(current, bool) and isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        value = int(value) if ok else value
    elif isinstance(current, float):
        ok = isinstance(value, int | float)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(current))
    if not ok:
        raise ValueError(
            f"world parameter {key} takes {KINDS.get(type(current), 'a value')}, got "
            f"{value!r}; "
            f"known: {', '.join(known)}"
        )
    return value


def override_world_config(config: WorldConfig, overrides) -> WorldConfig:
    """``config`` with ``overrides`` (a mapping or ``(key, value)`` pairs of dotted
    ``section.field`` keys, e.g. ``{"corpus.n_items": 20000}``) replaced
    (``dataclasses.replace``, so each part checks itself); a one-line ValueError naming
    the key and listing the known ones for an unknown key or a value of the wrong type."""
    pairs = overrides.items() if hasattr(overrides, "items") else overrides
    known = world_parameters(config)
    changes: dict[str, dict] = {}
    for key, value in pairs:
        section, _, name = key.partition(".")
        changes.setdefault(section, {})[name] = world_parameter_value(key, value, known)
    parts = {s: replace(getattr(config, s), **c) for s, c in changes.items()}
    return replace(config, **parts)


def canonical_bytes(array: np.ndarray) -> bytes:
    """Bytes identifying an array's values; floats up to a relative 2**-20 (about 1e-6).

    A float x = m * 2**e (0.5 <= |m| < 1) is represented by (round(m * 2**20), e):
    exact integers, so ulp-level noise (~1e-16 relative) changes the bytes only
    when it straddles a rounding boundary, about once per 10**10 values.
    """
    array = np.ascontiguousarray(array)
    if array.dtype.kind != "f":
        return array.tobytes()
    mantissa, exponent = np.frexp(array.astype(np.float64))
    scaled = np.round(mantissa * 2.0**20).astype(np.int64)
    return scaled.tobytes() + exponent.astype(np.int64).tobytes()


def archive_fingerprint(header: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 (hex, first 16 chars) of a world's JSON header and every array's values,
    floats to about 6 significant digits (:func:`canonical_bytes`)."""
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name, array in sorted(arrays.items()):
        digest.update(name.encode())
        digest.update(canonical_bytes(array))
    return digest.hexdigest()[:16]


def write_archive(path: str | Path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``header`` (JSON) and ``arrays`` to the ``.npz`` at ``path`` atomically."""
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, header=np.array(json.dumps(header, sort_keys=True)), **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


DEFLATE_MAX_RATIO = 1032
"""The most deflate can compress (a run of one byte): a member claiming more is forged."""


def declared_arrays(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every ``.npy`` member, read from the member headers only.

    Raises a one-line :class:`WorldFileError` for a member whose declared size
    disagrees with the archive's record of it, or exceeds what its compressed
    bytes can hold: such a file would make ``np.load`` allocate the declared
    size before failing.
    """
    out = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[: -len(".npy")]
            with archive.open(info) as member:
                version = npy_format.read_magic(member)
                read = (
                    npy_format.read_array_header_1_0
                    if version == (1, 0)
                    else npy_format.read_array_header_2_0
                )
                shape, _, dtype = read(member)
                offset = member.tell()
            nbytes = math.prod(shape) * dtype.itemsize
            packed = info.compress_size * DEFLATE_MAX_RATIO + 4096
            if offset + nbytes != info.file_size or info.file_size > packed:
                raise WorldFileError(
                    f"world file {path} is inconsistent: array {name!r} declares shape "
                    f"{shape} ({nbytes:,} bytes), which its {info.compress_size:,} stored bytes "
                    "do not hold"
                )
            out[name] = (tuple(shape), dtype)
    return out


def check_declared(path, declared: dict, expected: dict[str, tuple[int, ...]]) -> None:
    """A one-line :class:`WorldFileError` unless every array in ``expected`` is declared with
    that shape (checked before any array is read)."""
    for name, shape in expected.items():
        if name in declared and declared[name][0] != tuple(shape):
            raise WorldFileError(
                f"world file {path} is inconsistent: array {name!r} declares shape "
                f"{declared[name][0]}, its header implies {tuple(shape)}"
            )


def read_header(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a world archive of any format; :class:`WorldFileError` if unreadable.

    Member sizes are checked against the archive before anything is read, and, when
    the header's kind is known, every array's shape against the header
    (``expected_shapes`` of the class in :data:`simulator.world.WORLD_KINDS`).
    """
    path = Path(path)
    if not path.is_file():
        raise WorldFileError(f"world file {path} does not exist")
    try:
        declared = declared_arrays(path)
        if "header" not in declared or declared["header"][1].kind != "U":
            raise WorldFileError(f"world file {path} has no header: not a world file")
        with np.load(path, allow_pickle=False) as archive:
            header_text = str(archive["header"])
            try:
                header = json.loads(header_text)
            except json.JSONDecodeError:
                raise WorldFileError(f"world file {path} has a corrupt header") from None
            if not isinstance(header, dict):
                raise WorldFileError(f"world file {path} has a corrupt header")
            expected = _expected_shapes(header)
            if expected is not None:
                check_declared(path, declared, expected)
            data = {name: archive[name] for name in archive.files}
    except WorldFileError:
        raise  # already one line, naming the file
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        # numpy reads a non-archive as a pickle and suggests allow_pickle: never.
        reason = "not an .npz archive" if "pickle" in str(error) else str(error)
        raise WorldFileError(
            f"world file {path} is not a readable world archive: {reason}"
        ) from None
    bad = [n for n, a in sorted(data.items()) if a.dtype.kind == "f" and not np.isfinite(a).all()]
    if bad:
        raise WorldFileError(f"world file {path} is inconsistent: arrays {bad} hold NaN or inf")
    return header, data


def _expected_shapes(header: dict) -> dict[str, tuple[int, ...]] | None:
    """The array shapes a header implies, for the kinds that can say (None otherwise)."""
    from simulator.world import WORLD_KINDS  # the registry imports this module

    kind = WORLD_KINDS.get(header.get("format"))
    if kind is None or header.get("version") != kind.VERSION:
        return None
    try:
        return kind.expected_shapes(header)
    except (KeyError, TypeError, ValueError):
        return None  # the loader names what is wrong with the header


def read_archive(path, format_name: str, version: int) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of a world archive of ``format_name`` at ``version``, else a one-line
    :class:`WorldFileError`."""
    header, data = read_header(path)
    if header.get("format") != format_name:
        raise WorldFileError(f"world file {path} is not a {format_name} file")
    check_version(path, header, version)
    return header, data


def check_version(path, header: dict, version: int) -> None:
    """A one-line :class:`WorldFileError` unless ``header`` has format ``version``."""
    if header.get("version") != version:
        raise WorldFileError(
            f"world file {path} has format version {header.get('version')}, "
            f"this library reads version {version}: regenerate it"
        )


_CORPUS_ARRAYS = ("cluster", "creator", "quality", "popularity", "embedding")


class World:
    """The synthetic environment a responsiveness run takes place in."""

    kind = "synthetic"
    FORMAT, VERSION = WORLD_FORMAT, WORLD_VERSION

    def __init__(self, config: WorldConfig, corpus: Corpus, population: Population) -> None:
        if population.cluster_affinity.shape[1] != corpus.n_clusters:
            raise ValueError(
                f"population has {population.cluster_affinity.shape[1]} clusters, "
                f"corpus has {corpus.n_clusters}"
            )
        self.config = config
        self.corpus = corpus
        self.population = population

    @classmethod
    def generate(cls, config: WorldConfig | None = None, seed: int | None = None) -> World:
        """A new world from ``config`` (default parameters) and, if given, ``seed``."""
        config = config or WorldConfig()
        if seed is not None:
            config = WorldConfig(seed, config.corpus, config.population, config.response)
        corpus = Corpus.generate(config.corpus, config.seed)
        population = Population.generate(config.population, corpus.n_clusters, config.seed)
        return cls(config, corpus, population)

    @classmethod
    def default(cls, seed: int, n_users: int, overrides=None) -> World:
        """The default world of ``seed`` with a population of ``n_users`` and, if given,
        ``overrides`` of its parameters (:func:`override_world_config`)."""
        base = WorldConfig()
        population = PopulationConfig(**{**base.population.to_dict(), "n_users": n_users})
        config = WorldConfig(seed, base.corpus, population, base.response)
        return cls.generate(override_world_config(config, overrides or {}))

    @property
    def n_users(self) -> int:
        return self.population.n_users

    def with_users(self, n_users: int) -> World:
        """The same world with ``n_users`` users: users ``0..min(n, n_users)-1`` are the
        same users (affinities are drawn row by row from the world's seed, the rest are
        keyed by user id)."""
        population = PopulationConfig(**{**self.config.population.to_dict(), "n_users": n_users})
        config = WorldConfig(self.config.seed, self.config.corpus, population, self.config.response)
        return World(
            config,
            self.corpus,
            Population.generate(population, self.corpus.n_clusters, config.seed),
        )

    def user_model(self, seed: int) -> UserModel:
        """Response model whose behaviour draws are keyed by the run ``seed``."""
        c = self.corpus
        return UserModel(
            self.population, c.cluster, c.creator, c.quality, self.config.response, seed=seed
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self.corpus, name) for name in _CORPUS_ARRAYS}
        arrays["cluster_affinity"] = self.population.cluster_affinity
        return arrays

    def _header(self) -> dict:
        return {"format": WORLD_FORMAT, "version": WORLD_VERSION, "config": self.config.to_dict()}

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex, first 16 chars) of the header and every array's values.

        Float arrays are hashed to about 6 significant digits (see
        :func:`canonical_bytes`): the same config generated under another numpy
        build differs in the last bits of ``exp`` and sums (seen: popularity off
        by 1e-18 between numpy 2.4 and 2.5), and a model trained on one machine
        must still match the same world on another.
        """
        return archive_fingerprint(self._header(), self._arrays())

    def item_attributes(self) -> ItemAttributes:
        """The catalogue as the similarity kinds see it: one content cluster per item."""
        return ItemAttributes.from_corpus(self.corpus)

    def save(self, path: str | Path) -> Path:
        """Write the world to ``path`` (``.npz``) atomically; returns the path."""
        return write_archive(path, self._header(), self._arrays())

    @classmethod
    def load(cls, path: str | Path) -> World:
        """Read a world written by :meth:`save`; raises :class:`WorldFileError` on any problem."""
        header, data = read_archive(path, WORLD_FORMAT, WORLD_VERSION)
        return cls.from_archive(path, header, data)

    @staticmethod
    def expected_shapes(header: dict) -> dict[str, tuple[int, ...]]:
        """Every array's shape as the header's config implies it."""
        corpus, population = header["config"]["corpus"], header["config"]["population"]
        n, c = int(corpus["n_items"]), int(corpus["n_clusters"])
        shapes = {name: (n,) for name in ("cluster", "creator", "quality", "popularity")}
        return {
            **shapes,
            "embedding": (n, int(corpus["dim"])),
            "cluster_affinity": (int(population["n_users"]), c),
        }

    @classmethod
    def from_archive(cls, path, header: dict, data: dict[str, np.ndarray]) -> World:
        """The world of a read archive (:func:`read_archive`)."""
        missing = [name for name in (*_CORPUS_ARRAYS, "cluster_affinity") if name not in data]
        if missing:
            raise WorldFileError(f"world file {path} lacks arrays {missing}")
        try:
            config = WorldConfig.from_dict(header["config"])
            corpus = Corpus(
                **{name: data[name] for name in _CORPUS_ARRAYS},
                n_clusters=config.corpus.n_clusters,
                n_creators=config.corpus.n_creators,
            )
            population = Population(config.population, data["cluster_affinity"], config.seed)
            return cls(config, corpus, population)
        except (KeyError, TypeError, ValueError) as error:
            raise WorldFileError(f"world file {path} is inconsistent: {error}") from None
