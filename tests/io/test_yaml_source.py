"""YAML text -> plain values that remember where each was written (io/yaml_source.py): the limits that keep a
hostile file from eating memory or time, each refused with its YAML path and line, and locations of values."""

import pytest

from gradcli.errors import SpecError
from gradcli.io.yaml_source import MAX_NODES, load_text as load_yaml


def test_every_value_knows_its_line_column_and_source_text():
    doc = load_yaml("a: 1\nb:\n  c: [2, 40.10]\n  d: {e: x}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": {"c": [2, 40.1], "d": {"e": "x"}}}
    assert doc.line(("b", "c", 1)) == 3 and doc.loc(("b", "c", 1)).column == 10
    assert doc.source_text(("b", "c", 1)) == "40.10"
    assert doc.where(("b", "d", "e")) == "f.yaml: b.d.e (line 4)"
    assert doc.line(("b", "nope")) == 2  # the nearest ancestor's line


def test_keys_are_their_text_and_a_key_written_twice_is_an_error():
    doc = load_yaml("1: a\non: b\n", "f.yaml")
    assert doc.data == {"1": "a", "on": "b"}
    with pytest.raises(SpecError, match="twice") as info:
        load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert "line 3" in info.value.where


def test_dates_stay_text_and_python_tags_are_refused():
    assert load_yaml("when: 2026-12-02\n", "f.yaml").data == {"when": "2026-12-02"}
    with pytest.raises(SpecError):
        load_yaml("x: !!python/object/apply:os.system ['echo hi']\n", "f.yaml")


def test_an_empty_document_is_an_error():
    with pytest.raises(SpecError, match="empty"):
        load_yaml("# nothing\n", "f.yaml")


def test_billion_laughs_is_refused_before_it_is_built():
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("params: {W: *a9}\nloss: W")
    with pytest.raises(SpecError) as info:
        load_yaml("\n".join(lines) + "\n", "net.yaml")
    assert "1,000,000" in info.value.message and info.value.where == "net.yaml: a5 (line 6)"


def test_aliases_within_the_budget_are_expanded():
    doc = load_yaml("a: &a [1, 2]\nb: [*a, *a]\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    deep = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 150)]
    with pytest.raises(SpecError, match="deeper than 100"):
        load_yaml("\n".join(deep) + "\n", "f.yaml")


def test_node_budget_is_exact_at_the_limit():
    per = 1000
    body = ", ".join(["1"] * (per - 1))
    ok = f"a: &a [{body}]\nb: [{', '.join(['*a'] * (MAX_NODES // per - 3))}]\n"
    load_yaml(ok, "f.yaml")
    over = f"a: &a [{body}]\nb: [{', '.join(['*a'] * (MAX_NODES // per + 1))}]\n"
    with pytest.raises(SpecError, match="expands"):
        load_yaml(over, "f.yaml")


def test_recursive_alias_and_deep_nesting_are_refused():
    with pytest.raises(SpecError, match="recursive alias"):
        load_yaml("a: &a [1, *a]\n", "f.yaml")
    with pytest.raises(SpecError, match="recursive alias") as info:
        load_yaml("a: 1\nb:\n  c: &r [1, {d: *r}]\n", "f.yaml")
    assert info.value.where == "f.yaml: b.c (line 3)"
    with pytest.raises(SpecError, match="deeper than 100") as info:
        load_yaml("a: 1\nb: " + "[" * 5000 + "]" * 5000 + "\n", "f.yaml")
    assert info.value.where == "f.yaml: b[0][0][0]... (line 2)"


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_deep_nesting_gets_our_message_from_either_parser(monkeypatch, loader):
    import yaml

    if not hasattr(yaml, loader):
        pytest.fail(f"this PyYAML has no {loader}: CI installs one with libyaml")
    monkeypatch.setattr(yaml, "CSafeLoader", getattr(yaml, loader))
    flow = "a: 1\nb: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(SpecError, match="deeper than 100") as info:
        load_yaml(flow, "f.yaml")
    assert info.value.where == "f.yaml: b[0][0][0]... (line 2)"
    block = "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "leaf: 1\n"
    with pytest.raises(SpecError, match="deeper than 100") as info:
        load_yaml(block, "f.yaml")
    assert info.value.where == "f.yaml: k0.k1.k2.k3... (line 101)"


def test_a_parsers_own_depth_limit_is_replaced_by_ours(monkeypatch):
    """libyaml 0.2.6 (PyYAML >= 6.0.4) refuses past 1000 levels while scanning ahead: our message wins."""
    import yaml

    class LimitedLoader(yaml.SafeLoader):
        def check_event(self, *choices):
            if self.scanner_depth() > 30:
                raise yaml.scanner.ScannerError("while increasing flow level", None,
                                                "exceeded maximum nesting depth", self.get_mark())
            return super().check_event(*choices)

        def scanner_depth(self):
            return self.flow_level

    monkeypatch.setattr(yaml, "CSafeLoader", LimitedLoader)
    with pytest.raises(SpecError, match="deeper than 100") as info:
        load_yaml("a: " + "[" * 2000 + "]" * 2000 + "\n", "f.yaml")
    assert info.value.where == "f.yaml: a[0][0][0]... (line 1)"
    with pytest.raises(SpecError, match="invalid YAML"):  # other errors of that parser are still its own
        load_yaml("a: [1, 2\n", "f.yaml")
