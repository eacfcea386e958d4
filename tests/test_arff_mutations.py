"""Damaged ARFF files: each one loads with every encoded value finite, or ends in a UserError."""

import numpy as np
import pandas as pd
import pytest

import common
from conftest import small_arff

MUTANTS = 150  # per shipped dataset
CHARACTERS = list(",{}'\"%?@ \t.-e9x")
FIELDS = ["", "?", "1e309", "inf", "-inf", "nan", "Infinity", "undeclared"]


def mutate(lines, data, rng):
    """Lines with one random damage (data: the first data row's index before any damage), and
    what it is with the lines around it."""
    lines = list(lines)
    declarations = [number for number, line in enumerate(lines) if line.startswith("@")]
    number = int(rng.choice(declarations) if rng.random() < 0.3
                 else rng.integers(min(data, len(lines) - 1), len(lines)))
    line = lines[number]
    kind = rng.choice(["delete", "insert", "double", "drop", "cut", "field", "stray", "weight"])
    spot = int(rng.integers(len(line) + 1))
    if kind == "delete":
        lines[number] = line[:spot] + line[spot + 1:]
    elif kind == "insert":
        lines[number] = line[:spot] + rng.choice(CHARACTERS) + line[spot:]
    elif kind == "double":
        lines.insert(number, line)
    elif kind == "drop":
        del lines[number]
    elif kind == "cut":
        lines[number] = line[:spot]
    elif kind == "field":
        fields = line.split(",")
        fields[int(rng.integers(len(fields)))] = rng.choice(FIELDS)
        lines[number] = ",".join(fields)
    elif kind == "stray":
        lines.insert(number, rng.choice(["@attribute", "@attribute x", "@attribute y numeric"]))
    else:
        lines[number] = line + ", {2}"
    around = "\n    ".join(lines[max(number - 1, 0):number + 2])
    return lines, f"{kind} at line {number + 1}:\n    {around}"


def encoded(path):
    """A file loaded, then encoded as Part 1 and Part 2 encode it."""
    dataset = common.load_dataset(path, quiet=True)
    part1 = common.TabularEncoder(dataset.frame, numeric="quantile").transform(dataset.frame)
    return part1, common.TabularEncoder(dataset.features).transform(dataset.features)


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
def test_damaged_files_load_finite_or_end_in_a_user_error(name, tmp_path):
    rng = np.random.default_rng(0)
    lines = (common.DATA_DIR / common.DATASETS[name]).read_text("utf-8").splitlines()
    data = lines.index("@data") + 1
    outcomes, failures = {"loaded": 0, "refused": 0}, []
    for index in range(MUTANTS):
        damaged, damages = lines, []
        for _ in range(rng.integers(1, 4)):
            damaged, damage = mutate(damaged, data, rng)
            damages.append(damage)
        path = tmp_path / f"{name}_{index}.arff"
        path.write_text("\n".join(damaged) + "\n", "utf-8")
        try:
            finite = all(np.isfinite(matrix).all() for matrix in encoded(path))
            outcomes["loaded"] += 1
            problem = None if finite else "values that are not finite"
        except common.UserError as error:
            outcomes["refused"] += 1
            problem = f"a message of several lines: {error}" if "\n" in str(error) else None
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
        if problem:
            failures.append(f"{path}: {problem}\n  " + "\n  ".join(damages))
    assert not failures, "\n".join(failures)
    assert min(outcomes.values()) > MUTANTS // 10, outcomes


@pytest.mark.parametrize("declared", ["numeric", "integer"])
@pytest.mark.parametrize("value", ["1e309", "-inf", "Infinity", "nan"])
def test_numbers_that_are_not_finite_are_filled_as_missing(declared, value, write_arff, capsys):
    lines = small_arff(missing=True).replace("size numeric", f"size {declared}").splitlines()
    lines[8] = value + lines[8][1:]  # the third row's size
    frame = common.load_dataset(write_arff("\n".join(lines))).frame
    assert frame.loc[0, "size"] == frame.loc[2, "size"] == 3  # the median of the others
    assert pd.api.types.is_integer_dtype(frame["size"])
    assert "filled 3 missing values (1 of them not finite)" in capsys.readouterr().out


@pytest.mark.parametrize("line", ["@attribute x", "@attribute", "@relation"])
def test_any_parser_failure_is_a_user_error_naming_file_and_line(line, write_arff):
    lines = small_arff().splitlines()
    lines.insert(2, line)
    path = write_arff("\n".join(lines))
    with pytest.raises(common.UserError, match=f"^malformed ARFF file {path}: .*line 3"):
        common.load_dataset(path)


def test_a_percent_sign_in_a_refused_value_keeps_the_message_whole(write_arff):
    lines = small_arff().replace("{no, yes}", "{'10%','20%'}").splitlines()
    lines[6:] = [line.rsplit(",", 1)[0] + ",'10%'" for line in lines[6:]]
    lines[9] = lines[9].replace("'10%'", "'30%'")
    with pytest.raises(common.UserError) as error:
        common.load_dataset(write_arff("\n".join(lines)))
    assert str(error.value).endswith(": Data value 30% not found in nominal declaration, "
                                     "at line 10.")


SPARSE = ("@relation s\n@attribute a numeric\n@attribute b {x,y}\n@attribute class {no,yes}\n"
          "@data\n" + "".join(f"{{0 {i % 5}, 2 {('no', 'yes')[i % 2]}}}\n" for i in range(30)))


@pytest.mark.parametrize("text", [small_arff(), SPARSE], ids=["dense", "sparse"])
def test_instance_weights_are_ignored_with_one_line(text, write_arff, capsys):
    plain = common.load_dataset(write_arff(text, "plain.arff")).frame
    lines = text.splitlines()
    for number in (6, 7, 9):
        lines[number] += ", {2}" if number < 9 else ",{0.5}"
    weighted = common.load_dataset(write_arff("\n".join(lines), "weighted.arff")).frame
    pd.testing.assert_frame_equal(weighted, plain)
    assert capsys.readouterr().out.splitlines() == [
        "weighted: 3 rows carry an instance weight {w}; weights are ignored"]



def test_whole_numbers_beyond_int64_stay_exact_and_an_overflowing_span_is_refused(write_arff):
    lines = small_arff().splitlines()
    lines[6] = "1e20" + lines[6][1:]
    assert common.load_dataset(write_arff("\n".join(lines))).frame.loc[0, "size"] == 1e20
    lines[7] = "-1e308" + lines[7][1:]
    lines[6] = "1e308" + lines[6][4:]
    with pytest.raises(common.UserError, match="'size' spans more than a float holds"):
        common.load_dataset(write_arff("\n".join(lines)))
