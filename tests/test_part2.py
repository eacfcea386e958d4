"""part2_bbgan.main() end to end with tiny settings, and the black-box separation."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import common
import part2_bbgan
from conftest import small_arff


def schema_of(features):
    """Two rows that carry only the schema: each number's minimum and maximum, the categories."""
    rows = features.iloc[[0, 0]].reset_index(drop=True)
    for name in features.select_dtypes("number"):
        rows[name] = [features[name].min(), features[name].max()]
    return rows


@pytest.fixture(scope="module")
def run(tiny_runs):
    """The tiny run of Part 2 on both datasets (conftest), shared by the tests below."""
    return tiny_runs.out, tiny_runs.part2


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
def test_every_artifact_has_its_columns(run, name):
    out, metrics = run
    folder = out / name / "part2"
    assert {p.name for p in folder.iterdir()} == {
        "blackbox.json", "test_confidence.png", "generated_1000.csv", "confidence_scatter.png",
        "score_distribution.png", "confidence_bins.csv", "features.csv", "losses.csv",
        "losses.png", "metrics.json", "report.md"}
    real = common.load_dataset(name, quiet=True)
    generated = pd.read_csv(folder / "generated_1000.csv")
    assert len(generated) == 1000
    assert list(generated.columns) == [*real.features.columns, "desired_confidence",
                                       "blackbox_confidence"]
    desired = generated["desired_confidence"]
    assert desired.between(0, 1).all() and desired.min() < 0.05 and desired.max() > 0.95
    assert np.histogram(desired, bins=10, range=(0, 1))[0].min() > 50
    bins = pd.read_csv(folder / "confidence_bins.csv")
    assert list(bins.columns) == ["bin", "count", "mae", "mae_sd", "class_agreement",
                                  "mean_blackbox_confidence", "blackbox_confidence_sd",
                                  "diversity", "nearest_real_distance", "test_share"]
    assert bins["count"].sum() == 1000
    assert bins["test_share"].sum() == pytest.approx(1.0)
    box = json.loads((folder / "blackbox.json").read_text())
    assert box["positive_class"] == {"diabetes": "tested_positive", "german_credit": "bad"}[name]
    assert 0.6 < box["accuracy"] <= 1 and 0.6 < box["roc_auc"] <= 1
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics[name]))
    recomputed = (generated["desired_confidence"] - generated["blackbox_confidence"]).abs().mean()
    assert saved["mae"] == pytest.approx(recomputed, abs=1e-9)
    for key in ("extraction_agreement", "uniform_baseline_agreement", "uniform_baseline_spread",
                "realism_c2st_auc"):
        assert 0 <= saved[key] <= 1
    settings = part2_bbgan.Settings()
    scans = settings.SCAN_ROWS * settings.SCAN_POINTS * saved["numeric_attributes"]
    assert saved["blackbox_queries"] == scans + saved["epochs_run"] * (
        settings.SAMPLES * (2 * settings.GROUP_SIZE + 1))  # training's queries only
    assert 1 <= saved["epoch_used"] <= saved["epochs_run"] <= 2
    assert saved["heldout_mae_used"] == pytest.approx(
        pd.read_csv(folder / "losses.csv")["heldout_mae"].min())
    assert [n["network"] for n in saved["architecture"]] == [
        "generator", "discriminator", "realism critic"]
    assert saved["architecture"][0]["input"] == settings.NOISE_DIM + 1  # Z and C
    features = pd.read_csv(folder / "features.csv")
    assert list(features["feature"]) == list(real.features.columns)
    likeness = features[["likeness generated", "likeness uniform"]].to_numpy()
    assert ((0 <= likeness) & (likeness <= 1)).all()
    report = (folder / "report.md").read_text()
    assert f"{saved['mae']:.3f}" in report and f"{box['accuracy']:.3f}" in report
    assert f"{100 * saved['extraction_agreement']:.1f}%" in report
    assert f"{saved['realism_c2st_auc']:.3f}" in report


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
def test_blackbox_confidence_is_the_forest_score_of_the_decoded_rows(run, name):
    out, _ = run
    dataset = common.load_dataset(name, quiet=True)
    box = part2_bbgan.BlackBox(dataset, seed=0)
    generated = pd.read_csv(out / name / "part2" / "generated_1000.csv")
    rows = generated[dataset.features.columns].copy()
    for column in rows.columns:
        if isinstance(dataset.features[column].dtype, pd.CategoricalDtype):
            rows[column] = pd.Categorical(rows[column],
                                          dataset.features[column].cat.categories)
    np.testing.assert_allclose(box.score(rows), generated["blackbox_confidence"], atol=1e-6)
    assert box.queries == len(rows)


class FormulaBox:
    """A black box that is a formula of one number (diabetes' glucose): no real row anywhere."""

    def __init__(self, schema):
        self.low, self.high = schema["plas"].min(), schema["plas"].max()
        self.asked = 0

    def score(self, rows):
        self.asked += len(rows)
        return ((rows["plas"].to_numpy() - self.low) / (self.high - self.low)).astype("float32")


