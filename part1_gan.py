"""Part 1: a GAN on a tabular ARFF dataset, and what it made.

python part1_gan.py   (both datasets; or --dataset diabetes|german_credit|PATH.arff)

Every column of the ARFF file, the class included, is modelled, so each synthetic row is a
complete record. Numbers are mapped to [-1, 1] through their empirical quantiles (`SCALING`), so
skewed and zero-inflated columns become uniform and decode only to observed values; nominal
attributes are one-hot. One record per column (name, kind, width) drives both the encoding and
the generator's output heads, so the generator cannot make a value that does not exist and
decoding gives back the file's types and categories. Each batch takes one discriminator step
(logistic loss plus an R1 gradient penalty on the real rows, which keeps the discriminator from
outrunning the generator) and one generator step (non-saturating loss). Rows are drawn from a
running average of the generator's weights (`EMA`), which smooths the back-and-forth of the
game. Two judges then score the synthetic rows: the discriminator, and a two-sample classifier
(gradient boosting trained to tell real from synthetic rows, 5-fold; its key in files is
`detector`) that scores each row with a model that never saw it. A neighbours index finds each
row's nearest real record. Results land in OUT/<dataset>/part1/.
"""

import time

import common  # first: it configures the Keras backend
import report
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import say
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

NOISE_DIM = 32
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
EMA = 0.99  # decay of the generator's running weight average
R1_WEIGHT = 10.0
SCALING = "quantile"  # of the numbers: "quantile" (uniform in [-1, 1]) or "range" (linear)
EPOCHS = 250
EXAMPLES = 10  # rows in fooled.csv and not_fooled.csv
RANDOM_SAMPLES = 100


# --- Model ----------------------------------------------------------------------------------------


class TabularGAN(keras.Model):
    """Generator and discriminator trained together by fit(): one discriminator step (logistic
    loss + R1 penalty on real rows) and one non-saturating generator step per batch."""

    def __init__(self, build_generator, discriminator, seed):
        super().__init__()
        self.generator = build_generator()
        # the generator that samples: a running average of the trained generator's weights
        self.average_generator = build_generator()
        self.average_generator.set_weights(self.generator.get_weights())
        self.discriminator = discriminator
        self.noise_dim = self.generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ["d_loss", "g_loss", "d_accuracy_real", "d_accuracy_fake"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, d_optimizer, g_optimizer, r1_weight, steps_per_execution=1):
        super().compile(steps_per_execution=steps_per_execution)
        self.d_optimizer, self.g_optimizer, self.r1_weight = d_optimizer, g_optimizer, r1_weight

    def noise(self, count):
        return keras.random.normal((count, self.noise_dim), seed=self.seed_generator)

    def train_step(self, real):
        count = tf.shape(real)[0]
        fake = self.generator(self.noise(count), training=True)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as penalty_tape:
                penalty_tape.watch(real)
                real_logits = self.discriminator(real, training=True)
            real_gradients = penalty_tape.gradient(real_logits, real)
            r1_penalty = tf.reduce_mean(tf.reduce_sum(tf.square(real_gradients), axis=1))
            fake_logits = self.discriminator(fake, training=True)
            d_loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-real_logits))
                            + tf.reduce_mean(tf.nn.softplus(fake_logits)))
            d_objective = d_loss + 0.5 * self.r1_weight * r1_penalty
        common.gradient_step(self.d_optimizer, tape, d_objective, self.discriminator)

        with tf.GradientTape() as tape:
            logits = self.discriminator(self.generator(self.noise(count), training=True))
            g_loss = tf.reduce_mean(tf.nn.softplus(-logits))
        common.gradient_step(self.g_optimizer, tape, g_loss, self.generator)
        for average, weight in zip(self.average_generator.weights, self.generator.weights):
            average.assign(EMA * average + (1.0 - EMA) * weight)

        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["d_accuracy_real"].update_state(tf.cast(real_logits > 0, "float32"))
        self.trackers["d_accuracy_fake"].update_state(tf.cast(fake_logits < 0, "float32"))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def sample(self, count, rng):
        """Encoded synthetic rows from NumPy noise drawn with rng."""
        noise = rng.standard_normal((count, self.noise_dim)).astype("float32")
        return self.average_generator.predict(noise, batch_size=1024, verbose=0)

    def realness(self, encoded):
        """The discriminator's probability that each encoded row is real."""
        logits = self.discriminator.predict(encoded, batch_size=1024, verbose=0)[:, 0]
        return 1.0 / (1.0 + np.exp(-logits))


