"""recommenders.datasets.presets: one-word names for known data sets."""

from pathlib import Path

import pytest

from recommenders.datasets import PRESETS, InteractionData, data_root, load_preset
from recommenders.datasets.presets import preset_folder


def test_root_is_the_environment_or_shared_data_beside_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("RESP_DATA_DIR", str(tmp_path))
    assert data_root() == tmp_path
    assert preset_folder("ml1m") == tmp_path / "ml-1m"
    monkeypatch.delenv("RESP_DATA_DIR")
    assert data_root(Path("/somewhere/checkout")) == Path("/somewhere/shared/data")


def test_unknown_preset_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"unknown data set 'ml20m': choose from \['ml100k'"):
        load_preset("ml20m")


def test_a_missing_folder_names_it(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path / "nowhere")):
        load_preset("ml100k", tmp_path / "nowhere")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_loads_from_its_default_folder(name):
    if not preset_folder(name).is_dir():
        pytest.skip(f"{preset_folder(name)} is absent (set RESP_DATA_DIR to the data folder)")
    data = load_preset(name)
    assert isinstance(data, InteractionData) and data.n_items > 0
    assert PRESETS[name].folder in str(preset_folder(name))
