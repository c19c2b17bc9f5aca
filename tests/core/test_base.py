"""Base: generated and explicit names, vars/train_vars/nodes collection, iter_arrays.

Name counters are global and kept per class name, so tests that check generated
names make classes with names no other test uses.
"""

from __future__ import annotations

import itertools
import re

import jax.numpy as jnp
import pytest

import runner.core as bm

_fresh = itertools.count()


def fresh_class(prefix: str = "Fresh", init=None) -> type:
    """A Base subclass with a class name never used before in this process."""
    name = f"{prefix}Cls{next(_fresh)}x"
    namespace = {} if init is None else {"__init__": init}
    return type(name, (bm.Base,), namespace)


# -- names -------------------------------------------------------------------------
def test_generated_names_count_from_zero_per_class_name():
    cls = fresh_class()
    names = [cls().name for _ in range(3)]
    assert names == [f"{cls.__name__}0", f"{cls.__name__}1", f"{cls.__name__}2"]


def test_counters_are_independent_between_class_names():
    a_cls, b_cls = fresh_class("A"), fresh_class("B")
    a_cls(), a_cls()
    assert b_cls().name == f"{b_cls.__name__}0"
    assert a_cls().name == f"{a_cls.__name__}2"


def test_classes_sharing_a_name_share_a_counter():
    first = fresh_class()
    second = type(first.__name__, (bm.Base,), {})
    assert first().name == f"{first.__name__}0"
    assert second().name == f"{first.__name__}1"


def test_explicit_name_does_not_advance_the_counter():
    cls = fresh_class()
    assert cls(name="layer").name == "layer"
    assert cls().name == f"{cls.__name__}0"


def test_tutorial_style_name_pattern():
    class F(bm.Base):
        pass

    first, second = F(), F()
    match = re.fullmatch(r"F(\d+)", first.name)
    assert match is not None
    assert second.name == f"F{int(match.group(1)) + 1}"


@pytest.mark.parametrize("bad", ["", 3, b"name"])
def test_invalid_name_is_rejected(bad):
    with pytest.raises(TypeError, match=r"name=\.\.\.\): expected a non-empty str"):
        bm.Base(name=bad)


def test_repr():
    assert repr(bm.Base(name="cell")) == "Base(name='cell')"


# -- vars ----------------------------------------------------------------------------
class Leaf(bm.Base):
    def __init__(self, name):
        super().__init__(name=name)
        self.w = bm.TrainVar(jnp.ones(2))
        self.state = bm.Variable(jnp.zeros(2))
        self.plain = bm.zeros(2)  # a plain Array: not a Variable
        self.number = 3.0


class Tree(bm.Base):
    def __init__(self):
        super().__init__(name="tree")
        self.bias = bm.TrainVar(jnp.zeros(1))
        self.child = Leaf("child")
        self.layers = [Leaf("l0"), bm.Variable(jnp.ones(1))]
        self.table = {"k": bm.TrainVar(jnp.ones(3)), "other": (bm.Variable(1.0),)}


def test_vars_are_keyed_by_owner_name_and_attribute():
    tree = Tree()
    found = tree.vars()
    assert list(found) == [
        "tree.bias",
        "child.w",
        "child.state",
        "l0.w",
        "l0.state",
        "tree.layers[1]",
        "tree.table['k']",
        "tree.table['other'][0]",
    ]
    assert found["child.w"] is tree.child.w
    assert found["tree.layers[1]"] is tree.layers[1]
    assert found["tree.table['other'][0]"] is tree.table["other"][0]


def test_plain_arrays_are_not_variables():
    tree = Tree()
    assert all(isinstance(v, bm.Variable) for v in tree.vars().values())
    assert not any(v is tree.child.plain for v in tree.vars().values())


def test_train_vars_are_the_trainvar_subset():
    tree = Tree()
    train = tree.train_vars()
    assert list(train) == ["tree.bias", "child.w", "l0.w", "tree.table['k']"]
    assert all(type(v) is bm.TrainVar for v in train.values())
    assert set(train) <= set(tree.vars())


def test_each_variable_is_collected_once_under_its_first_path():
    shared = bm.Variable(jnp.zeros(1))

    class Twice(bm.Base):
        def __init__(self):
            super().__init__(name="twice")
            self.a = shared
            self.b = [shared]

    assert list(Twice().vars()) == ["twice.a"]


def test_cycles_between_objects_terminate():
    a, b = bm.Base(name="a"), bm.Base(name="b")
    a.v = bm.Variable(jnp.zeros(1))
    a.other = b
    b.other = a
    b.w = bm.TrainVar(jnp.ones(1))
    assert list(a.vars()) == ["a.v", "b.w"]
    # Attribute order: b.other (which leads to a.v) was set before b.w.
    assert list(b.vars()) == ["a.v", "b.w"]
    assert list(a.nodes()) == ["a", "b"]