# --- Fidelity measures ----------------------------------------------------------------------------


def class_accuracies(dataset, synthetic, seed):
    """(TSTR, TRTR): a random forest trained on synthetic rows and tested on the real rows, and
    the same forest 5-fold cross-validated on the real rows (at most MEASURE_ROWS of each)."""
    encoder = common.TabularEncoder(dataset.features)
    real = common.at_most(dataset.frame, common.MEASURE_ROWS, seed)
    synthetic = common.at_most(synthetic, common.MEASURE_ROWS, seed)
    real_x = encoder.transform(real.drop(columns=dataset.class_column))
    real_y = real[dataset.class_column].astype(str)
    synthetic_x = encoder.transform(synthetic.drop(columns=dataset.class_column))
    synthetic_y = synthetic[dataset.class_column].astype(str)
    forest = RandomForestClassifier(random_state=seed, n_jobs=-1)
    tstr = forest.fit(synthetic_x, synthetic_y).score(real_x, real_y)
    splits = StratifiedKFold(5, shuffle=True, random_state=seed)
    trtr = cross_val_score(forest, real_x, real_y, cv=splits).mean()
    return float(tstr), float(trtr)


def copy_rate(real, synthetic):
    """Share of synthetic rows identical to some real row."""
    real_rows = set(real.astype(str).itertuples(index=False))
    rows = synthetic.astype(str).itertuples(index=False)
    return float(np.mean([row in real_rows for row in rows]))


# --- Training -------------------------------------------------------------------------------------


