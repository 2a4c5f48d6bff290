"""MkDocs hooks of the documentation site (mkdocs.yml names this file).

- The API reference reads the package laid out as it is installed:
  build/api-source/keras_optims/ holds links to each entry of keras_optims/
  and, for each package of pyproject.toml's package-dir (the callbacks and
  the verification suite, whose sources sit at the top level), a link to its
  folder; mkdocs.yml's mkdocstrings `paths` points there.
- KaTeX, which typesets the pages' math, comes from the npm package that
  `make docs` installs into build/docs-vendor/ (nothing is fetched when a page
  is viewed): its files are added to the site under vendor/katex/.
- The verification page's table of equivalences is rendered from the
  suite's own table (`keras_optims.verification.equivalences.EQUIVALENCES`).
- The Explorer page's data (explorer/<panel>.js, a file per panel) is
  computed by the docs/explorer_data package, in a process of its own while the
  tutorials run.
- Every tutorial in docs/tutorials/ (a jupytext py:percent script) is run as
  a notebook in a fresh Jupyter kernel, on the Keras backend of the build's
  environment, and becomes a page: its text, its code and what the code
  printed or drew. A cell that raises fails the build. The executed notebook
  and the script are on the page to download.
"""

import base64
import concurrent.futures
import hashlib
import os
import shutil
import time
import tomllib
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "docs" / "tutorials"
KATEX = ROOT / "build" / "docs-vendor" / "node_modules" / "katex" / "dist"
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")
# KERAS_OPTIMS_DOCS_CACHE=1 (make docs-serve) reuses a tutorial's executed
# notebook while its source is unchanged; `make docs` always runs them.
CACHE = ROOT / "build" / "docs-cache"
TIMES = {}
API_SOURCE = ROOT / "build" / "api-source"


def api_source():
    """Lays keras_optims out in API_SOURCE as pip installs it (see the
    module's docstring)."""
    shutil.rmtree(API_SOURCE, ignore_errors=True)
    package = API_SOURCE / "keras_optims"
    package.mkdir(parents=True)
    for entry in (ROOT / "keras_optims").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for name, folder in setuptools["package-dir"].items():
        API_SOURCE.joinpath(*name.split(".")).symlink_to(ROOT / folder, target_is_directory=True)


def on_startup(command, dirty):
    # Before any plugin's on_config: mkdocstrings reads its paths then.
    api_source()


def katex_files(config):
    if not (KATEX / "katex.min.js").is_file():
        raise PluginError(
            f"KaTeX is not in {KATEX}: `make docs` installs it from the npm registry "
            "(npm install --prefix build/docs-vendor, the version in the Makefile)."
        )
    paths = list(KATEX_FILES) + sorted(p.relative_to(KATEX).as_posix() for p in (KATEX / "fonts").glob("*.woff2"))
    return [
        File.generated(config, f"vendor/katex/{path}", abs_src_path=str(KATEX / path)) for path in paths
    ]


