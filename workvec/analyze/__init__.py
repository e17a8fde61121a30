"""`workvec analyze`: a corpus of job ads -> per-ad occupations and skills, aggregates and a report.

Resumable (atomic shards + a manifest), robust to bad rows (kept with a status), and scalable out with Ray Data
(`engine="ray"`). Needs the `analyze` extra (pyarrow, pandas, matplotlib); `engine="ray"` the `scale` extra.
"""

from __future__ import annotations

import time

__all__ = ["AnalyzeSpec", "ModelSpec", "run_analyze"]


def __getattr__(name: str):
    if name == "AnalyzeSpec":
        from workvec.analyze.plan import AnalyzeSpec

        return AnalyzeSpec
    if name == "ModelSpec":
        from workvec.analyze.pipeline import ModelSpec

        return ModelSpec
    raise AttributeError(name)


def run_analyze(spec) -> dict:
    """Run (or resume) the analysis an `AnalyzeSpec` describes into `spec.out`; returns what run.json holds."""
    from workvec.analyze.finalize import finalize
    from workvec.analyze.local import Progress, run_local
    from workvec.analyze.plan import make_plan

    start = time.perf_counter()
    plan = make_plan(spec)
    done = plan.store.finished()
    progress = Progress(plan.total_rows(), quiet=spec.quiet)
    try:
        if spec.engine == "ray":
            from workvec.analyze.ray_engine import run_ray

            run_ray(plan, done, progress)
        else:
            run_local(plan, done, progress)
    finally:
        progress.close()
    return finalize(plan, session_seconds=time.perf_counter() - start)