def test_prior_and_training_see_only_the_schema_and_the_black_box():
    """scan_prior() and train() get the schema (two rows) and a black box that is a formula:
    no real row exists anywhere, yet the generator learns from the box's answers alone, and its
    own single draws come near the C they are asked for."""
    schema = schema_of(common.load_dataset("diabetes", quiet=True).features)
    box = FormulaBox(schema)
    rng = np.random.default_rng(0)
    settings = part2_bbgan.Settings()
    prior = part2_bbgan.scan_prior(common.TabularEncoder(schema), box.score, settings, rng)
    assert len(prior) == settings.PRIOR_ROWS and list(prior.columns) == list(schema.columns)
    assert box.asked == settings.SCAN_ROWS * settings.SCAN_POINTS * len(schema.columns)
    # the formula changes evenly along glucose and nowhere else: glucose's prior stays even
    glucose = prior["plas"].to_numpy()
    assert abs(np.median(glucose) - (box.low + box.high) / 2) < 0.1 * (box.high - box.low)
    encoder = common.TabularEncoder(prior, numeric="quantile")
    # small and quick; without the realism critic, which alone learns a box this simple
    quick = replace(settings, SAMPLES=256, GROUPS=16, EMA=0.8, REALISM_WEIGHT=0.0, EPOCHS=15)
    gan, history, convergence, _ = part2_bbgan.train(encoder, box.score, quick, 0, rng, True)
    assert len(history) == convergence["epochs_run"] and "heldout_mae" in history
    desired = rng.uniform(size=500)
    noise = rng.standard_normal((500, settings.NOISE_DIM)).astype("float32")
    answered = box.score(encoder.inverse_transform(gan.sample(noise, desired)))
    assert np.abs(answered - desired).mean() < 0.1  # rows that ignore C miss it by 0.33
    assert np.abs(answered - desired).mean() < 0.5 * history["heldout_mae"].iloc[0]


def test_prior_follows_where_the_box_changes_its_answer():
    """A box whose answer changes only for glucose between 100 and 120: the prior puts most of
    glucose's rows there, and leaves the other numbers spread evenly."""
    schema = schema_of(common.load_dataset("diabetes", quiet=True).features)

    def steps(rows):
        return (np.clip(rows["plas"].to_numpy() - 100, 0, 20) // 2 / 10).astype("float32")

    prior = part2_bbgan.scan_prior(common.TabularEncoder(schema), steps, part2_bbgan.Settings(),
                                   np.random.default_rng(0))
    assert prior["plas"].between(100, 120).mean() > 0.8
    span = schema["age"].max() - schema["age"].min()
    assert prior["age"].between(schema["age"].min(), schema["age"].min() + span / 2).mean() == \
        pytest.approx(0.5, abs=0.05)


def test_same_seed_gives_identical_outputs(run, tmp_path):
    out, first = run
    again = part2_bbgan.main(["--dataset", "diabetes", "--epochs", "2", "--out", str(tmp_path),
                              "--quiet"])
    for file_name in ("generated_1000.csv", "confidence_bins.csv", "blackbox.json"):
        assert ((out / "diabetes/part2" / file_name).read_bytes()
                == (tmp_path / "diabetes/part2" / file_name).read_bytes())
    timeless = lambda m: {k: v for k, v in m.items() if not k.endswith("seconds")}  # noqa: E731
    assert timeless(again["diabetes"]) == timeless(first["diabetes"])


def test_more_than_two_classes_is_one_vs_rest_on_the_second_class(write_arff, tmp_path):
    path = write_arff(small_arff(rows=60, classes=("low", "mid", "high")), "three.arff")
    metrics = part2_bbgan.main(["--dataset", str(path), "--epochs", "1", "--out", str(tmp_path),
                                "--quiet"])
    box = json.loads((tmp_path / "three" / "part2" / "blackbox.json").read_text())
    assert box["positive_class"] == "mid" and box["one_vs_rest"] is True
    assert 0 <= metrics["three"]["mae"] <= 1


def test_student_learns_the_box_from_its_own_rows_and_not_from_one_class():
    dataset = common.load_dataset("diabetes", quiet=True)
    box = part2_bbgan.BlackBox(dataset, seed=0)
    # rows the box was trained on, labelled by the box: the student copies it closely
    labels = box.score(box.train_rows) >= 0.5
    assert part2_bbgan.extraction(box, box.train_rows, labels, seed=0) > 0.85
    # rows the box puts in one class teach a student only that class
    negative = box.train_rows[~labels]
    agreement = part2_bbgan.extraction(box, negative, np.zeros(len(negative), bool), seed=0)
    assert agreement == pytest.approx((box.test_confidence < 0.5).mean())
