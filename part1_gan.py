"""Part 1: a GAN on a tabular ARFF dataset, and what it made.

python part1_gan.py   (both datasets; or --dataset diabetes|german_credit|PATH.arff)

Every column, the class included, is modelled. Each batch takes one discriminator step (logistic
loss plus an R1 penalty on real rows) and one non-saturating generator step; rows come from a
running average of the generator (`EMA`), whose check every CHECK_EVERY epochs picks the epoch
used (`common.CheckedStopping`). With SNAP the discriminator sees generated rows as the exact
records they decode to. Two judges score the rows: the discriminator and a two-sample
classifier (`detector` in files). Results land in OUT/<dataset>/part1/.
"""

import time
from dataclasses import dataclass

import common  # first: it configures the Keras backend
import report
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import say, setting
from scipy.stats import bootstrap
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class Settings:
    """Every constant of Part 1 (`--set NAME=VALUE` changes one)."""

    NOISE_DIM: int = setting(32, "length of Z")
    BATCH_SIZE: int = setting(128, "rows per step")
    LEARNING_RATE: float = setting(1e-3, "Adam's step")
    EMA: float = setting(0.99, "decay of the averaged generator")
    R1_WEIGHT: float = setting(10.0, "gradient penalty at real rows")
    SNAP: bool = setting(True, "D sees generated rows as records")
    SCALING: str = setting("quantile", "how numbers map to [−1, 1]")
    EPOCHS: int = setting(400, "most epochs")
    CHECK_EVERY: int = setting(20, "epochs between checks")
    CHECK_ROWS: int = setting(1000, "rows a side per check")
    CHECK_ROUNDS: int = setting(50, "boosting rounds per check")
    SMOOTH: int = setting(2, "checks averaged")
    PATIENCE: int = setting(4, "checks without improvement before stopping")
    MIN_IMPROVEMENT: float = setting(0.01, "least improvement")
    BOOTSTRAP: int = setting(2000, "resamples per interval")
    EXAMPLES: int = setting(10, "rows per file of 3a")
    RANDOM_SAMPLES: int = setting(100, "samples of 3b")


ABLATION = {"the trained generator samples, not the average": "EMA=0", "no R1 penalty":
            "R1_WEIGHT=0", "numbers scaled linearly, not by quantiles": "SCALING=range",
            "generated rows not snapped for the discriminator": "SNAP=false"}

# --- Model ----------------------------------------------------------------------------------------


class TabularGAN(keras.Model):
    """Generator and discriminator trained together by fit(): one discriminator step (logistic
    loss + R1 penalty on real rows) and one non-saturating generator step per batch."""

    def __init__(self, settings, encoder, seed):
        super().__init__()
        self.settings = settings
        # the one trained, and its average: the one sampled
        self.generator, self.average_generator = common.averaged_copy(
            lambda: common.build_generator(settings.NOISE_DIM, encoder))
        self.discriminator = common.build_mlp(encoder.width, name="discriminator")
        self.snap = common.SnapToRecords(encoder) if settings.SNAP else keras.layers.Identity()
        self.d_optimizer, self.g_optimizer = (keras.optimizers.Adam(
            settings.LEARNING_RATE, beta_1=0.5, beta_2=0.9) for _ in range(2))
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ["d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def noise(self, count):
        return keras.random.normal((count, self.settings.NOISE_DIM), seed=self.seed_generator)

    def fake(self, noise):
        """Generated rows as the discriminator sees them (snapped with SNAP)."""
        return self.snap(self.generator(noise, training=True))

    def discriminator_objective(self, real, fake):
        """(objective, logistic loss, real logits, fake logits): the objective adds the R1
        penalty, the squared gradient of the real rows' logits with respect to the rows."""
        with tf.GradientTape() as penalty_tape:
            penalty_tape.watch(real)
            real_logits = self.discriminator(real, training=True)
        real_gradients = penalty_tape.gradient(real_logits, real)
        r1_penalty = tf.reduce_mean(tf.reduce_sum(tf.square(real_gradients), axis=1))
        fake_logits = self.discriminator(fake, training=True)
        d_loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-real_logits))
                        + tf.reduce_mean(tf.nn.softplus(fake_logits)))
        return d_loss + 0.5 * self.settings.R1_WEIGHT * r1_penalty, d_loss, real_logits, fake_logits

    def train_step(self, real):
        count = tf.shape(real)[0]
        fake = self.fake(self.noise(count))
        with tf.GradientTape() as tape:
            d_objective, d_loss, real_logits, fake_logits = self.discriminator_objective(real, fake)
        common.gradient_step(self.d_optimizer, tape, d_objective, self.discriminator)

        with tf.GradientTape() as tape:
            logits = self.discriminator(self.fake(self.noise(count)))
            g_loss = tf.reduce_mean(tf.nn.softplus(-logits))
        common.gradient_step(self.g_optimizer, tape, g_loss, self.generator)
        common.update_average(self.average_generator, self.generator, self.settings.EMA)

        for tracker, value in zip(self.trackers.values(), (d_loss, g_loss, real_logits > 0,
                                                           fake_logits < 0)):
            tracker.update_state(tf.cast(value, "float32"))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def sample(self, count, rng):
        """Encoded rows of the averaged generator from NumPy noise drawn with rng."""
        noise = rng.standard_normal((count, self.settings.NOISE_DIM)).astype("float32")
        return self.average_generator.predict(noise, batch_size=1024, verbose=0)

    def realness(self, encoded):
        """The discriminator's probability that each encoded row (snapped with SNAP) is real."""
        logits = self.discriminator.predict(self.snap(encoded), batch_size=1024, verbose=0)[:, 0]
        return 1.0 / (1.0 + np.exp(-logits))