def test_object_without_state():
    empty = bm.Base(name="empty")
    assert empty.vars() == {} and empty.train_vars() == {}
    assert empty.nodes() == {"empty": empty}


def test_vars_see_attributes_added_later():
    obj = bm.Base(name="late")
    assert obj.vars() == {}
    obj.v = bm.Variable(jnp.zeros(1))
    assert list(obj.vars()) == ["late.v"]


# -- nodes -----------------------------------------------------------------------------
def test_nodes_include_self_and_nested_objects_in_containers():
    tree = Tree()
    nodes = tree.nodes()
    assert list(nodes) == ["tree", "child", "l0"]
    assert nodes["tree"] is tree and nodes["l0"] is tree.layers[0]


# -- iter_arrays -----------------------------------------------------------------------
def test_iter_arrays_also_yields_plain_arrays():
    tree = Tree()
    paths = [path for path, _ in bm.iter_arrays(tree)]
    assert "child.plain" in paths and "l0.plain" in paths
    variables = [p for p, a in bm.iter_arrays(tree) if isinstance(a, bm.Variable)]
    assert variables == list(tree.vars())


def test_iter_arrays_on_containers_and_non_state():
    a, b = bm.Array([1.0]), bm.Variable([2.0])
    assert [(p, x) for p, x in bm.iter_arrays([a, {"b": b}])] == [
        ("[0]", a),
        ("[1]['b']", b),
    ]
    assert list(bm.iter_arrays(3.0)) == []


# -- vars(method, level, include_self) and collectors --------------------------------
class Twig(bm.Base):
    def __init__(self, name):
        super().__init__(name=name)
        self.w = bm.TrainVar(jnp.ones(1))
        self.s = bm.Variable(jnp.zeros(1))


class Crown(bm.Base):
    def __init__(self):
        super().__init__(name="crown")
        self.v = bm.Variable(jnp.zeros(1))
        self.left = Twig("left")
        self.kids = [Twig("k0")]
        self.kids[0].deep = Twig("deep")


def test_vars_absolute_and_relative_keys():
    tree = Crown()
    assert list(tree.vars()) == [
        "crown.v", "left.w", "left.s", "k0.w", "k0.s", "deep.w", "deep.s"
    ]  # fmt: skip
    assert list(tree.vars(method="relative")) == [
        "v", "left.w", "left.s", "kids[0].w", "kids[0].s", "kids[0].deep.w",
        "kids[0].deep.s",
    ]  # fmt: skip
    assert tree.vars(method="relative")["kids[0].deep.w"] is tree.kids[0].deep.w


def test_vars_level_and_include_self():
    tree = Crown()
    assert list(tree.vars(level=0)) == ["crown.v"]
    assert list(tree.vars(level=1)) == ["crown.v", "left.w", "left.s", "k0.w", "k0.s"]
    assert list(tree.vars(level=1, include_self=False)) == [
        "left.w", "left.s", "k0.w", "k0.s"
    ]  # fmt: skip
    assert list(tree.vars(level=0, include_self=False)) == []
    assert list(tree.train_vars(method="relative", level=1)) == ["left.w", "kids[0].w"]
    assert list(tree.nodes(level=1)) == ["crown", "left", "k0"]
    assert list(tree.nodes(method="relative")) == [
        "",
        "left",
        "kids[0]",
        "kids[0].deep",
    ]
    assert list(tree.nodes(include_self=False, level=1)) == ["left", "k0"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "flat"}, r"vars\(method='flat'\): expected 'absolute'"),
        ({"level": -2}, r"vars\(level=-2\): expected an int >= -1"),
        ({"level": 1.5}, r"vars\(level=1\.5\): expected an int >= -1"),
    ],
)
def test_vars_options_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Crown().vars(**kwargs)


def test_collector_subset_unique_and_add():
    tree = Crown()
    everything = tree.vars() + tree.left.vars(method="relative")
    assert isinstance(everything, bm.Collector)
    assert list(everything)[-2:] == ["w", "s"]
    assert list(everything.unique()) == list(tree.vars())
    assert list(everything.subset(bm.TrainVar).unique()) == list(tree.train_vars())
    assert list(tree.vars().subset((bm.TrainVar, bm.Variable))) == list(tree.vars())
    with pytest.raises(ValueError, match=r"Collector \+ : key 'w' names different"):
        tree.left.vars(method="relative") + tree.kids[0].vars(method="relative")


def test_collectors_work_as_grad_vars_and_dyn_vars():
    # loss = sum(w) over the three leaves: every gradient is one.
    tree = Crown()
    grads = bm.grad(lambda: sum(bm.sum(w) for w in tree.train_vars().values()),
                    grad_vars=tree.train_vars(), dyn_vars=tree.vars())()  # fmt: skip
    assert sorted(grads) == sorted(tree.train_vars())
    assert all(float(g[0]) == 1.0 for g in grads.values())
