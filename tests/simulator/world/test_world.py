import json
import zipfile

import numpy as np
import pytest

from simulator import Corpus, CorpusConfig, World, WorldConfig, WorldFileError
from simulator.world.world import WORLD_VERSION


def test_generation_is_seeded(small_world):
    again = World.generate(small_world.config)
    assert again.fingerprint == small_world.fingerprint
    other = World.generate(small_world.config, seed=small_world.config.seed + 1)
    assert other.fingerprint != small_world.fingerprint


def test_fingerprint_ignores_ulp_noise_but_not_real_changes(small_world):
    """Another numpy build computes exp and sums to other last bits (seen: popularity
    off by 1e-18); the same world must keep its fingerprint, a changed one must not."""
    twin = World.generate(small_world.config)
    twin.corpus.popularity[:] = np.nextafter(twin.corpus.popularity, 1.0)
    twin.population.cluster_affinity[:] = np.nextafter(twin.population.cluster_affinity, -9.0)
    assert not np.array_equal(twin.corpus.popularity, small_world.corpus.popularity)
    assert twin.fingerprint == small_world.fingerprint
    twin.corpus.quality[3] *= 1.001
    assert twin.fingerprint != small_world.fingerprint


def test_creators_concentrate_in_one_or_two_clusters():
    corpus = Corpus.generate(CorpusConfig(), seed=0)
    pairs = np.unique(np.stack([corpus.creator, corpus.cluster]), axis=1)
    clusters_per_creator = np.bincount(pairs[0], minlength=corpus.n_creators)
    assert clusters_per_creator.min() == 1
    assert clusters_per_creator.max() == 2
    assert 0.1 < (clusters_per_creator == 2).mean() < 0.5
    assert np.isclose(corpus.popularity.sum(), 1.0)
    assert np.allclose(np.linalg.norm(corpus.embedding, axis=1), 1.0)


def test_save_load_round_trip(small_world, tmp_path):
    path = small_world.save(tmp_path / "world.npz")
    loaded = World.load(path)
    assert loaded.fingerprint == small_world.fingerprint
    assert loaded.config == small_world.config
    users = np.arange(10)
    items = np.arange(10)
    a = small_world.user_model(1).respond(users, items, 0)
    b = loaded.user_model(1).respond(users, items, 0)
    assert np.array_equal(a.feedback, b.feedback) and np.array_equal(a.dwell, b.dwell)


def test_missing_file(tmp_path):
    with pytest.raises(WorldFileError, match="does not exist"):
        World.load(tmp_path / "nope.npz")


def test_corrupt_file(tmp_path):
    path = tmp_path / "world.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(WorldFileError, match="not a readable world archive"):
        World.load(path)


def test_truncated_file(small_world, tmp_path):
    path = small_world.save(tmp_path / "world.npz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(WorldFileError, match="world file"):
        World.load(path)


def _rewrite_header(path, header):
    with np.load(path, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}
    data["header"] = np.array(json.dumps(header))
    np.savez(path, **data)


def test_other_version(small_world, tmp_path):
    path = small_world.save(tmp_path / "world.npz")
    header = {"format": "responsiveness-world", "version": WORLD_VERSION + 1, "config": {}}
    _rewrite_header(path, header)
    with pytest.raises(WorldFileError, match=f"version {WORLD_VERSION + 1}"):
        World.load(path)


def test_not_a_world(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.arange(3))
    with pytest.raises(WorldFileError, match="no header"):
        World.load(path)


def test_inconsistent_arrays(small_world, tmp_path):
    path = small_world.save(tmp_path / "world.npz")
    with np.load(path, allow_pickle=False) as archive:
        data = {name: archive[name] for name in archive.files}
    data["creator"] = data["creator"][:-5]
    np.savez(path, **data)
    with pytest.raises(WorldFileError, match="inconsistent"):
        World.load(path)


@pytest.mark.parametrize("name, value", [("quality", np.nan), ("embedding", np.inf)])
def test_non_finite_arrays_are_refused_at_load(small_world, tmp_path, name, value):
    """A world with NaN quality or inf embeddings used to load, then fail late (empty
    dwell values in make_logs, a live A/B crash)."""
    path = small_world.save(tmp_path / "world.npz")
    with np.load(path, allow_pickle=False) as archive:
        data = {n: archive[n] for n in archive.files}
    data[name] = data[name].copy()
    data[name].flat[3] = value
    np.savez(path, **data)
    with pytest.raises(WorldFileError, match=rf"inconsistent: arrays \['{name}'\] hold NaN or inf"):
        World.load(path)


def test_save_is_atomic(small_world, tmp_path):
    path = small_world.save(tmp_path / "world.npz")
    assert zipfile.is_zipfile(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world.npz"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_items": 0}, "n_items"),
        ({"n_creators": 10, "n_items": 5}, "n_creators"),
        ({"two_cluster_share": 2.0}, "two_cluster_share"),
    ],
)
def test_bad_corpus_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CorpusConfig(**kwargs)


def test_config_dict_round_trip():
    config = WorldConfig(seed=5)
    assert WorldConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def _forged(path, name: str, shape: tuple[int, ...], payload: bytes) -> None:
    """Replace member ``name`` of the archive by an .npy header declaring ``shape`` (float64)
    followed by ``payload``, with the zip's own size records matching the bytes."""
    import io

    from numpy.lib import format as npy_format

    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    members[f"{name}.npy"] = buffer.getvalue() + payload
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def test_declared_shapes_are_checked_before_any_array_is_read(small_world, tmp_path):
    """A small file whose arrays declare huge shapes used to make np.load allocate them
    (4.4 GB for a 4.8 MB file) before failing; now the member headers are read first."""
    path = small_world.save(tmp_path / "huge.npz")
    _forged(path, "cluster_affinity", (10**6, 10**4), b"\0" * 64)  # declares 80 GB
    with pytest.raises(
        WorldFileError, match=r"'cluster_affinity' declares shape \(1000000, 10000\)"
    ):
        World.load(path)
    path = small_world.save(tmp_path / "other.npz")
    n_users, n_clusters = small_world.population.cluster_affinity.shape
    _forged(
        path,
        "cluster_affinity",
        (n_users + 1, n_clusters),
        b"\0" * (8 * (n_users + 1) * n_clusters),
    )
    with pytest.raises(WorldFileError, match=rf"its header implies \({n_users}, {n_clusters}\)"):
        World.load(path)
