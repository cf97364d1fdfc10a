"""Local paths and fsspec URLs (`s3://`, `gs://`, `file://`) for inputs, scratch and outputs.

* Inputs: `resolve_locations` expands files, directories and globs, local (through
  `ingest.resolve_inputs`) or by URL; a remote input is a `Location`, a `str` that `ingest`'s
  functions can name and open as they do a path; `identity` tells whether it changed since it
  was listed. `HashingReader` hashes (and checks for UTF-8) the bytes as they are read.
* Scratch: `Scratch` is a run's own directory under a base path or URL; it deletes only the
  files it handed out names for, then (local) `rmdir`s itself.
* Outputs: `publish_outputs` writes the outputs into a local staging directory (the usual
  `StagedOutput`, marker included), uploads every file under a temporary key beside the target,
  then copies them in, marker first, and deletes only its own temporary keys and, of an earlier
  output it replaces, only the files that output's marker lists. An object store has no atomic
  rename of a directory: each file appears whole (one PUT or copy), a crash during the copy
  leaves the marker and some files, all of which the next run may replace.

Credentials and endpoints come from the usual environment of fsspec and the storage's own
library (for S3: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`,
`AWS_ENDPOINT_URL`; `FSSPEC_S3_*` for any s3fs option); nothing else is contacted.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO

from claims_audit.errors import InputError, OutputError, PipelineError, one_line

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB = re.compile(r"[*?\[]")
_READ_BLOCK = 1 << 24
_INSTALL = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}  # protocol -> extra


def scheme(text: str | os.PathLike) -> str | None:
    """The URL scheme of `text` (`s3`, `file`, ...), None for a plain path."""
    match = _SCHEME.match(str(text))
    return match.group(1).lower() if match else None


def is_remote(text: str | os.PathLike) -> bool:
    """Whether `text` is a URL of a storage other than the local file system."""
    return scheme(text) not in (None, "file")


def local_text(text: str | os.PathLike) -> str:
    """A plain path or a `file://` URL as a local path (text); a remote URL unchanged."""
    text = str(text)
    if scheme(text) == "file":
        return text[len("file://") :] or "/"
    return text


class Location(str):
    """A URL where `ingest` expects a path that it only names (`str()`, `.name`, `.suffix`) or
    opens (`.open("rb")`): errors and rejects then name the URL as the user gave it."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return PurePosixPath(str(self).split("://", 1)[-1]).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def open(self, mode: str = "rb") -> IO[bytes]:
        fs, path = filesystem(self)
        return fs.open(path, mode)


def filesystem(url: str):
    """The fsspec file system of `url` and the path inside it. A protocol whose library is
    not installed is a PipelineError naming the extra to install."""
    try:
        import fsspec
    except ImportError:
        raise PipelineError(
            f"{url}: URLs need fsspec: pip install 'claims-audit[s3]' (or [gcs])"
        ) from None
    try:
        return fsspec.core.url_to_fs(str(url))
    except ImportError:
        extra = _INSTALL.get(scheme(url) or "", "s3")
        raise PipelineError(
            f"{url}: the {scheme(url)}:// file system is not installed: "
            f"pip install 'claims-audit[{extra}]'"
        ) from None
    except ValueError as exc:
        raise PipelineError(f"{url}: not a usable URL ({one_line(str(exc))})") from None


def _storage_error(url: str, exc: Exception) -> InputError:
    reason = getattr(exc, "strerror", None) or one_line(str(exc)) or type(exc).__name__
    return InputError(f"{url}: cannot be read ({reason})")


