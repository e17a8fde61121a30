"""The `workvec analyze` sub-command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workvec.analyze.options import (
    DEFAULT_BOILERPLATE_ADS,
    DEFAULT_BOILERPLATE_SOURCES,
    DEFAULT_SHARD_ROWS,
    DEFAULT_SKILLS_TAXONOMY,
    DEFAULT_THRESHOLD,
    DEFAULT_TITLES_TAXONOMY,
    ENGINES,
)
from workvec.defaults import bundle_help
from workvec.errors import WorkvecError

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    try:
        from workvec.analyze import run_analyze
        from workvec.analyze.boilerplate import BoilerplateRule
        from workvec.analyze.pipeline import ModelSpec
        from workvec.analyze.plan import AnalyzeSpec
    except ImportError as exc:
        raise WorkvecError(f"workvec analyze needs the analyze extra ({exc.name} is missing):"
                           " pip install 'workvec[analyze]'") from exc

    models = ModelSpec(title_bundle=args.title_bundle, skill_bundle=args.skill_bundle,
                       titles_taxonomy=args.titles_taxonomy, skills_taxonomy=args.skills_taxonomy,
                       threshold=args.threshold, precision=args.precision, threads=args.threads,
                       clean_titles=args.clean_titles)
    spec = AnalyzeSpec(inputs=tuple(args.inputs), out=Path(args.out), models=models, id_col=args.id_col,
                       title_col=args.title_col, text_col=args.text_col, date_col=args.date_col,
                       region_col=args.region_col, employer_col=args.employer_col,
                       boilerplate=BoilerplateRule(min_ads=args.boilerplate_ads, min_sources=args.boilerplate_sources,
                                                   include=args.include_boilerplate),
                       group_cols=tuple(args.group_col), limit=args.limit,
                       shard_rows=args.shard_rows, engine=args.engine, address=args.address, quiet=args.quiet)
    info = run_analyze(spec)
    counts = info["counts"]
    if not args.quiet:
        statuses = ", ".join(f"{k} {v:,}" for k, v in counts["statuses"].items())
        print(f"analysed {counts['ads']:,} ads ({statuses}); {counts['skills']:,} skills"
              f" ({counts['boilerplate']['skill_rows']:,} from boilerplate only);"
              f" sentence duplicates {counts['duplicate_rate']:.1%}", file=sys.stderr)
    print(f"wrote {args.out}/ads.parquet, ad_skills.parquet, aggregates/, report.md, run.json")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `analyze` sub-command."""
    from workvec.cli_io import HelpFormatter

    p = sub.add_parser("analyze", help="analyse a corpus of job ads: occupations, skills, aggregates, report",
                       formatter_class=HelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV, JSONL(.gz) or Parquet files, or folders of them")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory (rerun the same command to resume)")
    for role, hint in (("id", "ad id"), ("title", "job title"), ("text", "ad text"), ("date", "posting date"),
                       ("region", "region or location")):
        p.add_argument(f"--{role}-col", metavar="COL", help=f"column with the {hint} (default: a common name)")
    p.add_argument("--group-col", action="append", default=[], metavar="COL",
                   help="extra column kept in ads.parquet and used as a dimension of skill demand (repeatable)")
    p.add_argument("--employer-col", metavar="COL",
                   help="column with the employer, for the boilerplate rule (default: employer, company, organization,"
                        " agency, department, ... whichever is present; none: all ads share one unknown employer)")
    p.add_argument("--boilerplate-ads", type=int, default=DEFAULT_BOILERPLATE_ADS, metavar="N",
                   help="a passage of 8 words in at least N ads ...")
    p.add_argument("--boilerplate-sources", type=int, default=DEFAULT_BOILERPLATE_SOURCES, metavar="M",
                   help="... with at least M distinct (employer, occupation) pairs among them is boilerplate; a skill"
                        " whose evidence lies in boilerplate only is marked in ad_skills.parquet and left out of the"
                        " aggregates, tables and plots")
    p.add_argument("--include-boilerplate", action="store_true",
                   help="count skills found only in boilerplate in the aggregates, tables and plots too")
    p.add_argument("--titles-taxonomy", default=DEFAULT_TITLES_TAXONOMY, metavar="NAME|PATH", help="occupations")
    p.add_argument("--no-clean", dest="clean_titles", action="store_false",
                   help="normalize titles as given (default: drop gender, seniority, shift and contract markers first,"
                        " as `workvec normalize`)")
    p.add_argument("--skills-taxonomy", default=DEFAULT_SKILLS_TAXONOMY, metavar="NAME|PATH",
                   help="skills")
    for kind in ("title", "skill"):
        p.add_argument(f"--{kind}-bundle", metavar="DIR", help=bundle_help(kind))
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="minimum ConTeXT-match score (default: the skill bundle's calibrated threshold)")
    p.add_argument("--precision", choices=("auto", "int8", "fp32"), default="auto", help="encoder weights")
    p.add_argument("--limit", type=int, metavar="N", help="analyse only the first N rows")
    p.add_argument("--shard-rows", type=int, default=DEFAULT_SHARD_ROWS, metavar="N",
                   help="input rows per resumable shard")
    p.add_argument("--engine", choices=ENGINES, default="local", help="local, or ray (Ray Data)")
    p.add_argument("--address", metavar="RAY_ADDRESS",
                   help="join the Ray cluster at HOST:PORT (with --engine ray; default: $RAY_ADDRESS, else a new local"
                        " Ray); a cluster with token authentication needs RAY_AUTH_MODE=token and its token here")
    p.add_argument("--threads", type=int, metavar="N",
                   help="intra-op threads (local: default all cores up to 8; ray: CPUs per actor, default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    p.set_defaults(func=_run)