def train(dataset, encoder, epochs, seed, rng, quiet):
    """Fit the GAN; the generator of the last epoch is kept."""
    gan = TabularGAN(lambda: common.build_generator(NOISE_DIM, encoder),
                     common.build_mlp(encoder.width, name="discriminator"), seed)
    batch_size = min(BATCH_SIZE, len(dataset.frame))
    gan.compile(keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5, beta_2=0.9),
                keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5, beta_2=0.9), R1_WEIGHT,
                steps_per_execution=-(-len(dataset.frame) // batch_size))  # one call per epoch
    monitor = common.TrainingMonitor(quiet)
    training_rows = encoder.transform(dataset.frame, rng=rng)
    start = time.perf_counter()
    gan.fit(training_rows, epochs=epochs, batch_size=batch_size,
            shuffle=True, verbose=0, callbacks=[monitor])
    return gan, monitor.frame, time.perf_counter() - start


# --- Analysis -------------------------------------------------------------------------------------


JUDGES = {"discriminator": "the GAN's discriminator",
          "detector": "the two-sample classifier"}


def judge(scores, distances):
    """How one judge splits the examined rows (score: probability of being real): which rows
    fooled it (score >= 0.5), the EXAMPLES most and least convincing of each group, and the mean
    distance to the nearest real record of each group."""
    fooled = scores >= 0.5
    by_score = np.argsort(-scores, kind="stable")
    return {"fooled": fooled,
            "fooled_order": by_score[fooled[by_score]][:EXAMPLES],
            "not_fooled_order": by_score[~fooled[by_score]][::-1][:EXAMPLES],
            "distance_fooled": float(distances[fooled].mean()) if fooled.any() else None,
            "distance_not_fooled": float(distances[~fooled].mean()) if (~fooled).any() else None}


def example_table(samples, scores, real, nearest, distances, order, detector):
    """The chosen samples side by side with their nearest real records, with both judges'
    scores; `detector` names the judge that chose them."""
    chosen = samples.iloc[order].reset_index(drop=True)
    neighbours = real.iloc[nearest[order]].reset_index(drop=True).add_prefix("nearest_real_")
    table = pd.concat([chosen, neighbours], axis=1)
    table.insert(0, "distance", distances[order])
    for name in reversed(JUDGES):
        table.insert(0, f"{name}_score", scores[name][order])
    table.insert(0, "chosen_by", detector)
    return table


def lead_statistics(history):
    """Who led each epoch (the side with the lower loss), how often the lead changed, and by how
    much: the mean gap g_loss - d_loss over all epochs and over the last quarter."""
    gap = (history["g_loss"] - history["d_loss"]).to_numpy()
    discriminator_leads = gap > 0
    last_quarter = gap[-max(1, len(gap) // 4):]
    return {
        "lead_changes": int(np.count_nonzero(discriminator_leads[1:] != discriminator_leads[:-1])),
        "discriminator_lead_share": float(discriminator_leads.mean()),
        "mean_loss_gap": float(gap.mean()),
        "late_loss_gap": float(last_quarter.mean()),
    }


def plot_samples(encoder, real, fooled, not_fooled, path, seed):
    """PCA of the encoded real rows with the example samples of each judge (one panel each)
    and lines to their nearest real records."""
    real_x = encoder.transform(real)
    pca = PCA(2, random_state=seed).fit(real_x)
    points = pca.transform(real_x)
    figure, axes = common.plt.subplots(1, len(JUDGES), figsize=(11, 5.2), sharex=True,
                                       sharey=True)
    for axis, (detector, title) in zip(axes, JUDGES.items()):
        axis.scatter(points[:, 0], points[:, 1], s=8, c="lightgrey", label="real rows")
        for table, colour, label in ((fooled, "tab:green", "fooled it"),
                                     (not_fooled, "tab:red", "did not fool it")):
            table = table[table["chosen_by"] == detector]
            if table.empty:
                continue
            own = pca.transform(encoder.transform(table[real.columns]))
            neighbour = pca.transform(encoder.transform(
                table[[f"nearest_real_{c}" for c in real.columns]].set_axis(real.columns, axis=1)))
            for (x0, y0), (x1, y1) in zip(own, neighbour):
                axis.plot([x0, x1], [y0, y1], color=colour, linewidth=0.8, alpha=0.6)
            axis.scatter(own[:, 0], own[:, 1], s=40, c=colour, marker="X", label=label)
        axis.set_xlabel("principal component 1")
        axis.set_title(title[0].upper() + title[1:])
        axis.legend()
    axes[0].set_ylabel("principal component 2")
    figure.suptitle("Generated samples and their nearest real records (lines)")
    common.save_figure(figure, path)


def _key(detector, name):
    """The metrics key of a judge's number: the discriminator's keep their plain names."""
    return name if detector == "discriminator" else f"detector_{name}"


# --- Main -----------------------------------------------------------------------------------------


def analyse(gan, encoder, dataset, rng, seed):
    """The synthetic rows, both judges' verdicts on them (3a, 3b), and the fidelity measures."""
    real = dataset.frame
    synthetic_x = gan.sample(max(len(real), RANDOM_SAMPLES), rng)
    synthetic = encoder.inverse_transform(synthetic_x)
    # 3a looks at the first MEASURE_ROWS synthetic rows (all of them for the assignment's data)
    examined = synthetic.iloc[:common.MEASURE_ROWS]
    detector_auc, detector_scores = common.two_sample_test(encoder, real, examined, seed)
    scores = {"discriminator": gan.realness(synthetic_x[:len(examined)]),
              "detector": detector_scores.to_numpy()}
    (nearest, distances), (_, real_distances) = common.nearest_rows(
        encoder.transform(real), encoder.transform(examined), None)
    verdicts = {detector: judge(scores[detector], distances) for detector in JUDGES}
    tables = {label: pd.concat([example_table(examined, scores, real, nearest, distances,
                                              verdicts[detector][f"{label}_order"], detector)
                                for detector in JUDGES], ignore_index=True)
              for label in ("fooled", "not_fooled")}
    picked = rng.choice(len(examined), RANDOM_SAMPLES, replace=False)
    passed = {detector: scores[detector][picked] >= 0.5 for detector in JUDGES}
    random_samples = examined.iloc[picked].reset_index(drop=True)
    for detector in JUDGES:
        random_samples[f"{detector}_score"] = scores[detector][picked]
    random_samples["passed"] = passed["discriminator"]
    random_samples["passed_detector"] = passed["detector"]
    independent = common.independent_columns(real, len(real), rng)
    tstr, trtr = class_accuracies(dataset, synthetic, seed)
    metrics = {"synthetic_rows": len(synthetic), "examined_rows": len(examined),
               "detector_auc": detector_auc,
               "real_nearest_distance": float(real_distances.mean())}
    for detector, verdict in verdicts.items():
        fooled = verdict["fooled"]
        metrics.update({
            _key(detector, "passed_of_100"): int(passed[detector].sum()),
            _key(detector, "fooled_count"): int(fooled.sum()),
            _key(detector, "not_fooled_count"): int((~fooled).sum()),
            _key(detector, "mean_distance_fooled"): verdict["distance_fooled"],
            _key(detector, "mean_distance_not_fooled"): verdict["distance_not_fooled"],
            _key(detector, "score_min_of_100"): float(scores[detector][picked].min()),
            _key(detector, "score_max_of_100"): float(scores[detector][picked].max())})
    metrics.update({
        "c2st_auc": detector_auc,
        "tstr_accuracy": tstr,
        "trtr_accuracy": trtr,
        "copy_rate": copy_rate(real, synthetic),
        "column_shapes": common.column_shapes(real, synthetic),
        "independent_column_shapes": common.column_shapes(real, independent),
        "pair_trends": common.pair_trends(real, synthetic),
        "independent_pair_trends": common.pair_trends(real, independent),
    })
    return synthetic, tables, random_samples, metrics


def architecture(gan):
    """The networks that trained, as rows of the report's table."""
    return [common.describe_network(gan.generator, gan.g_optimizer, "G(Z): a row from noise",
                                    "heads"),
            common.describe_network(gan.discriminator, gan.d_optimizer, "D(row): real or not",
                                    "logit")]


def run_dataset(dataset, args):
    """Train on one dataset, analyse what the GAN made and write OUT/<dataset>/part1/."""
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    encoder = common.TabularEncoder(dataset.frame, numeric=SCALING)
    say(args.quiet, f"{dataset.name}: {len(dataset.frame)} rows, {encoder.width} encoded columns, "
                    f"{args.epochs} epochs")
    gan, history, train_seconds = train(dataset, encoder, args.epochs, args.seed, rng, args.quiet)
    real = dataset.frame
    synthetic, tables, random_samples, measured = analyse(gan, encoder, dataset, rng, args.seed)
    metrics = {
        **dataset.summary,
        **measured,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 2),
        **lead_statistics(history),
        "final_d_loss": float(history["d_loss"].iloc[-1]),
        "final_g_loss": float(history["g_loss"].iloc[-1]),
        "final_d_accuracy_real": float(history["d_accuracy_real"].iloc[-1]),
        "final_d_accuracy_fake": float(history["d_accuracy_fake"].iloc[-1]),
        "seed": args.seed,
        "architecture": architecture(gan),
        "settings": common.hyperparameters(globals(), args.epochs),
    }

    with common.output_folder(args.out, dataset.name, "part1") as folder:
        history.to_csv(folder / "losses.csv", index=False)
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: GAN losses per epoch")
        tables["fooled"].to_csv(folder / "fooled.csv", index=False)
        tables["not_fooled"].to_csv(folder / "not_fooled.csv", index=False)
        plot_samples(encoder, real, tables["fooled"], tables["not_fooled"],
                     folder / "samples.png", args.seed)
        random_samples.to_csv(folder / "samples_100.csv", index=False)
        synthetic.to_csv(folder / "synthetic.csv", index=False)
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        report.write_run_report(folder, "part1")
    say(args.quiet, f"{dataset.name}: c2st_auc {metrics['c2st_auc']:.3f}  tstr "
                    f"{metrics['tstr_accuracy']:.3f}  trtr {metrics['trtr_accuracy']:.3f}  column "
                    f"shapes {metrics['column_shapes']:.3f}  pair trends "
                    f"{metrics['pair_trends']:.3f} (independent columns "
                    f"{metrics['independent_pair_trends']:.3f})  -> "
                    f"{args.out}/{dataset.name}/part1/")
    return metrics


def main(argv=None):
    args, metrics = common.run_datasets(argv, __doc__.splitlines()[0], EPOCHS, run_dataset)
    report.write_report(args.out, args.quiet)
    return metrics


if __name__ == "__main__":
    common.run_script(main)