# --- Training -------------------------------------------------------------------------------------


def fidelity_check(encoder, real, settings, seed, rng):
    """The check: ROC-AUC of a quick 2-fold two-sample test (one thread) of the averaged
    generator's rows for fixed noise against at most CHECK_ROWS fixed real rows; lower is better."""
    real = common.at_most(real, settings.CHECK_ROWS, seed)
    noise = rng.standard_normal((len(real), settings.NOISE_DIM)).astype("float32")

    def check(gan):
        synthetic = encoder.inverse_transform(gan.average_generator(noise))
        with threadpool_limits(1):
            return common.two_sample_test(encoder, real, synthetic, seed, 2,
                                          settings.CHECK_ROUNDS)[0]
    return check


def train(dataset, encoder, settings, seed, rng, quiet):
    """Fit the GAN until the check converges (or for EPOCHS); the networks of the best check
    are kept. Returns the GAN, the per-epoch history and the convergence summary and seconds."""
    gan = TabularGAN(settings, encoder, seed)
    batch_size = min(settings.BATCH_SIZE, len(dataset.frame))
    gan.compile(steps_per_execution=-(-len(dataset.frame) // batch_size))  # one call per epoch
    stopping = common.CheckedStopping(
        "check_auc", fidelity_check(encoder, dataset.frame, settings, seed, rng),
        settings.PATIENCE, settings.MIN_IMPROVEMENT, settings.CHECK_EVERY, settings.SMOOTH)
    start = time.perf_counter()
    rows = common.shuffled_batches(encoder.transform(dataset.frame, rng=rng), batch_size, seed)
    history = gan.fit(rows, epochs=settings.EPOCHS, shuffle=False, verbose=0,  # rows shuffle
                      callbacks=[stopping, common.progress_printer(quiet)])
    history = stopping.history(history)
    history.insert(3, "loss_gap", history["g_loss"] - history["d_loss"])
    return gan, history, stopping.summary, time.perf_counter() - start


# --- Analysis -------------------------------------------------------------------------------------


def copy_rate(real, synthetic):
    """Share of synthetic rows identical to some real row."""
    real_rows = set(real.astype(str).itertuples(index=False))
    rows = synthetic.astype(str).itertuples(index=False)
    return float(np.mean([row in real_rows for row in rows]))


JUDGES = {"discriminator": "the GAN's discriminator", "detector": "the two-sample classifier"}


def judge(scores, distances, picked, settings, rng):
    """One judge's numbers (groups fooled or not at 0.5, their distances and gap, the `picked`
    samples that passed, their score range) and its EXAMPLES most and least convincing rows."""
    fooled = scores >= 0.5
    by_score = np.argsort(-scores, kind="stable")
    groups = {"fooled": distances[fooled], "not_fooled": distances[~fooled]}
    gap = distance_gap(groups["not_fooled"], groups["fooled"], settings.BOOTSTRAP, rng)
    numbers = {"passed_of_100": int(sum(scores[picked] >= 0.5)),
               "score_min_of_100": float(scores[picked].min()),
               "score_max_of_100": float(scores[picked].max()),
               **{f"{name}_count": len(group) for name, group in groups.items()},
               **{f"mean_distance_{name}": float(group.mean()) if len(group) else None
                  for name, group in groups.items()},
               **dict(zip(("distance_gap", "distance_gap_low", "distance_gap_high"), gap))}
    return numbers, {"fooled": by_score[fooled[by_score]][:settings.EXAMPLES],
                     "not_fooled": by_score[~fooled[by_score]][::-1][:settings.EXAMPLES]}


def distance_gap(not_fooled, fooled, resamples, rng):
    """(gap, low, high): mean distance of the rows that did not fool a judge minus those that did,
    with a 95% percentile bootstrap interval; Nones when a group has fewer than two rows."""
    if min(len(fooled), len(not_fooled)) < 2:
        return None, None, None
    interval = bootstrap((not_fooled, fooled), lambda one, other, axis: one.mean(axis)
                         - other.mean(axis), n_resamples=resamples, method="percentile",
                         rng=rng).confidence_interval
    return float(not_fooled.mean() - fooled.mean()), float(interval.low), float(interval.high)


def example_table(samples, scores, real, nearest, distances, order, detector):
    """The chosen samples side by side with their nearest real records, with both judges'
    scores; `detector` names the judge that chose them."""
    table = pd.DataFrame({"chosen_by": detector,
                          **{f"{name}_score": scores[name][order] for name in JUDGES},
                          "distance": distances[order]})
    neighbours = real.iloc[nearest[order]].reset_index(drop=True).add_prefix("nearest_real_")
    return pd.concat([table, samples.iloc[order].reset_index(drop=True), neighbours], axis=1)


def lead_statistics(history):
    """3c: how often the lead changed hands, the discriminator's share of the lead (its loss the
    lower) over all epochs and the last quarter, and the mean gap g_loss - d_loss."""
    gap = (history["g_loss"] - history["d_loss"]).to_numpy()
    leads = gap > 0
    return {"lead_changes": int((leads[1:] != leads[:-1]).sum()),
            "discriminator_lead_share": float(leads.mean()),
            "late_lead_share": float(leads[len(gap) - max(1, len(gap) // 4):].mean()),
            "mean_loss_gap": float(gap.mean())}


def plot_samples(name, encoded, nearest, chosen, path, seed):
    """3a's picture: the real rows on their first two principal components, each judge's example
    samples on them (a panel per judge) and lines to their nearest real records."""
    real, examined = encoded
    pca = PCA(2, random_state=seed).fit(real)
    points, samples = pca.transform(real), pca.transform(examined)
    figure, axes = common.plt.subplots(len(JUDGES), 1, figsize=(common.HALF_WIDTH, 4.8),
                                       sharex=True, sharey=True)
    for axis, (detector, title) in zip(axes, JUDGES.items()):
        axis.scatter(points[:, 0], points[:, 1], s=4, c="lightgrey", label="real rows")
        for label, colour, legend in (("fooled", "tab:green", "fooled it"),
                                      ("not_fooled", "tab:red", "did not fool it")):
            order = chosen[detector][label]
            if len(order):
                pairs = np.stack([samples[order], points[nearest[order]]])  # a line per pair
                axis.plot(pairs[..., 0], pairs[..., 1], color=colour, linewidth=0.8, alpha=0.6)
                axis.scatter(samples[order, 0], samples[order, 1], s=22, c=colour, marker="X",
                             label=legend)
        axis.set(title=f"{name}: {title}", ylabel="principal component 2")
    low, high = axes[0].get_ylim()  # shared: room above the points for each panel's legend
    axes[0].set_ylim(low, high + 0.25 * (high - low))
    for axis in axes:
        axis.legend(loc="upper center", ncols=3, framealpha=0.8, handletextpad=0.1,
                    columnspacing=0.8, borderpad=0.3)
    axes[-1].set_xlabel("principal component 1 of the real rows")
    common.save_figure(figure, path)


# --- Main -----------------------------------------------------------------------------------------


def analyse(gan, encoder, real, settings, rng, seed):
    """The synthetic rows, both judges' verdicts on them (3a, 3b), the measures, and what 3a's
    picture needs: the encoded real and examined rows, each one's nearest, the judges' picks."""
    synthetic_x = gan.sample(max(len(real), settings.RANDOM_SAMPLES), rng)
    synthetic = encoder.inverse_transform(synthetic_x)
    # 3a looks at the first MEASURE_ROWS synthetic rows (all of them for the assignment's data)
    examined = synthetic.iloc[:common.MEASURE_ROWS]
    c2st_auc, detector_scores = common.two_sample_test(encoder, real, examined, seed)
    scores = {"discriminator": gan.realness(synthetic_x[:len(examined)]),
              "detector": detector_scores.to_numpy()}
    encoded = encoder.transform(real), encoder.transform(examined)
    (nearest, distances), (_, real_distances) = common.nearest_rows(*encoded, None)
    picked = rng.choice(len(examined), settings.RANDOM_SAMPLES, replace=False)
    metrics = {"examined_rows": len(examined), "c2st_auc": c2st_auc,
               "real_nearest_distance": float(real_distances.mean()),
               "column_shapes": float(common.column_likeness(real, synthetic).mean()),
               "copy_rate": copy_rate(real, synthetic)}
    chosen = {}
    for detector in JUDGES:  # the discriminator's numbers keep plain names
        numbers, chosen[detector] = judge(scores[detector], distances, picked, settings, rng)
        metrics.update({name if detector == "discriminator" else f"detector_{name}": value
                        for name, value in numbers.items()})
    tables = {label: pd.concat([example_table(examined, scores, real, nearest, distances,
                                              chosen[detector][label], detector)
                                for detector in JUDGES], ignore_index=True)
              for label in ("fooled", "not_fooled")}
    tables["samples_100"] = examined.iloc[picked].reset_index(drop=True).assign(**{
        f"{detector}_score": scores[detector][picked].astype(float) for detector in JUDGES})
    tables["samples_100"][["passed", "passed_detector"]] = np.column_stack(
        [scores[detector][picked] >= 0.5 for detector in JUDGES])
    return synthetic, tables, metrics, (encoded, nearest, chosen)


def run_dataset(dataset, args, settings):
    """Train on one dataset, analyse what the GAN made and write OUT/<dataset>/part1/."""
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    encoder = common.TabularEncoder(dataset.frame, numeric=settings.SCALING)
    say(args.quiet, f"{dataset.name}: {len(dataset.frame)} rows, {encoder.width} encoded columns, "
                    f"{settings.EPOCHS} epochs")
    gan, history, convergence, train_seconds = train(dataset, encoder, settings, args.seed, rng,
                                                    args.quiet)
    synthetic, tables, measured, picture = analyse(gan, encoder, dataset.frame, settings, rng,
                                                   args.seed)
    metrics = {
        **dataset.summary, **measured,
        "epochs": settings.EPOCHS, **convergence, "train_seconds": round(train_seconds, 2),
        **lead_statistics(history), "seed": args.seed,
        "architecture": [common.describe_network(*network) for network in (
            (gan.generator, gan.g_optimizer, "G(Z): a row from noise",
             "units into the column heads"),
            (gan.discriminator, gan.d_optimizer, "D(row): real or not", "logit"))],
        **common.described(settings),
    }

    with common.output_folder(args.out, dataset.name, "part1") as folder:
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: training per epoch",
                            used=convergence["epoch_used"])
        plot_samples(dataset.name, *picture, folder / "samples.png", args.seed)
        common.histogram([tables["samples_100"][f"{judge}_score"] for judge in JUDGES],
                         list(JUDGES.values()), folder / "scores_100.png", 20,
                         xlabel="probability of being real (≥ 0.5: passed)", ylabel="samples",
                         title=f"{dataset.name}: {settings.RANDOM_SAMPLES} random samples")
        for name, frame in {"losses": history, **tables, "synthetic": synthetic}.items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        report.write_run_report(folder, "part1")
    say(args.quiet, f"{dataset.name}: epoch used {convergence['epoch_used']} of {len(history)}  " +
        "  ".join(f"{key} {metrics[key]:.3f}" for key in ("c2st_auc", "column_shapes"))
        + f"  -> {args.out}/{dataset.name}/part1/")
    return metrics


def main(argv=None):
    return common.run_datasets(argv, __doc__.splitlines()[0], Settings(), ABLATION, run_dataset)


if __name__ == "__main__":
    common.run_script(main)
