"""Loading, the reversible encoder and the user errors both scripts share."""

import keras
import numpy as np
import pandas as pd
import pytest

import common
import part1_gan
import part2_bbgan
from conftest import small_arff


@pytest.mark.parametrize("name, rows, columns, counts", [
    ("diabetes", 768, 9, {"tested_negative": 500, "tested_positive": 268}),
    ("German_Credit", 1000, 21, {"good": 700, "bad": 300}),
])
def test_datasets_load_with_their_shapes_and_classes(name, rows, columns, counts):
    dataset = common.load_dataset(name, quiet=True)
    assert dataset.frame.shape == (rows, columns)
    assert dataset.class_column == "class"
    assert dataset.labels.value_counts().to_dict() == counts
    assert list(dataset.labels.cat.categories) == list(counts)


def test_nominal_columns_keep_declared_category_order():
    frame = common.load_dataset("german_credit", quiet=True).frame
    assert list(frame["checking_status"].cat.categories) == [
        "<0", "0<=X<200", ">=200", "no checking"]
    assert pd.api.types.is_integer_dtype(frame["duration"])


def test_data_copies_are_byte_identical_to_shared():
    shared = common.DATA_DIR.parent.parent / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("no ../shared/data beside the checkout")
    for file_name in common.DATASETS.values():
        assert (common.DATA_DIR / file_name).read_bytes() == (shared / file_name).read_bytes()


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
@pytest.mark.parametrize("numeric", ["range", "quantile"])
def test_round_trip_is_exact(name, numeric):
    frame = common.load_dataset(name, quiet=True).frame
    encoder = common.TabularEncoder(frame, numeric=numeric)
    pd.testing.assert_frame_equal(encoder.inverse_transform(encoder.transform(frame)), frame)
    jittered = encoder.transform(frame, rng=np.random.default_rng(0))
    pd.testing.assert_frame_equal(encoder.inverse_transform(jittered), frame)


@pytest.mark.parametrize("numeric", ["range", "quantile"])
def test_decoded_noise_respects_types_ranges_and_categories(numeric):
    frame = common.load_dataset("german_credit", quiet=True).frame
    encoder = common.TabularEncoder(frame, numeric=numeric)
    noise = np.random.default_rng(1).normal(scale=3.0, size=(500, encoder.width))
    decoded = encoder.inverse_transform(noise)
    assert list(decoded.columns) == list(frame.columns)
    for name in frame.columns:
        assert decoded[name].dtype == frame[name].dtype
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            assert set(decoded[name]) <= set(frame[name].cat.categories)
        else:
            assert decoded[name].min() >= frame[name].min()
            assert decoded[name].max() <= frame[name].max()


def test_encoder_records_drive_widths_and_offsets():
    frame = common.load_dataset("diabetes", quiet=True).frame
    encoder = common.TabularEncoder(frame)
    assert [spec.kind for spec in encoder.columns] == ["numeric"] * 8 + ["nominal"]
    assert encoder.columns[-1].width == 2 and encoder.width == 10
    generator = common.build_generator(4, encoder)
    rows = generator.predict(np.zeros((3, 4), dtype="float32"), verbose=0)
    assert rows.shape == (3, 10)
    assert np.allclose(rows[:, 8:].sum(axis=1), 1.0)  # softmax head for the class


def test_snapped_generator_outputs_are_exact_records():
    """Each nominal block becomes the one-hot of its first largest output (as argmax picks it,
    ties included); numbers pass untouched."""
    features = common.load_dataset("german_credit", quiet=True).features
    encoder = common.TabularEncoder(features, numeric="quantile")
    generator = common.build_generator(4, encoder)
    soft = generator.predict(np.random.default_rng(0).normal(size=(50, 4)), verbose=0)
    soft[:10] = np.round(soft[:10], 1)  # ties within categories
    rows = keras.ops.convert_to_numpy(common.SnapToRecords(encoder)(soft))
    for spec in encoder.columns:
        block, smooth = rows[:, spec.offset:spec.end], soft[:, spec.offset:spec.end]
        expected = np.eye(spec.width)[smooth.argmax(axis=1)] if spec.kind == "nominal" else smooth
        np.testing.assert_array_equal(block, expected)


def test_missing_values_are_filled_and_counted(write_arff, capsys):
    dataset = common.load_dataset(write_arff(small_arff(missing=True)))
    assert dataset.name == "custom"
    assert not dataset.frame.isna().any().any()
    assert dataset.frame.loc[0, "size"] == 3  # median of 1..6, 0..6 repeated
    assert dataset.frame.loc[1, "colour"] in ("red", "green", "blue")
    assert "filled 2 missing values" in capsys.readouterr().out