def _remote_inputs(item: str, suffixes: dict[str, str]) -> list[Location]:
    """Files of a remote file, directory (its entries with an input suffix) or glob."""
    fs, path = filesystem(item)
    fs.invalidate_cache(path)  # a long-lived process: list afresh
    try:
        if fs.isdir(path):
            entries = fs.ls(path, detail=True)
            hits = sorted(
                e["name"]
                for e in entries
                if e.get("type") == "file" and PurePosixPath(e["name"]).suffix.lower() in suffixes
            )
            if not hits:
                raise InputError(f"{item}: directory holds no claims file ({', '.join(suffixes)})")
        elif fs.isfile(path):
            hits = [path]
        elif _GLOB.search(path):
            hits = sorted(p for p in fs.glob(path) if fs.isfile(p))
            if not hits:
                raise InputError(f"{item}: no such file, directory or matching glob")
        else:
            raise InputError(f"{item}: no such file, directory or matching glob")
    except (OSError, ValueError) as exc:
        raise _storage_error(item, exc) from None
    return [Location(fs.unstrip_protocol(p)) for p in hits]


def resolve_locations(inputs) -> list[Path | Location]:
    """`ingest.resolve_inputs` for local paths (and `file://` URLs), the same for URLs: one
    sorted, de-duplicated list; local files as `Path`, remote ones as `Location`."""
    from claims_audit.ingest import INPUT_SUFFIXES, resolve_inputs

    items = [str(i) for i in inputs]
    local = [local_text(i) for i in items if not is_remote(i)]
    found: list[Path | Location] = list(resolve_inputs(local)) if local else []
    for item in items:
        if is_remote(item):
            found += _remote_inputs(item, INPUT_SUFFIXES)
    return sorted(dict.fromkeys(found), key=str)


def open_input(location: Path | str) -> IO[bytes]:
    """A binary reader of a local file or a URL."""
    if isinstance(location, Path) or not is_remote(location):
        return open(local_text(location), "rb")  # noqa: SIM115 (the caller closes it)
    try:
        return Location(location).open("rb")
    except (OSError, ValueError) as exc:
        raise _storage_error(str(location), exc) from None


def open_output(location: str) -> IO[bytes]:
    """A binary writer of a local file or a URL (a file written whole, then visible)."""
    if not is_remote(location):
        return open(local_text(location), "wb")  # noqa: SIM115 (the caller closes it)
    fs, path = filesystem(location)
    return fs.open(path, "wb")


def identity(location: Path | str) -> tuple:
    """What changes when a file is rewritten: size and modification time (local), size and
    ETag or modification time (remote)."""
    if isinstance(location, Path) or not is_remote(location):
        st = os.stat(local_text(location))
        return (st.st_size, st.st_mtime_ns, st.st_ino)
    fs, path = filesystem(location)
    fs.invalidate_cache(path)
    try:
        info = fs.info(path)
    except (OSError, ValueError) as exc:
        raise _storage_error(str(location), exc) from None
    stamp = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified")
    return (int(info.get("size") or 0), str(stamp))


