"""The house's layout: stages import only down, and no module imports itself in a circle.

Every import counts, at the top of a module or inside a function (those are the ones a
reader misses). `docs/ARCHITECTURE.md` describes the layers this test enforces.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Layers, lowest first: a module may import its own package and the layers below it.
# `schemas` is programme knowledge as data and imports nothing of `pipelines`.
LAYERS = [
    ["schemas"],
    ["pipelines.settings"],  # one validated configuration, handed down
    ["pipelines.base"],
    ["pipelines.read", "pipelines.forms"],
    ["pipelines.record"],
    ["pipelines.check"],
    ["pipelines.report", "pipelines.feedback"],
    ["pipelines.service"],
    ["pipelines.flows"],
    ["pipelines.deploy"],
    ["pipelines.cli"],
]


def modules() -> dict[str, Path]:
    found = {}
    for top in ("pipelines", "schemas"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere in its body."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name not in ("pipelines",):
                out.add(name)
    return out


def layer_of(module: str) -> tuple[int, str]:
    for rank, group in enumerate(LAYERS):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                return rank, prefix
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports_of(p, known) - {m} for m, p in known.items()}


def test_every_module_has_a_layer():
    for module in modules():
        if module not in ("pipelines",):
            layer_of(module)


def test_imports_point_down():
    wrong = []
    for module, deps in graph().items():
        if module == "pipelines":
            continue
        rank, home = layer_of(module)
        for dep in deps:
            dep_rank, dep_home = layer_of(dep)
            if dep_home != home and dep_rank >= rank:
                wrong.append(f"{module} -> {dep}")
    assert not wrong, "imports that do not point down:\n" + "\n".join(sorted(wrong))


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    g = {m: {d for d in deps if not modules()[d].name == "__init__.py"}
         for m, deps in graph().items()}
    assert cycles(g) == []


@pytest.mark.parametrize("g, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(g, expected):
    assert cycles(g) == expected


def test_the_walk_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from pipelines.report import render\n")
    known = {"pipelines.report.render": Path("x"), "pipelines.report": Path("y")}
    assert imports_of(path, known) == {"pipelines.report", "pipelines.report.render"}


def test_importing_the_schemas_changes_no_global_state():
    """Nothing runs at import time: importing every schema module leaves `sys.modules`
    with no stand-in; the pandas-only stand-in for pandera's dask types is put in place when
    a model is first used (`PandasModel.to_schema`), and pandera then imports no dask."""
    import subprocess
    import sys

    code = (
        "import sys, pandas as pd\n"
        "import schemas.models, schemas.catalogue, schemas.units, schemas.presentation\n"
        "assert 'pandera.typing.dask' not in sys.modules, 'stand-in installed at import'\n"
        "from schemas.models import FindingsModel\n"
        "FindingsModel.validate(pd.DataFrame(columns=list(FindingsModel.to_schema().columns)))\n"
        "assert 'dask.dataframe' not in sys.modules, 'pandera imported dask'\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
