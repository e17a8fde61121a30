"""Command-line input and output: decoding arguments, files and stdin; quiet logging; progress bars."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from workvec.errors import InputError

LINES_PER_CHUNK = 256  # titles read from a file or stdin are normalized (and printed) this many at a time


def check_arguments(argv: Sequence[str]) -> None:
    """Refuse arguments that were not valid UTF-8 (Python keeps their bytes as lone surrogates)."""
    for position, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"argument {position} is not valid UTF-8 (byte {exc.start}); pass UTF-8 text,"
                             " or put the text in a file and use --file") from None


def decode(data: bytes, source: str) -> str:
    """UTF-8 text from `data`; binary or non-UTF-8 input is a clear error naming `source`."""
    if b"\x00" in data[:65536]:
        raise InputError(f"{source} looks binary (NUL bytes); pass a UTF-8 text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source} is not UTF-8 (byte {exc.start}); convert it, e.g. iconv -t utf-8") from None


def read_source(name: str) -> str:
    """The whole text of a file, or of stdin when `name` is '-'."""
    if name == "-":
        return decode(sys.stdin.buffer.read(), "stdin")
    path = Path(name)
    if not path.is_file():
        raise InputError(f"--file {path} does not exist or is not a file")
    return decode(path.read_bytes(), str(path))


def iter_line_chunks(name: str) -> Iterator[list[str]]:
    """Lines of a file (or stdin for '-'), newline stripped, in chunks of LINES_PER_CHUNK, read as a stream."""
    source = "stdin" if name == "-" else name
    if name != "-" and not Path(name).is_file():
        raise InputError(f"--file {name} does not exist or is not a file")
    handle = sys.stdin.buffer if name == "-" else open(name, "rb")
    try:
        chunk: list[str] = []
        for number, raw in enumerate(handle, 1):
            chunk.append(decode(raw, f"{source} line {number}").rstrip("\r\n"))
            if len(chunk) == LINES_PER_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def quiet_third_parties(verbose: bool) -> None:
    """Hide torch/onnxruntime/transformers warnings and log chatter unless --verbose."""
    if verbose:
        return
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=r"workvec(\..*)?")
    logging.getLogger().setLevel(logging.ERROR)
    for name in ("transformers", "optimum", "onnxruntime", "torch", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


def show_progress(quiet: bool) -> bool | None:
    """Progress on stderr: False with --quiet; True (bars) on a terminal; else None, which the library reads as
    "auto" (no bars, but one line before long work such as a first label-index build) and callers as no bar."""
    if quiet:
        return False
    return True if sys.stderr.isatty() else None


def note(message: str) -> None:
    """A one-line note on stderr (never on stdout, which carries results)."""
    print(f"workvec: {message}", file=sys.stderr)


class HelpFormatter(argparse.HelpFormatter):
    """--help shows each option's default value, where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" not in text and action.default not in (None, False, [], argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text