def test_last_nominal_attribute_is_the_class_when_none_is_named_class(write_arff):
    text = small_arff().replace("@attribute class", "@attribute outcome")
    assert common.load_dataset(write_arff(text)).class_column == "outcome"


BAD_INPUTS = {
    "unknown name": (["--dataset", "iris"], "use one of diabetes, german_credit or a path"),
    "missing file": (["--dataset", "{tmp}/nowhere.arff"], "dataset file not found"),
    "empty file": (["--dataset", "{tmp}/empty.arff"], "malformed ARFF file"),
    "bad data line": (["--dataset", "{tmp}/badline.arff"], "line 8"),
    "no nominal class": (["--dataset", "{tmp}/noclass.arff"], "no nominal attribute"),
    "no data rows": (["--dataset", "{tmp}/nodata.arff"], "has no data rows"),
    "too small": (["--dataset", "{tmp}/tiny.arff"], "too small to train on"),
    "zero epochs": (["--dataset", "diabetes", "--epochs", "0"], "must be at least 1"),
    "unknown flag": (["--dataset", "diabetes", "--colour"], "unrecognized arguments"),
    "unwritable out": (["--dataset", "diabetes", "--out", "{tmp}/file.txt/sub"], "cannot write"),
    "unknown setting": (["--dataset", "diabetes", "--set", "NOPE=1"], "not a setting of this"),
    "bad setting value": (["--dataset", "diabetes", "--set", "NOISE_DIM=x"], "a whole number"),
    "set without value": (["--dataset", "diabetes", "--set", "NOISE_DIM"], "expected NAME=VALUE"),
    "unknown class": (["--dataset", "diabetes", "--class", "colour"], "has no such attribute"),
}


