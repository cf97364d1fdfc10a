"""Atomic, deterministic writers: every output goes to a staging directory first, and the
finished set replaces the output directory in one rename, so a crash leaves either the previous
complete result or nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import OutputError
from pipeline.report.safety import escape_text_columns


def cannot_write(path: Path, exc: OSError) -> OutputError:
    """One line naming the output file as the user knows it (not the staging directory) and
    the system's reason (e.g. `No space left on device`)."""
    stage = Path(path).parent
    shown = Path(path)
    match = re.fullmatch(r"\.(.+)\.tmp-[^/]*", stage.name)
    if match:
        shown = stage.parent / match.group(1) / Path(path).name
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    reason = exc.strerror or text
    return OutputError(f"{shown}: cannot write ({reason})")


class StagedOutput:
    """Write files into a staging dir beside `target`; `commit()` swaps it into place."""

    def __init__(self, target: Path):
        self.target = Path(target)
        parent = self.target.parent
        try:
            if self.target.exists() and not self.target.is_dir():
                raise OutputError(f"output directory {self.target}: is a file, not a directory")
            parent.mkdir(parents=True, exist_ok=True)
            self.stage = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
        except OSError as exc:
            raise OutputError(
                f"output directory {self.target}: cannot write ({exc.strerror or exc})"
            ) from None

    def path(self, name: str) -> Path:
        return self.stage / name

    def commit(self) -> None:
        old = None
        try:
            if self.target.exists():
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                os.replace(self.target, old)
            os.replace(self.stage, self.target)
        except OSError as exc:
            if old is not None and not self.target.exists():
                os.replace(old, self.target)  # put the previous result back
            self.abort()
            raise OutputError(
                f"output directory {self.target}: cannot write ({exc.strerror or exc})"
            ) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV with text cells escaped against formula injection; byte-identical for equal input."""
    try:
        escape_text_columns(frame).to_csv(path, index=False, lineterminator="\n")
    except OSError as exc:
        raise cannot_write(path, exc) from None


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)  # no pandas/version metadata: stable bytes
    try:
        pq.write_table(table, path, compression="zstd")
    except OSError as exc:
        raise cannot_write(path, exc) from None


def write_json(data: dict, path: Path) -> None:
    try:
        path.write_text(
            json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise cannot_write(path, exc) from None


def write_text(text: str, path: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc) from None
