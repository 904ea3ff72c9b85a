"""`--at` values (io/bindings.py): positional in alphabetical order, or NAME=VALUE; constant expressions;
every mistake a BindingError naming what is wrong."""

import math

import pytest
from hypothesis import given, strategies as st

from gradcli.errors import BindingError
from gradcli.io.bindings import bind, constant, split_top_level


def test_positional_values_bind_alphabetically_and_say_so():
    b = bind("1,3,2", ["x", "y", "z"])
    assert b.values == {"x": 1.0, "y": 3.0, "z": 2.0} and b.positional
    assert b.note() == "positional values bind in alphabetical order: x=1, y=3, z=2"
    one = bind("0.5", ["x"])
    assert one.values == {"x": 0.5} and one.note() is None  # one variable: nothing to say


def test_named_values_in_any_order_are_put_in_the_names_order():
    b = bind("z=2, x=1,y=3", ["x", "y", "z"])
    assert list(b.values) == ["x", "y", "z"] and b.values["z"] == 2.0 and not b.positional


def test_values_are_constant_expressions():
    b = bind("x=pi/2,y=2^0.5,z=log(8, 2)", ["x", "y", "z"])
    assert b.values == pytest.approx({"x": math.pi / 2, "y": math.sqrt(2), "z": 3.0})
    assert constant("-1e-3", "x") == -0.001


@pytest.mark.parametrize("at, names, words", [
    (None, ["x"], "values are needed for x"),
    ("1,2", ["x"], "2 values for 1 variable (x, in alphabetical order)"),
    ("1,,2", ["x", "y", "z"], "value 2 of 3 is empty"),
    ("x=1,2", ["x", "y"], "mix of positional and named values"),
    ("x=1,x=2", ["x"], "'x' is given twice"),
    ("q=1", ["x"], "'q' is not a variable of the expression (variables: x)"),
    ("x=1", ["x", "y"], "no value for y"),
    ("x=nan", ["x"], "not a finite number"),
    ("x=inf", ["x"], "not a finite number"),
    ("x=exp(1000)", ["x"], None),
    ("x=y+1", ["x", "y"], "values may not use variables"),
    ("x=2*(", ["x"], "x: "),
])
def test_every_mistake_is_a_binding_error_that_says_what(at, names, words):
    with pytest.raises(BindingError) as err:
        bind(at, names)
    if words is not None:
        assert words in err.value.message
    assert err.value.where.startswith("--at")


def test_no_variables_need_no_values():
    assert bind(None, []).values == {} and bind("  ", []).values == {}


@given(st.lists(st.text("ab=1 ,", max_size=6), min_size=1, max_size=5))
def test_split_top_level_cuts_only_outside_brackets(pieces):
    parts = [f"f({p})" for p in pieces]  # commas inside the brackets stay
    assert split_top_level(",".join(parts)) == parts
    assert split_top_level("x=log(8, 2),y=[1, 2]") == ["x=log(8, 2)", "y=[1, 2]"]
