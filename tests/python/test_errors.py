"""Exceptions → statuses → Python classes: the table covers every artistry::Status, and every
kind of C++ exception reaches Python as the class its status names (the mapping the engine and
the C ABI share: artistry::exception_status)."""

import pytest

import artistry
from artistry import _artistry

STATUSES = _artistry._statuses()  # {name: code}, from the C++ enum


def test_statuses_are_the_cxx_enum_in_order():
    assert STATUSES["ok"] == 0 and STATUSES["internal"] == len(STATUSES) - 1
    assert sorted(STATUSES.values()) == list(range(len(STATUSES)))
    for name, code in STATUSES.items():
        assert artistry.status_name(code) == name
    assert artistry.status_name(len(STATUSES)) == "unknown"


def test_error_table_covers_every_status_name():
    assert set(artistry._ERROR_CLASSES) == set(STATUSES) - {"ok"}
    classes = list(artistry._ERROR_CLASSES.values())
    assert len(set(classes)) == len(classes), "one class per status"
    for cls in classes:
        assert issubclass(cls, artistry.ArtistryError)


def test_a_table_missing_a_status_is_refused():
    partial = dict(artistry._ERROR_CLASSES)
    del partial["timeout"]
    with pytest.raises(ValueError, match="no class for status 'timeout'"):
        _artistry._set_error_classes(partial)
    extra = dict(artistry._ERROR_CLASSES, bogus=artistry.InternalError)
    with pytest.raises(ValueError, match="names for"):
        _artistry._set_error_classes(extra)
    # The module's table is still in force.
    with pytest.raises(artistry.TimeoutError):
        _artistry._throw_for_test("error", STATUSES["timeout"])


@pytest.mark.parametrize("name", sorted(set(STATUSES) - {"ok"}))
def test_each_status_raises_its_class(name):
    with pytest.raises(artistry._ERROR_CLASSES[name]) as info:
        _artistry._throw_for_test("error", STATUSES[name])
    assert info.value.status == STATUSES[name]
    assert info.value.message == "test error"


@pytest.mark.parametrize("kind, cls, builtin, text", [
    ("bad_alloc", artistry.OutOfMemoryError, MemoryError, "out of memory"),
    ("cv", artistry.InternalError, RuntimeError, "OpenCV: "),
    ("cv_nomem", artistry.OutOfMemoryError, MemoryError, "OpenCV: "),
    ("invalid_argument", artistry.InvalidArgumentError, ValueError, "test invalid argument"),
    ("runtime_error", artistry.InternalError, RuntimeError, "test runtime error"),
    ("unknown", artistry.InternalError, RuntimeError, "unknown exception"),
])
def test_every_kind_of_exception_maps_to_a_status(kind, cls, builtin, text):
    with pytest.raises(cls) as info:
        _artistry._throw_for_test(kind)
    assert isinstance(info.value, builtin)
    assert text in info.value.message


def test_pybind11_errors_keep_their_builtin_types():
    with pytest.raises(ValueError, match="unknown kind"):
        _artistry._throw_for_test("nonsense")
    with pytest.raises(TypeError):
        _artistry._throw_for_test(3)
