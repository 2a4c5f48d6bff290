"""Every code block on every page of the documentation (docs/**/*.md,
README.md, CONTRIBUTING.md and benchmarks/README.md) runs, on each backend where its page claims it works, and shows
what the page says.

How a page's blocks are read:

- ```python blocks run in order, in one namespace per page, under the
  current Keras backend; ``<!-- backends: tensorflow, jax -->`` on the line
  before a block runs it only under those backends. A block asserts what the
  text around it claims.
- A ```text block right after a python block is what that block prints, line
  for line (a line ending in "…" matches any line that starts with the rest).
- ```pycon blocks: each ``>>> expression`` is evaluated in the page's
  namespace; the lines after it are its repr, or ``SomeError: message`` when
  it must raise that error with that message.
- ```sh blocks: every command is checked against what it names: a
  ``pip install "keras-optims[extra]"`` names extras of pyproject.toml, ``make
  target`` targets of the Makefile, ``python path.py`` files that exist (and
  ``--help`` parses), and the verification CLI's arguments parse.
- ```text blocks elsewhere show a message or a table, not code. Any other
  language is refused: a block that nothing checks does not exist.
"""

import contextlib
import importlib.metadata
import io
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "benchmarks" / "README.md", *sorted(DOCS.rglob("*.md"))]
BLOCK = re.compile(r"^(?P<marker><!-- backends: (?P<backends>[a-z, ]+) -->\n)?```(?P<language>\w*)[^\n]*\n(?P<code>.*?)^```\n",
                   re.S | re.M)
LANGUAGES = {"python", "text", "pycon", "sh"}


def blocks(page):
    """(language, code, backends or None, start offset, end offset) of every
    fenced block of `page`, in order."""
    text = page.read_text()
    found = []
    for match in BLOCK.finditer(text):
        backends = match["backends"] and {b.strip() for b in match["backends"].split(",")}
        found.append((match["language"], match["code"], backends, match.start(), match.end()))
    return text, found


def page_id(page):
    return (page.relative_to(DOCS) if page.is_relative_to(DOCS) else page.relative_to(ROOT)).as_posix()


@pytest.mark.once
def test_there_are_pages_with_code():
    assert sum(1 for page in PAGES for language, *_ in blocks(page)[1] if language == "python") >= 30


@pytest.mark.once
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_block_is_of_a_language_the_tests_check(page):
    text, found = blocks(page)
    indented = [line for line in text.splitlines() if re.match(r"^\s+```", line)]
    assert not indented, f"{page_id(page)}: an indented block escapes these checks: {indented[:3]}"
    assert text.count("\n```") == 2 * len(found), f"{page_id(page)}: a block the checks do not read"
    for language, code, *_ in found:
        assert language in LANGUAGES, f"{page_id(page)}: a ```{language} block is checked by nothing:\n{code[:200]}"


def matches(printed, expected):
    printed, expected = printed.rstrip("\n").splitlines(), expected.rstrip("\n").splitlines()
    if len(printed) != len(expected):
        return False
    return all(p == e or (e.endswith("…") and p.startswith(e[:-1])) for p, e in zip(printed, expected))


def run_pycon(code, namespace, where):
    lines = code.rstrip("\n").splitlines()
    i = 0
    while i < len(lines):
        assert lines[i].startswith(">>> "), f"{where}: expected '>>> ', got {lines[i]!r}"
        expression = lines[i][4:]
        j = i + 1
        while j < len(lines) and not lines[j].startswith(">>> "):
            j += 1
        expected = "\n".join(lines[i + 1:j])
        error = re.match(r"^([A-Z]\w*(?:Error|Exception|Unavailable)): (.*)$", expected, re.S)
        if error:
            with pytest.raises(Exception) as raised:
                eval(expression, namespace)  # noqa: S307
            assert type(raised.value).__name__ == error[1], f"{where}: {expression}"
            assert str(raised.value) == error[2], f"{where}: {expression}"
        else:
            assert repr(eval(expression, namespace)) == expected, f"{where}: {expression}"  # noqa: S307
        i = j


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_python_blocks_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    backend = keras.backend.backend()
    text, found = blocks(page)
    namespace = {"__name__": f"docs_{page.stem}"}
    monkeypatch.chdir(tmp_path)  # what a block writes stays in the test's folder
    ran = 0
    for index, (language, code, backends, start, end) in enumerate(found):
        if language not in ("python", "pycon") or (backends and backend not in backends):
            continue
        where = f"{page_id(page)}, line {text.count(chr(10), 0, start) + 1}"
        if language == "pycon":
            run_pycon(code, namespace, where)
            ran += 1
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, where, "exec"), namespace)  # noqa: S102
        ran += 1
        following = found[index + 1] if index + 1 < len(found) else None
        if following and following[0] == "text" and not text[end:following[3]].strip():
            assert matches(printed.getvalue(), following[1]), (
                f"{where} prints\n{printed.getvalue()}\nbut the page shows\n{following[1]}")
    if not ran:
        pytest.skip(f"no block of this page runs under {backend}")


