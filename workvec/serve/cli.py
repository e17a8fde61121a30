"""`workvec serve`: the HTTP service's sub-command."""

from __future__ import annotations

import argparse
import os

from workvec.cli_io import HelpFormatter
from workvec.defaults import bundle_help
from workvec.serve.settings import ServeSettings

__all__ = ["ENV_PREFIX", "register"]

_D = ServeSettings()
ENV_PREFIX = "WORKVEC_SERVE_"  # every option may come from the environment: --max-texts is WORKVEC_SERVE_MAX_TEXTS


def _serve(args: argparse.Namespace) -> int:
    from workvec.errors import InputError
    from workvec.serve.server import run

    if args.env_errors:
        raise InputError("; ".join(args.env_errors))
    settings = ServeSettings(
        title_bundle=args.title_bundle, skill_bundle=args.skill_bundle,
        titles_taxonomy=args.titles_taxonomy, skills_taxonomy=args.skills_taxonomy,
        load_titles=not args.no_titles, load_skills=not args.no_skills, index_dir=args.index_dir,
        precision=args.precision, threads=args.threads, host=args.host, port=args.port,
        max_batch_tokens=args.max_batch_tokens, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
        max_queue_ms=args.max_queue_ms, max_request_bytes=args.max_request_bytes, max_texts=args.max_texts,
        request_timeout_s=args.request_timeout_s, batching=not args.no_batching, api_key_env=args.api_key_env,
    )
    return run(settings, log_level=args.log_level)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` sub-command."""
    p = sub.add_parser("serve", help="HTTP service: /v1/normalize, /v1/extract, /v1/embeddings (needs the serve extra)",
                       formatter_class=HelpFormatter,
                       epilog=f"Every option may also be set in the environment as {ENV_PREFIX}<OPTION> (--max-texts 64:"
                              f" {ENV_PREFIX}MAX_TEXTS=64, --no-skills: {ENV_PREFIX}NO_SKILLS=1); the command line wins.")
    for kind in ("title", "skill"):
        p.add_argument(f"--{kind}-bundle", help=bundle_help(kind))
    p.add_argument("--titles-taxonomy", default=_D.titles_taxonomy, help="embedded name or a file path")
    p.add_argument("--skills-taxonomy", default=_D.skills_taxonomy, help="embedded name or a file path")
    p.add_argument("--no-titles", action="store_true", help="serve the skill side only")
    p.add_argument("--no-skills", action="store_true", help="serve the title side only")
    p.add_argument("--index-dir", help="where label indexes are cached (default: $WORKVEC_HOME/indexes)")
    p.add_argument("--precision", default=_D.precision, choices=("auto", "int8", "fp32"))
    p.add_argument("--host", default=_D.host, help="interface to listen on (loopback by default)")
    p.add_argument("--port", type=int, default=_D.port)
    p.add_argument("--max-batch-tokens", type=int, default=_D.max_batch_tokens,
                   help="padded tokens (rows x longest text) per inference batch")
    p.add_argument("--max-wait-ms", type=float, default=_D.max_wait_ms,
                   help="how long a batch's first text waits for others (only while other requests are arriving)")
    p.add_argument("--max-queue", type=int, default=_D.max_queue,
                   help="texts waiting for inference (hard cap); past it: 429")
    p.add_argument("--max-queue-ms", type=float, default=_D.max_queue_ms,
                   help="admission: a request whose expected wait (queued tokens / measured service rate) is over"
                        " this, or over --request-timeout-s, gets 429 with Retry-After at once")
    p.add_argument("--max-request-bytes", type=int, default=_D.max_request_bytes, help="request body limit; past it: 413")
    p.add_argument("--max-texts", type=int, default=_D.max_texts, help="texts per request; past it: 413")
    p.add_argument("--request-timeout-s", type=float, default=_D.request_timeout_s,
                   help="a request still waiting after this gets 503")
    p.add_argument("--no-batching", action="store_true", help="one request per inference batch (for comparisons)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="require 'Authorization: Bearer <$VAR>' on /v1/*, /info and /metrics")
    p.add_argument("--threads", type=int, help="inference threads (onnxruntime intra-op and BLAS; default: cores - 1, at least 1,"
                        " at most 8: one core stays with the event loop)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=_serve, env_errors=_environment_defaults(p))


def _environment_defaults(p: argparse.ArgumentParser) -> list[str]:
    """Take each option's default from ENV_PREFIX + its name when that is set and not empty (a flag: 1/0,
    true/false, yes/no, on/off); return what was wrong, reported when `serve` runs."""
    errors = []
    for action in p._actions:
        value = os.environ.get(ENV_PREFIX + action.dest.upper(), "").strip()
        if not action.option_strings or action.dest == "help" or not value:
            continue
        name = f"{ENV_PREFIX}{action.dest.upper()}={value!r}"
        if action.nargs == 0:  # store_true
            word = value.lower()
            if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                errors.append(f"{name}: {action.option_strings[0]} is a flag, set it to 1 or 0")
            action.default = word in ("1", "true", "yes", "on")
        elif action.choices is not None and value not in action.choices:
            errors.append(f"{name}: {action.option_strings[0]} is one of {', '.join(action.choices)}")
        else:
            try:
                action.default = action.type(value) if action.type else value
            except ValueError:
                errors.append(f"{name}: {action.option_strings[0]} takes a number")
    return errors
