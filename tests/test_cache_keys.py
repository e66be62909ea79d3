"""Cache keys: the report kept when unchanged, the checks redone when their code changes (pipelines/base/cache.py)."""
import numpy as np
import pandas as pd

from pipelines.base.cache import frame_digest, render_key, render_version


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


def closure(*entries: str) -> set[str]:
    """The files of `entries` and of every project module they import, transitively
    (imports inside functions too: tests/test_layout.py's walk)."""
    from tests.test_layout import ROOT, graph, modules

    g, paths = graph(), modules()
    seen, todo = set(), list(entries)
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += g[m]
    return {str(paths[m].relative_to(ROOT)) for m in seen}


def test_every_module_a_check_or_the_report_imports_is_in_its_version():
    """A change to any code a check or the report runs invalidates what was cached: the
    versions hash whole stage folders, and every import stays inside them."""
    from pipelines.base.cache import NOT_RENDER, NOT_RULES, RENDER_PARTS, ROOT, RULE_PARTS, part_files

    rules = {str(f.relative_to(ROOT)) for f in part_files(RULE_PARTS, NOT_RULES)}
    render = {str(f.relative_to(ROOT)) for f in part_files(RENDER_PARTS, NOT_RENDER)}
    checked = closure("pipelines.check.checker", "pipelines.check.batches")
    assert "pipelines/read/guard.py" in checked and not checked - rules, checked - rules
    reported = closure("pipelines.report.render")
    for needed in ("pipelines/base/xlsx.py", "pipelines/check/completeness.py",
                   "pipelines/report/summary_xlsx.py", "schemas/presentation.py"):
        assert needed in reported, needed
    assert not reported - render, reported - render
    assert {"pipelines/report/templates/report.html.j2", "schemas/data/report.toml",
            "schemas/data/indicators.csv"} <= render


def _copy_tree(tmp_path):
    import shutil

    from pipelines.base.cache import RENDER_PARTS, ROOT, part_files

    for f in part_files(RENDER_PARTS):
        target = tmp_path / f.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    return tmp_path


def test_check_key_changes_with_every_reader_limit():
    from pipelines.base.cache import check_key_of

    base = dict(content="ab" * 32, name="a.xlsx", period="2017", max_file_mb=50.0,
                max_rows=20_000, max_unpacked_mb=200.0)
    key = check_key_of(**base)
    for field, other in (("content", "cd" * 32), ("name", "b.xlsx"), ("period", "2017-H1"),
                         ("max_file_mb", 10.0), ("max_rows", 100), ("max_unpacked_mb", 50.0)):
        assert check_key_of(**{**base, field: other}) != key, field
    assert check_key_of(**base) == key


def test_a_byte_changed_in_any_file_the_report_uses_changes_its_version(tmp_path, monkeypatch):
    """Every file the report imports, its templates and its data: one byte more in any of
    them and the report's version changes (a stale report cannot stand on a rerun)."""
    from pipelines.base import cache

    root = _copy_tree(tmp_path)
    monkeypatch.setattr(cache, "ROOT", root)
    used = closure("pipelines.report.render") | {
        str(f.relative_to(root)) for f in (root / "pipelines/report/templates").iterdir()} | {
        str(f.relative_to(root)) for f in (root / "schemas/data").iterdir()
        if f.name not in cache.NOT_RENDER}
    before = cache._version(cache.RENDER_PARTS, cache.NOT_RENDER)
    for name in sorted(used):
        path = root / name
        original = path.read_bytes()
        path.write_bytes(original + b" ")
        assert cache._version(cache.RENDER_PARTS, cache.NOT_RENDER) != before, name
        path.write_bytes(original)
    assert cache._version(cache.RENDER_PARTS, cache.NOT_RENDER) == before
    (root / "pipelines/check/new_rule.py").write_text("X = 1\n")  # a new module is in too
    assert cache._version(cache.RENDER_PARTS, cache.NOT_RENDER) != before
    assert cache._version(cache.RULE_PARTS, cache.NOT_RULES) != cache._version(
        cache.RULE_PARTS, cache.NOT_RULES | {"new_rule.py"})


def test_the_report_knowledge_is_not_part_of_the_rules_version(tmp_path, monkeypatch):
    """report.toml changes the report, not what a check finds: checks stay cached."""
    from pipelines.base import cache

    root = _copy_tree(tmp_path)
    monkeypatch.setattr(cache, "ROOT", root)
    rules = cache._version(cache.RULE_PARTS, cache.NOT_RULES)
    render = cache._version(cache.RENDER_PARTS, cache.NOT_RENDER)
    (root / "schemas" / "data" / "report.toml").write_text("x = 2")
    assert cache._version(cache.RULE_PARTS, cache.NOT_RULES) == rules
    assert cache._version(cache.RENDER_PARTS, cache.NOT_RENDER) != render
    (root / "pipelines" / "report" / "narrative.py").write_text("x = 2")
    assert cache._version(cache.RULE_PARTS, cache.NOT_RULES) == rules