def makefile_targets():
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def extras():
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def check_command(words, where):
    if words[0] == "pip" and words[1:2] == ["install"]:
        assert any(w.startswith("keras-optims") for w in words[2:]), f"{where}: installs no keras-optims"
        for requirement in words[2:]:
            named = re.fullmatch(r"([\w-]+)(\[([\w,-]+)\])?", requirement)
            assert named, f"{where}: installs {requirement!r}, which the tests cannot check"
            chosen = set((named[3] or "").split(",")) - {""}
            if named[1] == "keras-optims":
                assert chosen <= extras(), f"{where}: unknown extra in {requirement}"
            else:  # another project's extra beside ours (JAX's CUDA build): one its installed release declares
                assert chosen and chosen <= set(importlib.metadata.metadata(named[1]).get_all("Provides-Extra") or ()), (
                    f"{where}: {requirement} is not an extra of the installed {named[1]}")
    elif words[0] == "make":
        assert set(words[1:]) <= makefile_targets(), f"{where}: {words[1:]} are not all Makefile targets"
    elif words[:3] == ["python", "-m", "keras_optims.verification"] or words[0] == "keras-optims-verify":
        from keras_optims.verification.__main__ import parse

        arguments = words[3:] if words[0] == "python" else words[1:]
        try:
            parse(arguments)
        except SystemExit as error:
            raise AssertionError(f"{where}: the CLI refuses {arguments}") from error
    elif words[:3] == ["python", "-m", "keras_optims.native"]:
        from keras_optims.native import __main__ as kernel

        assert words[3:] == [], f"{where}: python -m keras_optims.native takes no arguments"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                kernel.main(["--help"])
        except SystemExit as exit:
            assert exit.code == 0, f"{where}: python -m keras_optims.native --help exited {exit.code}"
    elif words[0] == "python" and words[1].endswith(".py"):
        assert (ROOT / words[1]).is_file(), f"{where}: {words[1]} does not exist"
        done = subprocess.run([sys.executable, words[1], "--help"], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{where}: {words[1]} --help: {done.stderr[-500:]}"
        parser_lines = done.stdout
        for word in words[2:]:
            if word.startswith("--"):
                assert word.split("=")[0] in parser_lines, f"{where}: {words[1]} has no option {word}"
    else:
        raise AssertionError(f"{where}: the tests cannot check this command: {' '.join(words)}")


@pytest.mark.slow
@pytest.mark.once
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_shell_blocks_name_what_exists(page):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("backend-independent: checked once, under TensorFlow")
    text, found = blocks(page)
    for language, code, _, start, _ in found:
        if language != "sh":
            continue
        for number, line in enumerate(code.splitlines()):
            command = line.split(" #")[0].strip()
            if not command or command.startswith("#"):
                continue
            words = [w for w in shlex.split(command) if not re.fullmatch(r"[A-Z_]+=\S*", w)]
            check_command(words, f"{page_id(page)}, line {text.count(chr(10), 0, start) + 2 + number}")


@pytest.mark.once
def test_the_command_checker_can_fail():
    with pytest.raises(AssertionError):
        check_command(["make", "no-such-target"], "here")
    with pytest.raises(AssertionError):
        check_command(["pip", "install", "keras-optims[no-such-extra]"], "here")
    with pytest.raises(AssertionError):
        check_command(["pip", "install", "keras-optims[jax]", "jax[no-such-extra]"], "here")
    with pytest.raises(AssertionError):
        check_command(["pip", "install", "jax[cuda12]"], "here")
    with pytest.raises(AssertionError):
        check_command(["keras-optims-verify", "--no-such-flag"], "here")
    with pytest.raises(AssertionError):
        check_command(["rm", "-rf", "/"], "here")


@pytest.mark.once
def test_the_output_matcher_can_fail():
    assert matches("a\nb 1.5\n", "a\nb 1.…")
    assert not matches("a\nb 2.5\n", "a\nb 1.…")
    assert not matches("a\n", "a\nb")
