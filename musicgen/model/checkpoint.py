"""One ``.pt`` file holding a whole D2M-GAN-SCA model: configuration and state dicts.

Layout (a plain dict saved with :func:`torch.save`, loadable with ``weights_only=True``)::

    {"format": "musicgen.d2m-gan-sca", "version": 1,
     "config": {"vqvae": {...}, "generator": {...}, "discriminator": {...}, "train": {...}},
     "vqvae": state_dict, "generator": state_dict, "discriminator": state_dict,
     "meta": {...}}                      # figures measured at the end of training, rules used, ...

A *training* checkpoint adds ``"train_state"``: optimiser states, the stage and iteration reached,
and the RNG states, so that ``musicgen train --resume`` continues exactly where it stopped.
The shipped model (``musicgen/weights/generator.pt``) has no ``train_state``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from musicgen.errors import InputError

FORMAT = "musicgen.d2m-gan-sca"
VERSION = 1


def save_checkpoint(
    path: str | Path,
    config: dict,
    vqvae,
    generator=None,
    discriminator=None,
    meta: dict | None = None,
    train_state: dict | None = None,
    force: bool = True,
) -> Path:
    """Write a checkpoint atomically.

    Args:
        path: the ``.pt`` file.
        config: plain-data configuration (``{"vqvae": ..., "generator": ..., "discriminator": ...}``).
        vqvae / generator / discriminator: the modules (generator and discriminator may be None during the
            VQ-VAE stage).
        meta: plain-data notes (figures, rule set, corpus).
        train_state: optimiser and RNG states for resuming (omit for a shippable model).
        force: overwrite an existing file.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
    """
    import torch

    from musicgen._files import atomic_write_bytes

    obj: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        "vqvae": vqvae.state_dict(),
        "generator": generator.state_dict() if generator is not None else None,
        "discriminator": discriminator.state_dict() if discriminator is not None else None,
        "meta": meta or {},
    }
    if train_state is not None:
        obj["train_state"] = train_state
    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(Path(path), buf.getvalue(), force=force)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU).

    Raises:
        InputError: the file is missing, unreadable, or not a musicgen model of a known version.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no model file here", reason="missing")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise InputError(
            p, f"not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})", reason="corrupt"
        ) from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise InputError(p, f"not a musicgen model file (expected format {FORMAT!r})", reason="unsupported")
    if obj.get("version") != VERSION:
        raise InputError(
            p, f"model file version {obj.get('version')!r}; this musicgen reads version {VERSION}", reason="unsupported"
        )
    return obj


def build_models(ckpt: dict, path: str | Path = "<checkpoint>"):
    """Rebuild (vqvae, generator, discriminator) from a loaded checkpoint, in eval mode.

    Generator and discriminator are None when the checkpoint has none (after the VQ-VAE stage only).

    Raises:
        InputError: the configuration and the state dicts do not fit together.
    """
    from musicgen.model.discriminator import DiscriminatorConfig, MultiScaleDiscriminator
    from musicgen.model.generator import Generator, GeneratorConfig
    from musicgen.model.vqvae import BarVQVAE, VQVAEConfig

    cfg = ckpt["config"]
    try:
        vq = BarVQVAE(VQVAEConfig(**cfg["vqvae"]))
        vq.load_state_dict(ckpt["vqvae"])
        gen = dis = None
        if ckpt.get("generator") is not None:
            gen = Generator(GeneratorConfig.from_dict(cfg["generator"]))
            gen.load_state_dict(ckpt["generator"])
            gen.eval()
        if ckpt.get("discriminator") is not None:
            dis = MultiScaleDiscriminator(DiscriminatorConfig.from_dict(cfg["discriminator"]))
            dis.load_state_dict(ckpt["discriminator"])
            dis.eval()
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(
            path, f"model file does not match this musicgen's model code ({exc})", reason="unsupported"
        ) from None
    vq.eval()
    return vq, gen, dis