def execute(path):
    """The notebook of tutorial `path`, run top to bottom in a new kernel."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    source = path.read_bytes()
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    key = hashlib.sha256(source + backend.encode()).hexdigest()[:16]
    cached = CACHE / f"{path.stem}-{key}.ipynb"
    if os.environ.get("KERAS_OPTIMS_DOCS_CACHE") == "1" and cached.is_file():
        return nbformat.read(cached, as_version=4), 0.0
    notebook = jupytext.reads(source.decode(), fmt="py:percent")
    started = time.perf_counter()
    # The kernel's own environment (not this process's: two tutorials run at
    # once); figures inline, so that they are on the page.
    environment = {"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ,
                   "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(TUTORIALS)}},
        # The kernel listens on loopback only; its notice about that is not news.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute(env=environment)
    except Exception as error:  # the cell, its traceback: nbclient's message says it
        raise PluginError(f"tutorial {path.name} failed on {backend}:\n{error}") from error
    seconds = time.perf_counter() - started
    CACHE.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, cached)
    return notebook, seconds


def page(path, notebook, seconds, backend):
    """The tutorial as Markdown, and the pictures it drew: {uri: bytes}."""
    import nbformat

    parts, pictures = [], {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if not cell.source.strip():
            continue
        parts.append(f"```python\n{cell.source}\n```")
        for number, output in enumerate(cell.get("outputs", [])):
            if output.output_type == "stream":
                text = output.text
            elif output.output_type in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data:
                    uri = f"{path.stem}-{index}-{number}.png"
                    pictures[uri] = base64.b64decode(data["image/png"])
                    parts.append(f"![the figure of the cell above]({uri})")
                    continue
                text = data.get("text/plain", "")
            else:
                continue
            text = text.rstrip("\n")
            if text:
                parts.append(f'```text title="output"\n{text}\n```')
    parts.insert(
        1,
        f"!!! info \"Runs as you read it\"\n    This page is the tutorial `docs/tutorials/{path.name}`, run from top to "
        f"bottom when the site was built ({backend} backend, {seconds:.0f} s). Download it as a "
        f"[notebook]({path.stem}.ipynb) or as the [script]({path.name}) (jupytext py:percent); "
        "every claim it makes is an `assert` in it.",
    )
    return "\n\n".join(parts) + "\n", pictures, nbformat.writes(notebook)


def run_tutorials(config, files):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    paths = sorted(TUTORIALS.glob("*.py"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        executed = dict(zip(paths, pool.map(execute, paths)))
    for path, (notebook, seconds) in executed.items():
        TIMES[path.stem] = seconds
        markdown, pictures, ipynb = page(path, notebook, seconds, backend)
        files.append(File.generated(config, f"tutorials/{path.stem}.md", content=markdown))
        files.append(File.generated(config, f"tutorials/{path.stem}.ipynb", content=ipynb))
        for uri, data in pictures.items():
            files.append(File.generated(config, f"tutorials/{uri}", content=data))


def explorer_data(config):
    """Starts docs/explorer_data (the Explorer page's data, computed by
    the optimizers, a file per panel) in its own process; returns a function
    that waits for it and gives the generated files explorer/<panel>.js."""
    import subprocess
    import sys

    out = ROOT / "build" / "explorer"
    shutil.rmtree(out, ignore_errors=True)
    process = subprocess.Popen([sys.executable, str(ROOT / "docs" / "explorer_data"), str(out)],
                               env={"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def done():
        output, _ = process.communicate()
        if process.returncode != 0:
            raise PluginError(f"docs/explorer_data failed (exit status {process.returncode}):\n{output[-3000:]}")
        print(f"INFO    -  explorer: {output.strip().splitlines()[-1]}")
        return [File.generated(config, f"explorer/{path.name}", abs_src_path=str(path))
                for path in sorted(out.glob("*.js"))]

    return done


def on_files(files, config):
    for file in katex_files(config):
        files.append(file)
    explorer = explorer_data(config)  # beside the tutorials
    run_tutorials(config, files)
    for file in explorer():
        files.append(file)
    return files


EQUIVALENCES_MARK = "<!-- the equivalences table: docs/hooks.py -->"


def equivalences_table():
    """The verification suite's equivalence rows (`EQUIVALENCES`) as a table."""
    from keras_optims.verification.equivalences import EQUIVALENCES

    rows = ["| claim | control (must fail) | needs |", "| --- | --- | --- |"]
    for equivalence in EQUIVALENCES:
        rows.append(f"| {equivalence.claim} | {equivalence.control} | {equivalence.needs or 'Keras'} |")
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "verification.md":
        if EQUIVALENCES_MARK not in markdown:
            raise PluginError(f"verification.md has lost its mark {EQUIVALENCES_MARK!r}")
        markdown = markdown.replace(EQUIVALENCES_MARK, equivalences_table())
    return markdown


def on_post_build(config):
    if TIMES:
        report = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(TIMES.items()))
        print(f"INFO    -  tutorials run: {report}")
