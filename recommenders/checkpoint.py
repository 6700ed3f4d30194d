"""Checkpoints: one folder per trained model, loadable without unpickling.

``NAME/checkpoint.json`` holds the format version, the model and variant
configs, the item count, the fingerprint of the world (or data set) the model
was trained on, the training config and summary. ``NAME/weights.pt`` holds
only tensors (the state dict and the item vocabulary: position i of the
model's item table is original item id ``vocabulary[i]``), read with
``torch.load(weights_only=True)``, which refuses arbitrary Python objects.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from recommenders.adapter import CorpusLike
from recommenders.adapters.sequential import SequentialModelAdapter
from recommenders.devices import DEFAULT_CACHE_BYTES
from recommenders.models import ModelConfig, SequentialRecommender, build_model
from recommenders.variants import Variant

CHECKPOINT_FORMAT = "responsiveness-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of another version, or made for another world."""


def save_checkpoint(
    path: str | Path,
    model: SequentialRecommender,
    variant: Variant,
    fingerprint: str,
    vocabulary: torch.Tensor | None = None,
    extra: dict | None = None,
    overwrite: bool = False,
    write_files: Callable[[Path], object] | None = None,
) -> Path:
    """Write ``path/`` (checkpoint.json + weights.pt); the folder appears whole or not at all.

    ``write_files(folder)`` may add further files (metrics, plots) to the folder before
    it appears, so an interrupted save never leaves a checkpoint without them.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise CheckpointError(
            f"checkpoint {path} already exists; pass overwrite=True to replace it"
        )
    vocabulary = torch.arange(model.n_items) if vocabulary is None else vocabulary
    if vocabulary.shape != (model.n_items,):
        raise CheckpointError(
            f"vocabulary has shape {tuple(vocabulary.shape)}, expected ({model.n_items},)"
        )
    header = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "name": path.name,
        "model": model.config.to_dict(),
        "variant": variant.to_dict(),
        "n_items": model.n_items,
        "fingerprint": fingerprint,
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    # mkdtemp creates 0700; a checkpoint is an ordinary folder (mode by the umask).
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(
            {"state": state, "vocabulary": vocabulary.to(torch.long)}, staging / "weights.pt"
        )
        (staging / "checkpoint.json").write_text(json.dumps(header, indent=2, default=str) + "\n")
        if write_files is not None:
            write_files(staging)
        if path.exists():
            retired = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            path.rename(retired / path.name)
            staging.rename(path)
            shutil.rmtree(retired)
        else:
            staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def read_checkpoint(path: str | Path) -> tuple[dict, SequentialRecommender, torch.Tensor]:
    """(header, model in eval mode, vocabulary); :class:`CheckpointError` on any problem."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(
            f"checkpoint {path} is not a folder (expected checkpoint.json + weights.pt)"
        )
    try:
        header = json.loads((path / "checkpoint.json").read_text())
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} has no checkpoint.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path}: checkpoint.json is corrupt") from None
    if not isinstance(header, dict) or header.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a {CHECKPOINT_FORMAT} folder")
    version = header.get("version")
    if type(version) is not int or version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; "
            f"this library reads version {CHECKPOINT_VERSION}"
        )
    n_items = header.get("n_items")
    if type(n_items) is not int or n_items < 1:
        raise CheckpointError(
            f"checkpoint {path}: n_items must be a positive integer, got {n_items!r}"
        )
    try:
        config = ModelConfig.from_dict(header["model"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path}: invalid model config ({error})") from None
    try:
        payload = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        state, vocabulary = payload["state"], payload["vocabulary"]
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} has no weights.pt") from None
    except Exception as error:  # torch raises many types for a damaged or hostile file
        raise CheckpointError(
            f"checkpoint {path}: weights.pt is corrupt or not a tensor-only file "
            f"({type(error).__name__})"
        ) from None
    model = build_model(config, n_items)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as error:
        # torch's message is a heading ("Error(s) in loading state_dict for X:") and then
        # one indented line per problem: keep the first problem, not just the heading.
        lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
        first = " ".join(lines[:2]) if lines else type(error).__name__
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit the model config ({first})"
        ) from None
    return header, model.eval(), vocabulary


def load_adapter(
    path: str | Path,
    corpus: CorpusLike | None = None,
    fingerprint: str | Mapping[str, str] | None = None,
    device: str = "cpu",
    cache_bytes: int | None = DEFAULT_CACHE_BYTES,
) -> SequentialModelAdapter:
    """A :class:`SequentialModelAdapter` for the checkpoint at ``path``.

    With ``fingerprint`` (e.g. ``World.fingerprint``) the checkpoint must have
    been trained on that world; a mapping ``{fingerprint: what it is}``
    accepts any of several (a fitted world accepts its own and its data
    set's). With ``corpus`` its item count must match. ``cache_bytes`` bounds the
    adapter's prefix state cache (None: recompute every history).
    """
    header, model, _ = read_checkpoint(path)
    accepted = (
        {fingerprint: "this world"} if isinstance(fingerprint, str) else dict(fingerprint or {})
    )
    if corpus is not None and corpus.n_items != model.n_items:
        raise CheckpointError(
            f"checkpoint {path} scores {model.n_items} items; the corpus has {corpus.n_items}: "
            "it was trained on another catalogue"
        )
    if accepted and header.get("fingerprint") not in accepted:
        names = " or ".join(f"{what} ({value})" for value, what in accepted.items())
        raise CheckpointError(
            f"checkpoint {path} was trained on world {header.get('fingerprint')}, not on {names}"
        )
    try:
        variant = Variant.from_dict(header["variant"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path}: invalid variant ({error})") from None
    return SequentialModelAdapter(
        model, variant, name=header.get("name"), device=device, cache_bytes=cache_bytes
    )
