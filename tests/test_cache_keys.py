"""Cache keys: the report kept when unchanged, the checks redone when their code changes (pipelines/cache.py)."""
import numpy as np
import pandas as pd

from pipelines.cache import frame_digest, render_key, render_version


def test_digest_sees_blank_versus_zero_order_and_columns():
    base = pd.DataFrame({"code": ["a", "b"], "value": [1.0, np.nan]})
    assert frame_digest(base) == frame_digest(base.copy())
    assert frame_digest(base) != frame_digest(base.assign(value=[1.0, 0.0]))  # blank is not 0
    assert frame_digest(base) != frame_digest(base.iloc[::-1])
    assert frame_digest(base) != frame_digest(base.rename(columns={"value": "v"}))
    assert frame_digest(None) == "none"


def test_digest_of_mixed_columns():
    mixed = pd.DataFrame({"value": [1, "x", None, 2.5]}, dtype=object)
    assert frame_digest(mixed) == frame_digest(mixed.copy())
    assert frame_digest(mixed) != frame_digest(mixed.assign(value=[1, "y", None, 2.5]))


def test_key_depends_on_every_part_and_the_code():
    assert render_key("a", "b") != render_key("a", "c")
    assert len(render_version()) == 16


def test_every_module_a_check_imports_is_in_the_rules_version():
    """A change to any code a check runs must invalidate the cached checks."""
    import re

    from pipelines.cache import ROOT, RULE_SOURCES

    for source in RULE_SOURCES:
        text = (ROOT / source).read_text(encoding="utf-8")
        for package, module in re.findall(r"^from (pipelines|schemas)\.(\w+) import", text, re.M):
            assert f"{package}/{module}.py" in RULE_SOURCES, (source, module)
        for module in re.findall(r"^from pipelines import ([\w, ]+)$", text, re.M):
            for name in module.split(", "):
                assert f"pipelines/{name}.py" in RULE_SOURCES, (source, name)


def test_check_key_changes_with_every_reader_limit():
    from pipelines.cache import check_key_of

    base = dict(content="ab" * 32, name="a.xlsx", period="2017", max_file_mb=50.0,
                max_rows=20_000, max_unpacked_mb=200.0)
    key = check_key_of(**base)
    for field, other in (("content", "cd" * 32), ("name", "b.xlsx"), ("period", "2017-H1"),
                         ("max_file_mb", 10.0), ("max_rows", 100), ("max_unpacked_mb", 50.0)):
        assert check_key_of(**{**base, field: other}) != key, field
    assert check_key_of(**base) == key


def test_the_render_version_covers_every_module_the_report_imports():
    """Found from the source, imports inside functions included: a change to any of them
    leaves no stale report standing on a rerun (xlsx.py and completeness.py were missed by
    the hand-kept list once)."""
    import ast

    from pipelines.cache import ROOT, imported_sources

    sources = set(imported_sources("pipelines/render.py"))
    for needed in ("pipelines/xlsx.py", "pipelines/completeness.py", "pipelines/claims.py",
                   "pipelines/compare.py", "pipelines/narrative.py", "pipelines/pdf.py",
                   "schemas/report.py", "pipelines/summary_xlsx.py"):
        assert needed in sources, needed
    for source in sources:  # closed: whatever a listed module imports is listed
        tree = ast.parse((ROOT / source).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level \
                    and node.module.split(".")[0] in ("pipelines", "schemas"):
                path = node.module.replace(".", "/")
                assert f"{path}.py" in sources or f"{path}/__init__.py" in sources, (source, path)


def test_the_report_knowledge_is_not_part_of_the_rules_version(tmp_path, monkeypatch):
    """report.toml changes the report, not what a check finds: checks stay cached."""
    from pipelines import cache

    root = tmp_path
    (root / "schemas" / "data").mkdir(parents=True)
    (root / "schemas" / "data" / "indicators.csv").write_text("a")
    (root / "schemas" / "data" / "report.toml").write_text("x = 1")
    monkeypatch.setattr(cache, "ROOT", root)
    rules = cache._version((), cache.RULE_DATA, cache.NOT_RULES)
    render = cache._version((), cache.RENDER_DATA[:1], cache.NOT_RENDER)
    (root / "schemas" / "data" / "report.toml").write_text("x = 2")
    assert cache._version((), cache.RULE_DATA, cache.NOT_RULES) == rules
    assert cache._version((), cache.RENDER_DATA[:1], cache.NOT_RENDER) != render
