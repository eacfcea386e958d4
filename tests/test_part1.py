"""part1_gan.main() end to end with tiny settings, the GAN's training, and the fidelity
measures."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import common
import part1_gan
import tensorflow as tf
from conftest import small_arff


@pytest.fixture(scope="module")
def runs(tiny_runs):
    """The tiny run of Part 1 on both datasets (conftest), shared by the tests below."""
    return tiny_runs.out, tiny_runs.part1


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
def test_every_artifact_has_its_columns_and_rows(runs, name):
    out, metrics = runs
    folder = out / name / "part1"
    real = common.load_dataset(name, quiet=True).frame
    assert {p.name for p in folder.iterdir()} == {
        "losses.csv", "losses.png", "fooled.csv", "not_fooled.csv", "samples.png",
        "samples_100.csv", "scores_100.png", "synthetic.csv", "metrics.json", "report.md"}
    losses = pd.read_csv(folder / "losses.csv")
    assert list(losses["epoch"]) == [1, 2]
    assert list(losses.columns) == ["epoch", "d_loss", "g_loss", "loss_gap", "d_accuracy_real",
                                    "d_accuracy_fake", "check_auc"]
    assert np.allclose(losses["loss_gap"], losses["g_loss"] - losses["d_loss"])

    synthetic = pd.read_csv(folder / "synthetic.csv")
    assert list(synthetic.columns) == list(real.columns) and len(synthetic) == len(real)
    for column in real.columns:
        if isinstance(real[column].dtype, pd.CategoricalDtype):
            assert set(synthetic[column].astype(str)) <= set(real[column].cat.categories)
        else:
            assert synthetic[column].between(real[column].min(), real[column].max()).all()
            if pd.api.types.is_integer_dtype(real[column]):
                assert pd.api.types.is_integer_dtype(synthetic[column])

    assert losses["check_auc"].notna().tolist() == [False, True]  # checked at the last epoch
    samples = pd.read_csv(folder / "samples_100.csv")
    assert len(samples) == 100
    for table_name in ("fooled.csv", "not_fooled.csv"):
        table = pd.read_csv(folder / table_name)
        assert {"chosen_by", "discriminator_score", "detector_score", "distance", *real.columns,
                *(f"nearest_real_{c}" for c in real.columns)} <= set(table.columns)
        assert set(table["chosen_by"]) <= {"discriminator", "detector"}
    fooled, not_fooled = (pd.read_csv(folder / f) for f in ("fooled.csv", "not_fooled.csv"))
    for detector, prefix in (("discriminator", ""), ("detector", "detector_")):
        chose_fooled = fooled[fooled["chosen_by"] == detector]
        chose_not_fooled = not_fooled[not_fooled["chosen_by"] == detector]
        assert (chose_fooled[f"{detector}_score"] >= 0.5).all()
        assert (chose_not_fooled[f"{detector}_score"] < 0.5).all()
        assert len(chose_fooled) == min(10, metrics[name][f"{prefix}fooled_count"])
        assert len(chose_not_fooled) == min(10, metrics[name][f"{prefix}not_fooled_count"])


@pytest.mark.parametrize("name", ["diabetes", "german_credit"])
def test_metrics_and_report_agree(runs, name):
    out, returned = runs
    folder = out / name / "part1"
    metrics = returned[name]
    assert metrics["epochs_run"] == 2 and metrics["epoch_used"] == 2 and not metrics["converged"]
    losses = pd.read_csv(folder / "losses.csv")
    assert metrics["check_auc_used"] == metrics["check_auc_first"] == losses["check_auc"].iloc[1]
    samples = pd.read_csv(folder / "samples_100.csv")
    assert metrics["passed_of_100"] == samples["passed"].sum()
    assert metrics["detector_passed_of_100"] == samples["passed_detector"].sum()
    report = (folder / "report.md").read_text()
    assert (f"**Answer for {name}.** Of 100 random samples, {metrics['passed_of_100']} passed "
            f"the discriminator, and {metrics['detector_passed_of_100']} passed the two-sample "
            "classifier") in report
    for key in ("c2st_auc", "column_shapes", "real_nearest_distance"):
        assert f"{metrics[key]:.3f}" in report
    share = metrics["lead_changes"] / metrics["epochs_run"]
    assert f"| {metrics['lead_changes']} ({share:.1%}) |" in report  # 3c's lead changes
    gap = metrics["mean_loss_gap"]
    assert f"| {gap:.4f} ({abs(gap) / np.log(2):.1%}) |".replace("-", "−") in report
    assert report.count("| row | score | distance |") == 2  # 3a: each judge's examples
    assert "](losses.png)" in report and "](samples.png)" in report
    networks = {network["network"]: network for network in metrics["architecture"]}
    assert networks["generator"]["input"] == part1_gan.Settings().NOISE_DIM
    assert f"`NOISE_DIM` {part1_gan.Settings().NOISE_DIM};" in report


def test_same_seed_gives_identical_results(runs, tmp_path):
    out, first = runs
    [again] = part1_gan.main(["--dataset", "diabetes", "--epochs", "2", "--out", str(tmp_path),
                              "--quiet"]).values()
    assert ((out / "diabetes/part1/synthetic.csv").read_bytes()
            == (tmp_path / "diabetes/part1/synthetic.csv").read_bytes())
    timeless = lambda m: {k: v for k, v in m.items() if not k.endswith("seconds")}  # noqa: E731
    assert timeless(again) == timeless(first["diabetes"])


def test_c2st_is_chance_for_real_against_real_and_high_against_noise():
    real = common.load_dataset("diabetes", quiet=True).frame
    encoder = common.TabularEncoder(real, numeric="quantile")
    rng = np.random.default_rng(0)
    shuffled = real.sample(frac=1.0, random_state=0).reset_index(drop=True)
    half = len(real) // 2
    same = common.two_sample_test(encoder, shuffled[:half], shuffled[half:], seed=0)[0]
    uniform = common.TabularEncoder(real)  # noise spread evenly over each column's range
    noise = uniform.inverse_transform(rng.uniform(-1, 1, size=(len(real), uniform.width)))
    different = common.two_sample_test(encoder, real, noise, seed=0)[0]
    # the real marginals with their dependence broken: detectable, but less so
    independent = encoder.inverse_transform(rng.uniform(-1, 1, size=(len(real), encoder.width)))
    assert 0.4 < same < 0.6
    assert different > 0.95
    assert 0.6 < common.two_sample_test(encoder, real, independent, seed=0)[0] < different


def test_copy_rate_counts_synthetic_rows_equal_to_a_real_row():
    real = common.load_dataset("diabetes", quiet=True).frame
    changed = real.head(10).assign(age=real["age"].head(10) + 1000)
    assert part1_gan.copy_rate(real, real.head(10)) == 1.0
    assert part1_gan.copy_rate(real, pd.concat([real.head(10), changed])) == 0.5


def test_lead_statistics_count_changes_and_measure_the_gap():
    history = pd.DataFrame({"d_loss": [0.6, 0.7, 0.6, 0.6], "g_loss": [0.7, 0.6, 0.7, 0.8]})
    lead = part1_gan.lead_statistics(history)
    assert lead["lead_changes"] == 2 and lead["discriminator_lead_share"] == 0.75
    assert lead["mean_loss_gap"] == pytest.approx(0.075) and lead["late_lead_share"] == 1.0
    # 40 epochs: the generator leads epochs 1-3 and 30-40, the discriminator in between
    gap = np.r_[-np.ones(3), np.ones(26), -np.ones(11)] * 0.01
    lead = part1_gan.lead_statistics(pd.DataFrame({"d_loss": 0.69 - gap / 2,
                                                   "g_loss": 0.69 + gap / 2}))
    assert lead["lead_changes"] == 2 and lead["late_lead_share"] == 0.0
    assert lead["discriminator_lead_share"] == pytest.approx(26 / 40)


QUICK = replace(part1_gan.Settings(), CHECK_EVERY=1, SMOOTH=1, PATIENCE=3)


def tiny_training(monkeypatch, write_arff, checks, epochs):
    """part1_gan.train on a 40-row file, checked every epoch, with the check's AUCs scripted;
    returns the GAN, its history, the convergence summary and the averaged generator's weights
    at each check."""
    weights, scripted = [], iter(checks)

    def scripted_check(*args):
        return lambda gan: weights.append(gan.average_generator.get_weights()) or next(scripted)

    monkeypatch.setattr(part1_gan, "fidelity_check", scripted_check)
    dataset = common.load_dataset(write_arff(small_arff()), quiet=True)
    encoder = common.TabularEncoder(dataset.frame, numeric="quantile")
    common.seed_everything(0)
    gan, history, convergence, _ = part1_gan.train(dataset, encoder, replace(QUICK, EPOCHS=epochs),
                                                   0, np.random.default_rng(0), True)
    return gan, history, convergence, weights


def same(weights, other):
    return all(np.allclose(a, b) for a, b in zip(weights, other))


def test_a_converged_run_stops_and_keeps_the_best_checks_networks(monkeypatch, write_arff):
    gan, history, convergence, weights = tiny_training(monkeypatch, write_arff,
                                                       [0.9, 0.6, 0.7, 0.7, 0.7, 0.7], 30)
    assert convergence["converged"] and convergence["epochs_run"] == len(history) == 5
    assert convergence["epoch_used"] == 2 and convergence["check_auc_used"] == 0.6
    assert history["check_auc"].tolist() == [0.9, 0.6, 0.7, 0.7, 0.7]
    now = gan.average_generator.get_weights()
    assert same(now, weights[1]) and not same(now, weights[-1])  # epoch 2's networks are back


def test_the_averaged_generator_is_sampled_and_differs_from_the_trained_one(monkeypatch,
                                                                             write_arff):
    gan, *_ = tiny_training(monkeypatch, write_arff, [0.9 - 0.05 * i for i in range(5)], 5)
    assert not same(gan.generator.get_weights(), gan.average_generator.get_weights())
    noise = np.random.default_rng(1).standard_normal((8, QUICK.NOISE_DIM)).astype("float32")
    sampled = gan.sample(8, np.random.default_rng(1))
    np.testing.assert_allclose(sampled, gan.average_generator.predict(noise, verbose=0), rtol=1e-6)
    assert not np.allclose(sampled, gan.generator.predict(noise, verbose=0))


def one_column(values):
    """A one-number table and its range encoder."""
    frame = pd.DataFrame({"x": np.asarray(values, dtype=float)})
    return frame, common.TabularEncoder(frame, numeric="range")


def test_training_moves_the_samples_toward_the_real_rows():
    """Real rows near the top of the range (+0.8 encoded) and generated rows that start near 0:
    a correct discriminator teaches the generator to move up to them."""
    frame, encoder = one_column(np.r_[-10.0, 10.0, np.random.default_rng(0).normal(8, 0.5, 510)])
    common.seed_everything(0)
    gan = part1_gan.TabularGAN(replace(part1_gan.Settings(), EMA=0.0), encoder, seed=0)
    gan.compile()
    before = gan.sample(500, np.random.default_rng(1)).mean()
    gan.fit(common.shuffled_batches(encoder.transform(frame), 64, 0), epochs=25, verbose=0,
            shuffle=False)
    after = gan.sample(500, np.random.default_rng(1)).mean()
    real = encoder.transform(frame).mean()
    assert abs(after - real) < 0.5 * abs(before - real)


def test_the_r1_penalty_is_taken_at_the_real_rows_only():
    """The objective less the logistic loss is the R1 penalty: it moves with the real rows, not
    with the generated ones, and is zero at R1_WEIGHT 0."""
    real = common.load_dataset("diabetes", quiet=True).frame.head(64)
    encoder = common.TabularEncoder(real, numeric="quantile")
    rows = tf.constant(encoder.transform(real))
    noise = np.random.default_rng(0).standard_normal((2, 64, 32)).astype("float32")

    def penalties(r1_weight):
        common.seed_everything(0)
        gan = part1_gan.TabularGAN(replace(part1_gan.Settings(), R1_WEIGHT=r1_weight), encoder, 0)
        fakes = [gan.fake(each) for each in noise]
        pairs = ((rows, fakes[0]), (rows, fakes[1]), (tf.reverse(rows, [1]), fakes[0]))
        return [float(objective - loss) for objective, loss, *_ in
                (gan.discriminator_objective(*pair) for pair in pairs)]

    fixed, other_fakes, other_real = penalties(10.0)
    assert fixed > 0 and fixed == pytest.approx(other_fakes, rel=1e-5)
    assert abs(other_real - fixed) > 1e-3 * fixed
    assert penalties(0.0) == [0.0, 0.0, 0.0]


def test_distance_gap_and_its_bootstrap_interval():
    rng = np.random.default_rng(0)
    near, far = rng.normal(1.0, 0.1, 300), rng.normal(1.5, 0.1, 300)
    gap, low, high = part1_gan.distance_gap(far, near, 2000, rng)
    assert low < gap < high and gap == pytest.approx(far.mean() - near.mean())
    assert 0.45 < low and high < 0.55 and high - low < 0.05
    same = part1_gan.distance_gap(near[:150], near[150:], 2000, rng)
    assert same[1] < 0 < same[2]  # no difference: the interval holds 0
    assert part1_gan.distance_gap(near, near[:0], 2000, rng) == (None, None, None)


def test_detector_scores_rows_it_never_saw_and_ranks_real_looking_rows_higher():
    real = common.load_dataset("diabetes", quiet=True).frame
    encoder = common.TabularEncoder(real, numeric="quantile")
    rng = np.random.default_rng(0)
    noise = common.TabularEncoder(real).inverse_transform(
        rng.uniform(-1, 1, size=(200, encoder.width)))
    held_out = real.sample(200, random_state=0)
    synthetic = pd.concat([held_out, noise], ignore_index=True)
    auc, realness = common.two_sample_test(encoder, real.drop(held_out.index), synthetic, seed=0)
    assert list(realness.index) == list(synthetic.index) and realness.between(0, 1).all()
    assert realness[:200].mean() > 0.4 > 0.1 > realness[200:].mean()


def test_column_shapes_see_each_columns_distribution():
    real = common.load_dataset("german_credit", quiet=True).frame
    assert common.column_likeness(real, real).mean() == 1.0
    skewed = real.copy()
    skewed["purpose"] = skewed["purpose"].cat.categories[0]  # one category only
    skewed["purpose"] = skewed["purpose"].astype(real["purpose"].dtype)
    assert common.column_likeness(real, skewed)["purpose"] < 0.9
    real = common.load_dataset("diabetes", quiet=True).frame
    shifted = real.copy()
    shifted["age"] = shifted["age"] + 10
    one_column = 1.0 / len(real.columns)  # the KS statistic of age is between 0 and 1
    assert 1.0 - one_column < common.column_likeness(real, shifted).mean() < 1.0


def test_distance_gap_needs_two_rows_a_side():
    rng = np.random.default_rng(0)
    assert part1_gan.distance_gap(np.array([1.0, 2.0]), np.array([1.0]), 100, rng) == (None,) * 3
    gap, low, high = part1_gan.distance_gap(np.array([2.0, 2.5, 3.0]), np.array([1.0, 1.5]), 200,
                                            rng)
    assert gap == 1.25 and low <= gap <= high
