"""``musicgen train``: train the D2M-GAN-SCA model (bar VQ-VAE, then the GAN) on the fiddle corpus."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from musicgen.cli.base import app, console, err_console
from musicgen.cli.progress import progress_bar


@app.command("train")
def train_cmd(
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Training configuration (TOML or JSON; keys of musicgen.model.config.TrainConfig; keys left out keep the recipe's defaults). examples/paper.json holds the paper's settings.",
    ),
    iterations: int | None = typer.Option(
        None, "--iterations", min=0, help="GAN iterations (default 1400, the paper's)."
    ),
    vq_iterations: int | None = typer.Option(None, "--vq-iterations", min=0, help="VQ-VAE iterations (default 4000)."),
    out: Path = typer.Option(
        Path("musicgen-train"),
        "--out",
        help="Output folder: model.pt, checkpoint.pt, train_log.csv/.png, summary.json.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its checkpoint."),
    force: bool = typer.Option(False, "--force", help="Start over even though --out holds a previous run."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of every random choice (default 0)."),
    no_sca: bool = typer.Option(False, "--no-sca", help="Variant: no spatial-channel attention in the generator."),
    single_scale_disc: bool = typer.Option(
        False, "--single-scale-disc", help="Variant: MelGAN's single-kernel (k41) grouped convs in the discriminator."
    ),
    no_rule_reward: bool = typer.Option(
        False, "--no-rule-reward", help="Variant: no rule reward in the generator loss."
    ),
    loss: str | None = typer.Option(
        None, "--loss", help="Adversarial loss: bce (default, non-saturating cross-entropy), hinge or lsgan."
    ),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Corpus file (default: the one `musicgen data build` wrote)."
    ),
    rules: str | None = typer.Option(
        None, "--rules", help="Rule set name or rule file for the reward (default violin)."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        help="CPU threads for torch (default: torch's choice; 1 is faster when other jobs share the cores).",
    ),
) -> None:
    """Train the model: the bar VQ-VAE, then 1400 GAN iterations (Adam 2e-4, batch 64) with the rule reward
    and the emotion terms.

    With no options this is the recipe of the shipped model (examples/train_default.json holds the same
    settings). Needs the corpus (`musicgen data build`, once). Writes OUT/model.pt; use it with
    `musicgen generate --checkpoint OUT/model.pt`.

    Examples:

      musicgen train --out runs/default

      musicgen train --out runs/paper --config examples/paper.json

      musicgen train --out runs/no-sca --no-sca
    """
    from musicgen.model.config import TrainConfig, apply_variant, load_config
    from musicgen.model.train import train

    cfg = load_config(config) if config is not None else TrainConfig()
    if iterations is not None:
        cfg.iterations = iterations
    if vq_iterations is not None:
        cfg.vq_iterations = vq_iterations
    if seed is not None:
        cfg.seed = seed
    if rules is not None:
        cfg.rules = rules
    apply_variant(cfg, no_sca=no_sca, single_scale_disc=single_scale_disc, no_rule_reward=no_rule_reward, loss=loss)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)

    with progress_bar("training", err_console) as bar:
        tasks: dict[str, int] = {}

        def cb(stage: str, done: int, total: int, row: dict) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task("VQ-VAE" if stage == "vq" else "GAN", total=total)
            if stage == "gan":
                desc = f"GAN  D {row['d_loss']:.3f}  R_F {row['rule_hard']:+.3f}  PCE {row['val_pce']:.2f}  mode ok {row['val_mode_ok']:.2f}"
            else:
                desc = f"VQ-VAE  ce {row['ce']:.3f}"
            bar.update(tasks[stage], completed=done, total=total, description=desc)

        res = train(cfg, out, corpus_path=corpus, resume=resume, force=force, progress=cb)

    s = res.summary
    t = Table(title=f"model written to {res.model_path}", show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value")
    vq = s.get("vqvae_test") or {}
    if vq:
        t.add_row("VQ-VAE test note F1 (onset / with duration)", f"{vq['onset_f1']:.3f} / {vq['note_f1']:.3f}")
        t.add_row(
            "codebook perplexity (test)", f"{vq['perplexity']:.1f} of {vq['codebook_size']} ({vq['codes_used']} used)"
        )
    t.add_row("GAN iterations", str(s["gan_iterations"]))
    if s.get("seconds_per_iteration_this_run"):
        t.add_row("seconds per iteration", f"{s['seconds_per_iteration_this_run']:.3f}")
    v = s["final_validation"]
    t.add_row("validation PCE (valid split)", f"{v['val_pce']:.3f} bits ({s['val_ref_pce']:.3f})")
    t.add_row("validation R_F", f"{v['val_rule']:.3f}")
    t.add_row(
        "control probe (unreranked)",
        f"mode as asked {v['val_mode_ok']:.2f}; high arousal denser {v['val_dense_pairs']:.2f}; "
        f"NN rhythm {v['val_nn_rhythm']:.2f}; distinct rhythms {v['val_distinct']:.2f}",
    )
    if s.get("d_loss_std_last_200") is not None:
        t.add_row("D-loss std, last 200 iterations", f"{s['d_loss_std_last_200']:.4f}")
    t.add_row("log / plot", f"{res.log_path}  {res.plot_path or '(no plot)'}")
    console.print(t)
