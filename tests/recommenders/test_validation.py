import numpy as np
import pytest

from recommenders import AdapterError, InvalidSlateError, validate_slates


def check(slates, n_rows=2, slate_size=3, n_items=10):
    return validate_slates(slates, n_rows, slate_size, n_items, adapter="Mine")


def test_valid_slate_passes_as_int64():
    slates = np.array([[0, 9, 4], [5, 6, 7]], np.int32)
    out = check(slates)
    assert out.dtype == np.int64 and out.tolist() == slates.tolist()
    assert check(np.zeros((0, 3), np.int64), n_rows=0).shape == (0, 3)


def test_errors_are_value_errors():
    assert issubclass(InvalidSlateError, AdapterError)
    assert issubclass(AdapterError, ValueError)


def test_not_an_ndarray():
    with pytest.raises(InvalidSlateError, match=r"^Mine\.recommend returned list, expected"):
        check([[0, 1, 2], [3, 4, 5]])


def test_nan_names_the_row():
    slates = np.array([[0.0, 1.0, 2.0], [3.0, np.nan, 5.0]])
    with pytest.raises(InvalidSlateError, match=r"^Mine\.recommend returned NaN in row 1$"):
        check(slates)


def test_float_dtype_without_nan():
    with pytest.raises(InvalidSlateError, match=r"Mine\.recommend returned dtype float64"):
        check(np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]))


def test_bool_dtype():
    with pytest.raises(InvalidSlateError, match="dtype bool"):
        check(np.ones((2, 3), bool))


@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (6,), (2, 3, 1)])
def test_wrong_shape(shape):
    expected = r"Mine\.recommend returned shape .* expected \(2, 3\)"
    with pytest.raises(InvalidSlateError, match=expected):
        check(np.zeros(shape, np.int64))


@pytest.mark.parametrize(("bad", "row"), [(-1, 1), (10, 0), (99, 1)])
def test_out_of_range_id(bad, row):
    slates = np.array([[0, 1, 2], [3, 4, 5]])
    slates[row, 2] = bad
    with pytest.raises(
        InvalidSlateError, match=rf"^Mine\.recommend returned item id {bad} in row {row}, outside"
    ):
        check(slates)


def test_out_of_range_unsigned():
    with pytest.raises(InvalidSlateError, match="item id 10 in row 0"):
        check(np.array([[0, 1, 10], [3, 4, 5]], np.uint64))


def test_duplicate_names_row_and_item():
    slates = np.array([[0, 1, 2], [4, 7, 4]])
    expected = r"^Mine\.recommend returned item id 4 twice in row 1$"
    with pytest.raises(InvalidSlateError, match=expected):
        check(slates)


def test_messages_are_one_line():
    for bad in ([[0]], np.array([[0, 0, 1], [1, 2, 3]]), np.array([[0.0, np.nan, 1.0]] * 2)):
        with pytest.raises(InvalidSlateError) as info:
            check(bad)
        assert "\n" not in str(info.value)
