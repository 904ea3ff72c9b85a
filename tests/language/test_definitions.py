"""Named intermediates (`--where`, a problem's `where:`): valid names, dependency order, cycles named."""

import pytest
from hypothesis import given, strategies as st

from gradcli.errors import DefinitionError, GradcliError
from gradcli.language import definitions as D
from gradcli.language.expr import parse


def defs(**texts):
    return {name: parse(text) for name, text in texts.items()}


def test_order_puts_every_definition_after_what_it_uses():
    order = D.order(defs(a="b + c", b="c * x", c="x ^ 2"))
    assert order.index("c") < order.index("b") < order.index("a")


@pytest.mark.parametrize("texts, shown", [
    ({"a": "b + x", "b": "a * 2"}, "a -> b -> a"),
    ({"a": "a + 1"}, "a -> a"),
    ({"p": "q", "q": "r", "r": "p", "s": "x"}, "p -> q -> r -> p"),
])
def test_a_cycle_is_a_definition_error_that_names_it(texts, shown):
    with pytest.raises(DefinitionError) as err:
        D.order(defs(**texts), where="where")
    assert err.value.message == f"the definitions form a cycle: {shown}" and err.value.where == "where"


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))))
def test_find_cycle_finds_a_real_cycle_exactly_when_there_is_one(graph):
    n, edges = graph
    uses = {f"v{i}": sorted({f"v{b}" for a, b in edges if a == i}) for i in range(n)}
    cycle = D.find_cycle(uses)
    forward_only = all(a < b for a, b in edges)
    if cycle is None:
        # no cycle: peeling off the names whose uses are all peeled must empty the graph
        pending = dict(uses)
        while pending:
            ready = [k for k, v in pending.items() if all(u not in pending for u in v)]
            assert ready, "find_cycle said no cycle but the graph has one"
            for k in ready:
                del pending[k]
    else:
        assert not forward_only
        for a, b in zip(cycle, cycle[1:] + cycle[:1]):
            assert b in uses[a]


@pytest.mark.parametrize("name, fragment", [("2a", "not a valid name"), ("a-b", "not a valid name"),
                                            ("exp", "cannot be redefined"), ("pi", "cannot be redefined")])
def test_names_that_cannot_be_defined(name, fragment):
    with pytest.raises(DefinitionError, match=fragment):
        D.check_name(name, where=f"--where {name}")


def test_inputs_and_used():
    d = defs(a="b + y", b="x ^ 2", unused="z")
    assert D.inputs(parse("a * c"), d) == ["c", "x", "y", "z"]
    assert D.used(parse("a * c"), d) == ["b", "a"]


def test_parse_definitions_reads_name_equals_expression():
    got = D.parse_definitions(["a=(w+x+y)^2", " b = x-y "])
    assert list(got) == ["a", "b"] and got["b"][1] == " x-y " and got["a"][0] == parse("(w+x+y)^2")
    with pytest.raises(DefinitionError, match="expected NAME=EXPR"):
        D.parse_definitions(["a"])
    with pytest.raises(DefinitionError, match="'a' is defined twice") as err:
        D.parse_definitions(["a=x", "a=y"])
    assert err.value.where == "--where a"
    with pytest.raises(GradcliError) as err:
        D.parse_definitions(["a=x +"])
    assert err.value.where.startswith("--where a, ")
