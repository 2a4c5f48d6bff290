"""make release-check's own logic (tests/release/run.py): the archive it
rewrites for byte-identical sdists, the version rules of a tag, and what the
wheel must hold. The builds and installs themselves run in `make check`."""

import importlib.util
import io
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # files and text: the same under every backend

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("release_check", ROOT / "tests" / "release" / "run.py")
release = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(release)


def sdist(path, members, mtime, gzip_time):
    """A .tar.gz of `members` ({name: bytes}, in the given order) with every
    time `mtime`, its gzip header's time `gzip_time`."""
    import gzip

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname = len(data), mtime, "someone"
            archive.addfile(info, io.BytesIO(data))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=gzip_time) as out:
        out.write(buffer.getvalue())


def test_two_sdists_that_differ_only_in_times_and_order_become_the_same_bytes(tmp_path):
    files = {"pkg-1.0/PKG-INFO": b"Name: pkg\n", "pkg-1.0/a.py": b"print(1)\n", "pkg-1.0/b/c.py": b"x = 2\n"}
    sdist(tmp_path / "one.tar.gz", files, mtime=1_700_000_000, gzip_time=1_700_000_001)
    sdist(tmp_path / "two.tar.gz", dict(reversed(files.items())), mtime=1_800_000_000, gzip_time=1_800_000_009)
    assert (tmp_path / "one.tar.gz").read_bytes() != (tmp_path / "two.tar.gz").read_bytes()
    for name in ("one.tar.gz", "two.tar.gz"):
        release.reproducible_sdist(tmp_path / name, 1_234_567_890)
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "one.tar.gz") as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == sorted(files)
        assert {m.mtime for m in members} == {1_234_567_890} and {m.uname for m in members} == {"root"}
        assert {m.name: archive.extractfile(m).read() for m in members} == files  # the contents are kept
    assert int.from_bytes((tmp_path / "one.tar.gz").read_bytes()[4:8], "little") == 1_234_567_890  # gzip's time


def test_a_tag_must_name_a_final_dated_version_of_a_clean_checkout(monkeypatch):
    monkeypatch.setattr(release, "git", lambda *arguments: "")  # a clean checkout
    monkeypatch.setattr(release, "version", lambda: "0.2.0")
    monkeypatch.setattr(release, "changelog_heading", lambda: ("0.2.0", "(2026-12-06)"))
    assert release.check_version(None) == [] and release.check_version("v0.2.0") == []
    assert any("the tag v0.2.1 is not v0.2.0" in p for p in release.check_version("v0.2.1"))
    monkeypatch.setattr(release, "changelog_heading", lambda: ("0.2.0", "(unreleased)"))
    assert any("has no date" in p for p in release.check_version("v0.2.0"))
    monkeypatch.setattr(release, "version", lambda: "0.3.0.dev0")
    monkeypatch.setattr(release, "changelog_heading", lambda: ("0.3.0.dev0", "(unreleased)"))
    assert release.check_version(None) == []  # between releases: the heading names the version, no more
    assert any("not a final release" in p for p in release.check_version("v0.3.0.dev0"))
    monkeypatch.setattr(release, "changelog_heading", lambda: ("0.2.0", "(2026-12-06)"))
    assert any("CHANGELOG.md's newest heading is 0.2.0, the version is 0.3.0.dev0" in p for p in release.check_version(None))
    monkeypatch.setattr(release, "git", lambda *arguments: " M README.md\n")
    monkeypatch.setattr(release, "version", lambda: "0.2.0")
    assert any("uncommitted changes" in p for p in release.check_version("v0.2.0"))


def test_the_wheel_must_hold_every_source_of_the_package_where_it_installs():
    """The callbacks and the verification suite inside keras_optims/, as
    pyproject.toml's package-dir installs them; the kernel's C++ source."""
    expected = release.package_sources()
    assert {"keras_optims/__init__.py", "keras_optims/native/course_update.cc", "keras_optims/callbacks/ewma.py",
            "keras_optims/verification/reference/optimizers.py"} <= expected
    assert not any(p.startswith(("keras_optims/tests", "callbacks/", "verification/")) for p in expected)
    assert release.version() == __import__("keras_optims").__version__