@pytest.mark.parametrize("script", [part1_gan, part2_bbgan])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_user_errors_end_in_one_line_and_exit_code_2(script, case, tmp_path, capsys,
                                                     monkeypatch):
    (tmp_path / "empty.arff").write_text("")
    lines = small_arff().splitlines()
    lines.insert(7, "1,2.5,purple,yes")  # line 8 of the file: an undeclared category
    (tmp_path / "badline.arff").write_text("\n".join(lines) + "\n")
    (tmp_path / "noclass.arff").write_text(
        "@relation x\n@attribute a numeric\n@attribute b numeric\n@data\n1,2\n3,4\n")
    (tmp_path / "tiny.arff").write_text(small_arff(rows=5))
    (tmp_path / "nodata.arff").write_text(small_arff().split("@data")[0] + "@data\n")
    (tmp_path / "file.txt").write_text("not a folder")
    args, expected = BAD_INPUTS[case]
    out = tmp_path / "outputs"
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    monkeypatch.setattr("sys.argv", [script.__name__ + ".py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        common.run_script(script.main)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error and "Traceback" not in error
    assert not out.exists() or not any(out.rglob("*"))


def test_failed_run_leaves_nothing_half_written(tmp_path):
    with pytest.raises(RuntimeError):
        with common.output_folder(tmp_path, "diabetes", "part1") as folder:
            (folder / "metrics.json").write_text("{}")
            raise RuntimeError("interrupted")
    assert not any((tmp_path / "diabetes").rglob("*"))


def odd_arff(rows=60):
    """An ordinary ARFF a Weka user may have: a `?` declared among nominal values, a nominal
    attribute with 130 values before another nominal one (one-hot wider than int8), string and
    date attributes, quoted names, and a last-attribute class not called `class`."""
    many = ",".join(f"v{index}" for index in range(130))
    lines = ["@relation odd", "@attribute 'given name' string", "@attribute sex {?,FEMALE,MALE,_}",
             f"@attribute code {{{many}}}", "@attribute born date 'yyyy-MM-dd'",
             "@attribute height numeric", "@attribute colour {red,green}",
             "@attribute outcome {yes,no}", "@data"]
    for index in range(rows):
        sex = ("?", "FEMALE", "MALE", "_")[index % 4]
        lines.append(f"'n{index}',{sex},v{index * 7 % 130},2001-02-{index % 28 + 1:02d},"
                     f"{150 + index % 40},{('red', 'green')[index % 2]},"
                     f"{('yes', 'no')[index % 3 == 0]}")
    return "\n".join(lines) + "\n"


def test_odd_arff_loads_with_declared_categories_and_skips_strings_and_dates(write_arff, capsys):
    dataset = common.load_dataset(write_arff(odd_arff()))
    assert list(dataset.frame.columns) == ["sex", "code", "height", "colour", "outcome"]
    assert "left out 2 attribute(s)" in capsys.readouterr().out
    assert list(dataset.frame["sex"].cat.categories) == ["FEMALE", "MALE", "_"]
    assert not dataset.frame["sex"].isna().any()  # `?` rows are missing values, filled
    assert dataset.class_column == "outcome"  # Weka's default: the last attribute
    encoder = common.TabularEncoder(dataset.frame)
    assert encoder.width == 3 + 130 + 1 + 2 + 2
    encoded = encoder.transform(dataset.frame)
    assert encoded[:, encoder.columns[3].offset:].sum() == 2 * len(dataset.frame)
    pd.testing.assert_frame_equal(encoder.inverse_transform(encoded), dataset.frame)


@pytest.mark.parametrize("script", [part1_gan, part2_bbgan])
def test_odd_arff_runs_end_to_end(script, write_arff, tmp_path):
    path = write_arff(odd_arff(), "odd.arff")
    small = ["--set", "SAMPLES=200", "--set", "SCAN_ROWS=20", "--set", "BASELINE_DRAWS=1"]
    script.main(["--dataset", str(path), "--epochs", "1", "--out", str(tmp_path), "--quiet",
                 *(small if script is part2_bbgan else [])])
    part = "part1" if script is part1_gan else "part2"
    assert (tmp_path / "odd" / part / "metrics.json").is_file()


def test_latin1_file_is_read(write_arff, tmp_path):
    text = small_arff().replace("blue", "bl\u00e9")
    path = tmp_path / "latin.arff"
    path.write_bytes(text.encode("latin-1"))
    assert "bl\u00e9" in common.load_dataset(path).frame["colour"].cat.categories


CLASS_CASES = {
    "numeric class named class": (
        "@attribute a {x,y}\n@attribute class numeric\n", None,
        "class attribute 'class' of .* is numeric, not nominal; choose one .*: a$"),
    "numeric last attribute": (
        "@attribute a {x,y}\n@attribute b numeric\n", None, "'b' .* is numeric.*--class NAME: a$"),
    "no such attribute": ("@attribute a {x,y}\n@attribute b {u,v}\n", "colour",
                          "--class 'colour': .* has no such attribute; .*: a, b$"),
    "numeric chosen": ("@attribute a {x,y}\n@attribute b numeric\n", "b", "'b' .* is numeric"),
}


@pytest.mark.parametrize("case", list(CLASS_CASES))
def test_class_choice_errors_name_the_nominal_attributes(case, write_arff):
    header, class_name, pattern = CLASS_CASES[case]
    data = "".join(f"{'xy'[i % 2]},{('u', 'v')[i % 2] if 'b {' in header else i}\n"
                   for i in range(30))
    path = write_arff(f"@relation r\n{header}@data\n{data}")
    with pytest.raises(common.UserError, match=pattern):
        common.load_dataset(path, class_name)


def test_class_flag_picks_any_nominal_attribute(write_arff):
    assert common.load_dataset(write_arff(small_arff()), "COLOUR").class_column == "colour"


@pytest.mark.parametrize("script, step", [(part1_gan, "train"), (part2_bbgan, "train")])
def test_ctrl_c_ends_in_one_line_and_keeps_older_results(script, step, tmp_path, capsys,
                                                         monkeypatch):
    part = "part1" if script is part1_gan else "part2"
    older = tmp_path / "diabetes" / part / "metrics.json"
    older.parent.mkdir(parents=True)
    older.write_text("older")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(script, step, interrupted)
    monkeypatch.setattr("sys.argv", ["x.py", "--dataset", "diabetes", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        common.run_script(script.main)
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted: nothing written"
    assert older.read_text() == "older"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["diabetes", "metrics.json", part]


@pytest.mark.parametrize("text, expected", [("EPOCHS=3", "--epochs sets the epochs"),
                                            ("SNAP=maybe", "SNAP takes true or false"),
                                            ("EMA=high", "EMA takes a number")])
def test_set_refuses_what_the_settings_cannot_take(text, expected):
    with pytest.raises(common.UserError, match=expected):
        common.changed(part1_gan.Settings(), [text])


def test_a_scaling_other_than_range_or_quantile_and_an_ablation_of_no_seeds_are_refused(
        tmp_path):
    with pytest.raises(common.UserError, match="range or quantile, not 'log'"):
        part1_gan.main(["--dataset", "diabetes", "--set", "SCALING=log", "--epochs", "1",
                        "--out", str(tmp_path)])
    with pytest.raises(common.UserError, match="--ablation must be at least 1"):
        part1_gan.main(["--dataset", "diabetes", "--ablation", "0", "--out", str(tmp_path)])


def test_set_and_ablation_run_each_change_on_each_seed_into_one_table(write_arff, tmp_path):
    """--set changes the design; each ablation row changes one setting more, on each seed."""
    path = write_arff(small_arff(rows=40), "small.arff")
    kept = ("mae", "class_agreement")
    pd.DataFrame([("part2", "x", "default", "small", 0, measure, 0.1) for measure in kept],
                 columns=["part", "change", "setting", "dataset", "seed", "measure", "value"]
                 ).to_csv(tmp_path / "ablation.csv", index=False)
    results = common.run_datasets(
        ["--dataset", str(path), "--epochs", "1", "--out", str(tmp_path), "--quiet",
         "--ablation", "2", "--set", "SCALING=range", "--set", "SNAP=false"], "Part 1",
        part1_gan.Settings(), {"a narrow noise": "NOISE_DIM=3"}, part1_gan.run_dataset)
    narrow, design = results["a narrow noise"]["small"], results["the design above"]["small"]
    assert [m["architecture"][0]["input"] for m in narrow] == [3, 3]  # the generator that ran
    assert {m["settings"]["SCALING"] for m in narrow + design} == {"range"}
    assert {m["settings"]["SNAP"] for m in narrow + design} == {False}
    assert design[0]["settings"]["NOISE_DIM"] == part1_gan.Settings().NOISE_DIM == 32
    assert [m["seed"] for m in design] == [0, 1]
    table = pd.read_csv(tmp_path / "ablation.csv")
    assert set(table["part"]) == {"part1", "part2"}  # the other part's rows are kept
    part1 = table[table["part"] == "part1"]
    assert set(part1["setting"]) == {"default", "NOISE_DIM=3"} and set(part1["seed"]) == {0, 1}
    assert {"c2st_auc", "column_shapes", "epoch_used"} <= set(part1["measure"])
    assert not (tmp_path / "small").exists()


class ScriptedModel(keras.Model):
    """Stands in for a model under common.CheckedStopping: one weight, set to the epoch number
    before each check, and a scripted check."""

    def __init__(self, values):
        super().__init__()
        self.values, self.epoch, self.stop_training = list(values), 0, False
        self.number = self.add_weight(shape=(), initializer="zeros")


def stopped(values, **rule):
    """Run common.CheckedStopping over the scripted checks as fit() would: its summary and the
    weight kept at the end."""
    model = ScriptedModel(values)
    stopping = common.CheckedStopping("check", lambda model: model.values[model.epoch], **rule)
    stopping.set_model(model)
    stopping.set_params({"epochs": len(values)})
    stopping.on_train_begin()
    for epoch in range(len(values)):
        model.epoch = epoch
        model.number.assign(epoch + 1)
        stopping.on_epoch_end(epoch, {})
        if model.stop_training:
            break
    stopping.on_train_end()
    return stopping.summary, float(model.number.numpy())


def test_stopping_keeps_the_best_checks_weights_and_stops_once_checks_stop_improving():
    patience, step = 5, 0.002
    values = [0.3 - 0.02 * epoch for epoch in range(10)]  # improving fast
    values += [values[-1] - 0.4 * step * (epoch % 2) for epoch in range(2 * patience)]
    summary, kept = stopped(values, patience=patience, min_delta=step)
    assert summary["converged"] and summary["epochs_run"] == 10 + patience
    # the lowest check (epoch 12, lower than epoch 10 by less than min_delta): its weights
    assert kept == summary["epoch_used"] == 12
    assert summary["check_first"] == values[0] and summary["check_used"] == values[11]
    improving = [0.3 - 0.01 * epoch for epoch in range(12)]
    summary, kept = stopped(improving, patience=3, min_delta=step)
    assert not summary["converged"] and kept == summary["epoch_used"] == 12


def test_stopping_checks_every_few_epochs_and_averages_the_checks():
    """Checked at epochs 2, 4, 6, ... (and the last); each value the mean of two checks."""
    values = [None, 0.9, None, 0.5, None, 0.7, None, 0.5, None, 0.9, None, 0.9, None, 0.95]
    summary, kept = stopped(values, patience=2, min_delta=0.01, every=2, smooth=2)
    # averaged: 0.9, 0.7, 0.6 (epoch 6), 0.6, 0.7, 0.9: two checks without gain after epoch 6
    assert summary["epoch_used"] == kept == 6 and summary["check_used"] == pytest.approx(0.6)
    assert summary["converged"] and summary["epochs_run"] == 10