class HashingReader:
    """A binary reader that hashes (sha256) every byte read and checks whether they are valid
    UTF-8, so that cutting a file into pieces also yields what `ingest.scan_file` does."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.digest = hashlib.sha256()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.valid_utf8 = True
        self.position = 0

    def _seen(self, data: bytes) -> bytes:
        self.digest.update(data)
        self.position += len(data)
        if self.valid_utf8 and not data.isascii():
            try:
                self._decoder.decode(data)
            except UnicodeDecodeError:
                self.valid_utf8 = False
        return data

    def read(self, size: int = -1) -> bytes:
        return self._seen(self.raw.read(size))

    def readline(self) -> bytes:
        return self._seen(self.raw.readline())

    def finish(self) -> tuple[str, bool]:
        """Read to the end; the sha256 of all bytes and whether they are valid UTF-8."""
        while self.read(_READ_BLOCK):
            pass
        if self.valid_utf8:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.valid_utf8 = False
        return self.digest.hexdigest(), self.valid_utf8


def sha256_of(location: Path | str) -> str:
    """The sha256 of a local file or a URL, read once in blocks."""
    with open_input(location) as fh:
        return HashingReader(fh).finish()[0]


def worker_sees(locations: list[str]) -> list[str]:
    """Of `locations` (files or directories, local or URLs), those this process cannot see:
    run on every worker before the audit, so that a worker on another host without the
    scratch directory or an input fails at once with a clear message."""
    missing = []
    for location in locations:
        try:
            if is_remote(location):
                fs, path = filesystem(location)
                seen = fs.exists(path)
            else:
                seen = os.path.exists(local_text(location))
        except Exception:  # noqa: BLE001 (credentials, network: reported as not seen)
            seen = False
        if not seen:
            missing.append(location)
    return missing


# -- scratch -------------------------------------------------------------------------------


class Scratch:
    """A run's scratch directory `<base>/<prefix><random>`, local or under a URL. `path(name)`
    hands out the location of a file in it (workers write there); `close()` deletes those
    files (the ones that exist), nothing else, then `rmdir`s the directory and the parents it
    made (local: only when empty)."""

    def __init__(self, base: str | os.PathLike, prefix: str = "claims-audit-scratch-"):
        self.remote = is_remote(base)
        self._names: list[str] = []
        self._made: list[Path] = []
        if self.remote:
            self._fs, root = filesystem(str(base))
            self.root = f"{root.rstrip('/')}/{prefix}{secrets.token_hex(8)}"
            self.location = self._fs.unstrip_protocol(self.root)
            return
        from claims_audit.report.writers import current_umask, missing_ancestors

        parent = Path(local_text(base))
        self._made = missing_ancestors(parent)
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.root = tempfile.mkdtemp(prefix=prefix, dir=parent)

            os.chmod(self.root, 0o777 & ~current_umask())  # workers may run as another user
        except OSError as exc:
            raise OutputError(
                f"scratch directory {parent}: cannot write ({exc.strerror or exc})"
            ) from None
        self.location = self.root

    def path(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"not a plain scratch file name: {name!r}")
        if name not in self._names:
            self._names.append(name)
        return f"{self.location}/{name}"

    def remove(self, names: list[str]) -> None:
        """Delete the files `names` handed out by `path` (the ones that exist) now."""
        mine = [n for n in names if n in self._names]
        if self.remote:
            for name in mine:
                with contextlib.suppress(OSError, ValueError):  # absent: never written
                    self._fs.rm_file(f"{self.root}/{name}")
        else:
            for name in mine:
                path = Path(self.root) / name
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        os.unlink(path)  # a file a task of this run wrote
        gone = set(mine)
        self._names = [n for n in self._names if n not in gone]

    def close(self) -> None:
        self.remove(list(self._names))
        if self.remote:
            with contextlib.suppress(OSError, ValueError):
                self._fs.rmdir(self.root)  # a file system with directories: only when empty
            return
        for directory in [Path(self.root), *reversed(self._made)]:
            try:
                os.rmdir(directory)  # only when empty
            except OSError:
                break

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def default_scratch(out: str | os.PathLike) -> str:
    """Where a run makes its scratch directory without `--scratch`: beside the output (its
    parent directory or URL prefix; the bucket itself for an output at a bucket's root)."""
    text = str(out).rstrip("/")
    parent = text.rpartition("/")[0]
    if not parent:
        return "."
    return text if parent.endswith(":/") else parent


# -- outputs at a URL -----------------------------------------------------------------------


def _marker_files(fs, root: str) -> list[str] | None:
    """The files the marker of the output at `root` lists; None without a valid marker."""
    from claims_audit.report.writers import MARKER, MARKER_MAX_BYTES, MARKER_TOOL

    try:
        if fs.size(f"{root}/{MARKER}") > MARKER_MAX_BYTES:
            return None
        data = json.loads(fs.cat_file(f"{root}/{MARKER}"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("tool") != MARKER_TOOL or not isinstance(files, list):
        return None
    if not all(isinstance(n, str) and n and "/" not in n and n != MARKER for n in files):
        return None
    return files


def _entries(fs, root: str) -> list[str]:
    """Every file under `root`, relative to it (nested ones with their `/`), listed afresh."""
    fs.invalidate_cache(root)
    try:
        found = fs.find(root)
    except (FileNotFoundError, OSError):
        return []
    prefix = root.rstrip("/") + "/"
    return sorted(p[len(prefix) :] for p in found if p.startswith(prefix))


def check_remote_replaceable(url: str) -> None:
    """As `writers.check_replaceable` for an output URL: absent, empty, or an earlier
    claims-audit output holding only the files its marker lists."""
    from claims_audit.report.writers import MARKER

    fs, root = filesystem(url)
    try:
        if fs.isfile(root):
            raise OutputError(f"output {url}: is a file, not a directory")
    except (OSError, ValueError) as exc:
        raise OutputError(f"output {url}: cannot be reached ({one_line(str(exc))})") from None
    entries = _entries(fs, root)
    if not entries:
        return
    names = _marker_files(fs, root)
    if names is None:
        raise OutputError(
            f"output {url}: exists and is not a claims-audit output (no {MARKER} marker, "
            f"{len(entries):,} files); refusing to replace it: choose a new or empty location"
        )
    foreign = [e for e in entries if e != MARKER and e not in names]
    if foreign:
        raise OutputError(
            f"output {url}: holds files claims-audit did not write ({', '.join(foreign[:3])}); "
            "refusing to replace it: move them or choose another location"
        )


def check_out_url(url: str, protected: dict[str, list]) -> None:
    """Refuse an output URL that is or holds a path the run reads, or that would replace
    something the tool did not write."""
    out = url.rstrip("/")
    for label, items in protected.items():
        for item in items:
            text = str(item).rstrip("/")
            if text == out or text.startswith(out + "/"):
                raise OutputError(
                    f"--out {url}: is or holds {label} ({item}); refusing to replace it: "
                    "choose a location outside it"
                )
    check_remote_replaceable(url)


def _publish(local: Path, url: str) -> None:
    """Upload the finished output directory `local` to `url` (see the module docstring)."""
    from claims_audit.report.writers import MARKER, marker_names

    fs, root = filesystem(url)
    names = [MARKER, *(marker_names(local) or [])]
    parent, _, base = root.rstrip("/").rpartition("/")
    stage = f"{parent}/.{base}.tmp-{secrets.token_hex(6)}" if parent else f".{base}.tmp"
    uploaded: list[str] = []
    try:
        for name in names:
            uploaded.append(f"{stage}/{name}")
            fs.put_file(str(local / name), f"{stage}/{name}")
        check_remote_replaceable(url)  # again: it may have changed during the run
        for name in _marker_files(fs, root) or []:
            if name not in names and fs.exists(f"{root}/{name}"):
                fs.rm_file(f"{root}/{name}")  # listed by the earlier output's marker
        for name in names:  # the marker first: every file copied in is listed
            fs.copy(f"{stage}/{name}", f"{root}/{name}")
    except (OSError, ValueError) as exc:
        raise OutputError(f"output {url}: cannot write ({one_line(str(exc))})") from None
    finally:
        for key in uploaded:
            with contextlib.suppress(OSError, ValueError):
                fs.rm_file(key)  # its own temporary copy
        with contextlib.suppress(OSError, ValueError):
            fs.rmdir(stage)  # a file system with directories: its own, empty now


def publish_outputs(write: Callable[[Path], list[Path]], url: str) -> list[str]:
    """Write the outputs with `write(local_dir)` into a local staging directory (the client's
    temporary directory), publish them to `url`, remove the local copy. The URLs written."""
    from claims_audit.report.writers import remove_output_dir

    holder = Path(tempfile.mkdtemp(prefix="claims-audit-out-"))
    local = holder / "out"
    try:
        written = write(local)
        _publish(local, url)
    finally:
        if os.path.lexists(local):
            remove_output_dir(local)  # the marker's files only, then rmdir
        with contextlib.suppress(OSError):
            os.rmdir(holder)  # its own mkdtemp, empty now
    return [f"{url.rstrip('/')}/{p.name}" for p in written]
