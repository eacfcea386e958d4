"""Part 1: a GAN on a tabular ARFF dataset, and what it made.

python part1_gan.py --dataset diabetes   (or german_credit, or a path to an .arff file)

Every column, the class included, is modelled, so each synthetic row is a complete record.
Numbers are quantile-scaled to [-1, 1] (see common.TabularEncoder), the generator has one head per
column, and the discriminator is trained with the non-saturating GAN loss plus an R1 gradient penalty.
The epoch whose samples are hardest to tell from the real rows (a quick classifier two-sample test)
is kept. Results land in OUT/<dataset>/part1/.
"""

import time

import common  # first: it configures the Keras backend
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import say
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

NOISE_DIM = 32
HIDDEN_UNITS = (128, 128)
BATCH_SIZE = 128
LEARNING_RATE = 4e-4
R1_WEIGHT = 10.0
EPOCHS = 300
CHECKS = 15  # fidelity checks over the run, for keeping the best epoch
EXAMPLES = 10  # rows in fooled.csv and not_fooled.csv
RANDOM_SAMPLES = 100
LN2 = float(np.log(2.0))  # both losses at balance


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


class TabularGAN(keras.Model):
    """Generator and discriminator trained together by fit(): one discriminator step (logistic
    loss + R1 penalty on real rows) and one non-saturating generator step per batch."""

    def __init__(self, generator, discriminator, seed):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.noise_dim = generator.input_shape[-1]
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
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_objective, weights), weights))

        with tf.GradientTape() as tape:
            logits = self.discriminator(self.generator(self.noise(count), training=True))
            g_loss = tf.reduce_mean(tf.nn.softplus(-logits))
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))

        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["d_accuracy_real"].update_state(tf.cast(real_logits > 0, "float32"))
        self.trackers["d_accuracy_fake"].update_state(tf.cast(fake_logits < 0, "float32"))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def sample(self, count, rng):
        """Encoded synthetic rows from NumPy noise drawn with rng."""
        noise = rng.standard_normal((count, self.noise_dim)).astype("float32")
        return self.generator.predict(noise, batch_size=1024, verbose=0)

    def realness(self, encoded):
        """The discriminator's probability that each encoded row is real."""
        logits = self.discriminator.predict(encoded, batch_size=1024, verbose=0)[:, 0]
        return 1.0 / (1.0 + np.exp(-logits))


# ---------------------------------------------------------------------------
# Fidelity measures
# ---------------------------------------------------------------------------


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
    return float(np.mean([row in real_rows for row in synthetic.astype(str).itertuples(index=False)]))


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def train(dataset, encoder, epochs, seed, rng, quiet):
    """Fit the GAN, checking fidelity CHECKS times and restoring the best epoch's weights."""
    gan = TabularGAN(common.build_generator(NOISE_DIM, encoder, HIDDEN_UNITS),
                     common.build_mlp(encoder.width, HIDDEN_UNITS, name="discriminator"), seed)
    batch_size = min(BATCH_SIZE, len(dataset.frame))
    gan.compile(keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5, beta_2=0.9),
                keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5, beta_2=0.9), R1_WEIGHT,
                steps_per_execution=-(-len(dataset.frame) // batch_size))  # one call per epoch

    def quick_c2st():
        count = min(len(dataset.frame), common.MEASURE_ROWS)
        synthetic = encoder.inverse_transform(gan.sample(count, rng))
        return common.c2st_auc(encoder, dataset.frame, synthetic, seed, folds=3, rounds=50)

    monitor = common.TrainingMonitor(max(1, epochs // CHECKS), quiet, quick_c2st, "quick_c2st")
    training_rows = encoder.transform(dataset.frame, rng=rng)
    start = time.perf_counter()
    gan.fit(training_rows, epochs=epochs, batch_size=batch_size,
            shuffle=True, verbose=0, callbacks=[monitor])
    return gan, monitor.frame, monitor.best_epoch, time.perf_counter() - start


# ---------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------


def example_table(samples, scores, real, nearest, distances, order):
    """The chosen samples side by side with their nearest real records."""
    chosen = samples.iloc[order].reset_index(drop=True)
    neighbours = real.iloc[nearest[order]].reset_index(drop=True).add_prefix("nearest_real_")
    table = pd.concat([chosen, neighbours], axis=1)
    table.insert(0, "distance", distances[order])
    table.insert(0, "discriminator_score", scores[order])
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


def examples_markdown(fooled, not_fooled, columns, count=2):
    """A compact table: attributes down, the first count fooled and not-fooled samples across,
    each followed by its nearest real record."""
    header, table = [""], [["discriminator score"], ["distance"], *([c] for c in columns)]
    for label, examples in (("fooled", fooled), ("not fooled", not_fooled)):
        for index, row in examples.head(count).iterrows():
            header += [f"{label} {index + 1}", "nearest real"]
            sample = [row["discriminator_score"], row["distance"], *row[columns]]
            nearest = ["", "", *row[[f"nearest_real_{c}" for c in columns]]]
            for line, own, real in zip(table, sample, nearest):
                line += [own, real]
    return common.markdown_table(pd.DataFrame(table, columns=header))


def plot_samples(encoder, real, fooled, not_fooled, path, seed):
    """PCA of the encoded real rows with the example samples and lines to their nearest rows."""
    real_x = encoder.transform(real)
    pca = PCA(2, random_state=seed).fit(real_x)
    figure, axis = common.plt.subplots(figsize=(7, 6))
    points = pca.transform(real_x)
    axis.scatter(points[:, 0], points[:, 1], s=8, c="lightgrey", label="real rows")
    for table, colour, label in ((fooled, "tab:green", "fooled the discriminator"),
                                 (not_fooled, "tab:red", "did not fool it")):
        if table.empty:
            continue
        own = pca.transform(encoder.transform(table[real.columns]))
        neighbour = pca.transform(encoder.transform(
            table[[f"nearest_real_{c}" for c in real.columns]].set_axis(real.columns, axis=1)))
        for (x0, y0), (x1, y1) in zip(own, neighbour):
            axis.plot([x0, x1], [y0, y1], color=colour, linewidth=0.8, alpha=0.6)
        axis.scatter(own[:, 0], own[:, 1], s=40, c=colour, marker="X", label=label)
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.set_title("Generated samples and their nearest real records (lines)")
    axis.legend()
    common.save_figure(figure, path)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _distance_comparison(m):
    fooled, other = m["mean_distance_fooled"], m["mean_distance_not_fooled"]
    if fooled is None or other is None:
        return ("Only one of the two groups exists, so the distances cannot be compared "
                f"(mean distance {fooled if fooled is not None else other:.3f}).")
    change = (other - fooled) / other if other else 0.0
    if abs(change) < 0.05:
        verdict = "about as close to real records as the samples that did not fool it"
    elif change > 0:
        verdict = (f"closer to real records than the samples that did not fool it, by "
                   f"{100 * change:.0f}%")
    else:
        verdict = (f"farther from real records than the samples that did not fool it, by "
                   f"{-100 * change:.0f}%")
    return (f"The samples that fooled the discriminator are {verdict}: mean Euclidean distance to "
            f"the nearest real record {fooled:.3f} against {other:.3f} (encoded space, where "
            "numbers span [-1, 1] and a different category adds 1.41).")


def _score_spread(m):
    low, high = m["score_min_of_100"], m["score_max_of_100"]
    if high - low < 0.05:
        return ("the discriminator is nearly indifferent, so which samples pass is close to a coin "
                "toss and the count mostly says on which side of 0.5 its slight bias falls. A "
                "generator it cannot tell from the data at all would pass about half.")
    return ("the discriminator separates them clearly. A generator it cannot tell from the data "
            "at all would pass about half.")


def _lead_analysis(m):
    share = m["discriminator_lead_share"]
    leader, led = ("the discriminator", share) if share >= 0.5 else ("the generator", 1 - share)
    gap, late = abs(m["mean_loss_gap"]), abs(m["late_loss_gap"])
    size = "slight" if gap < 0.01 else "clear" if gap < 0.1 else "large"
    steady = ("a steady lead" if led >= 0.8 else
              "a lead that went back and forth" if led < 0.6 else "a lead held most of the time")
    drift = max(abs(m["final_d_loss"] - LN2), abs(m["final_g_loss"] - LN2))
    balance = (f"Both losses ended within {drift:.4f} of ln 2 = 0.693, the value both take when "
               "the discriminator gives every row 0.5: the game stayed near its equilibrium, "
               "the discriminator's outputs close to 0.5 even where it is right"
               if drift < 0.02 else
               f"The final losses (discriminator {m['final_d_loss']:.3f}, generator "
               f"{m['final_g_loss']:.3f}) are away from ln 2 = 0.693: one side was winning")
    changes = {0: "never changed", 1: "changed once"}.get(m["lead_changes"],
                                                        f"changed {m['lead_changes']} times")
    return (f"{leader[0].upper() + leader[1:]} had the lower loss in {100 * led:.0f}% of the "
            f"epochs and the lead {changes}: {steady}. The lead was {size}: "
            f"the generator's loss was {'above' if m['mean_loss_gap'] > 0 else 'below'} the "
            f"discriminator's by {gap:.4f} on average ({100 * gap / LN2:.1f}% of ln 2), and by "
            f"{late:.4f} over the last quarter of training. {balance} (its accuracy at the end: "
            f"{m['final_d_accuracy_real']:.2f} on real rows, {m['final_d_accuracy_fake']:.2f} on "
            "generated rows).")


def write_report(path, name, metrics, examples):
    m = metrics
    text = f"""# Part 1 — GAN on `{name}`

Seed {m['seed']}, {m['epochs']} epochs; the weights of epoch {m['best_epoch']} (best quick
two-sample test) were kept. {m['synthetic_rows']} synthetic rows were made, as many as the dataset
has.

## 3a. Samples that fooled the discriminator and samples that did not

Of {m['examined_rows']} synthetic rows, {m['fooled_count']} fooled the discriminator (score ≥ 0.5)
and {m['not_fooled_count']} did not. The two most convincing and the two least convincing, each
beside its nearest real record (all {m['examples_fooled']} and {m['examples_not_fooled']}:
`fooled.csv`, `not_fooled.csv`):

{examples}

{_distance_comparison(m)}

![the most and least convincing samples (crosses) and lines to their nearest real records, on the
first two principal components of the real rows](samples.png)

## 3b. 100 random samples

{m['passed_of_100']} of 100 random samples passed as real (discriminator score ≥ 0.5,
`samples_100.csv`). Their scores range {m['score_min_of_100']:.3f}–{m['score_max_of_100']:.3f}:
{_score_spread(m)}

## 3c. Losses: who led

{_lead_analysis(m)}

![losses and discriminator accuracy per epoch; the dashed line marks the kept epoch](losses.png)

## Fidelity of the synthetic rows

- Classifier two-sample test ROC-AUC: {m['c2st_auc']:.3f} (0.5 = indistinguishable, 1.0 = trivially
  fake)
- Train on synthetic, test on real accuracy: {m['tstr_accuracy']:.3f} (train and test on real,
  5-fold: {m['trtr_accuracy']:.3f})
- Synthetic rows identical to a real row: {100 * m['copy_rate']:.1f}%
"""
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv=None):
    parser = common.command_line(__doc__.splitlines()[0], "diabetes, german_credit or a path to an "
                                 ".arff file", epochs_default=EPOCHS)
    args = parser.parse_args(argv)
    dataset = common.load_dataset(args.dataset, args.class_name, args.quiet)
    common.check_writable(args.out)
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    encoder = common.TabularEncoder(dataset.frame, numeric="quantile")
    say(args.quiet, f"{dataset.name}: {len(dataset.frame)} rows, {encoder.width} encoded columns, "
                    f"{args.epochs} epochs")
    gan, history, best_epoch, train_seconds = train(dataset, encoder, args.epochs, args.seed, rng,
                                                    args.quiet)

    real = dataset.frame
    synthetic_x = gan.sample(len(real), rng)
    synthetic = encoder.inverse_transform(synthetic_x)
    # 3a looks at the first MEASURE_ROWS synthetic rows (all of them for the assignment's data)
    examined = synthetic.iloc[:common.MEASURE_ROWS]
    scores = gan.realness(synthetic_x[:common.MEASURE_ROWS])
    [(nearest, distances)] = common.nearest_rows(encoder.transform(real),
                                                 encoder.transform(examined))
    fooled = scores >= 0.5
    by_score = np.argsort(-scores, kind="stable")
    fooled_order = by_score[fooled[by_score]][:EXAMPLES]
    not_fooled_order = by_score[~fooled[by_score]][::-1][:EXAMPLES]
    random_x = gan.sample(RANDOM_SAMPLES, rng)
    random_samples = encoder.inverse_transform(random_x)
    random_samples["discriminator_score"] = gan.realness(random_x)
    random_samples["passed"] = random_samples["discriminator_score"] >= 0.5
    tstr, trtr = class_accuracies(dataset, synthetic, args.seed)
    metrics = {
        "dataset": dataset.name,
        "class_column": dataset.class_column,
        "passed_of_100": int(random_samples["passed"].sum()),
        "synthetic_rows": len(synthetic),
        "examined_rows": len(examined),
        "fooled_count": int(fooled.sum()),
        "not_fooled_count": int((~fooled).sum()),
        "examples_fooled": len(fooled_order),
        "examples_not_fooled": len(not_fooled_order),
        "mean_distance_fooled": float(distances[fooled].mean()) if fooled.any() else None,
        "mean_distance_not_fooled": float(distances[~fooled].mean()) if (~fooled).any() else None,
        "best_epoch": best_epoch,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 2),
        **lead_statistics(history),
        "final_d_loss": float(history["d_loss"].iloc[-1]),
        "final_g_loss": float(history["g_loss"].iloc[-1]),
        "final_d_accuracy_real": float(history["d_accuracy_real"].iloc[-1]),
        "final_d_accuracy_fake": float(history["d_accuracy_fake"].iloc[-1]),
        "score_min_of_100": float(random_samples["discriminator_score"].min()),
        "score_max_of_100": float(random_samples["discriminator_score"].max()),
        "c2st_auc": common.c2st_auc(encoder, real, synthetic, args.seed),
        "tstr_accuracy": tstr,
        "trtr_accuracy": trtr,
        "copy_rate": copy_rate(real, synthetic),
        "seed": args.seed,
    }

    with common.output_folder(args.out, dataset.name, "part1") as folder:
        history.to_csv(folder / "losses.csv", index=False)
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: GAN losses per epoch",
                            kept_epoch=best_epoch)
        fooled_table = example_table(examined, scores, real, nearest, distances, fooled_order)
        not_fooled_table = example_table(examined, scores, real, nearest, distances,
                                         not_fooled_order)
        fooled_table.to_csv(folder / "fooled.csv", index=False)
        not_fooled_table.to_csv(folder / "not_fooled.csv", index=False)
        plot_samples(encoder, real, fooled_table, not_fooled_table, folder / "samples.png",
                     args.seed)
        random_samples.to_csv(folder / "samples_100.csv", index=False)
        synthetic.to_csv(folder / "synthetic.csv", index=False)
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        write_report(folder / "report.md", dataset.name, metrics,
                     examples_markdown(fooled_table, not_fooled_table, list(real.columns)))
    common.write_combined_report(args.out, args.quiet)
    say(args.quiet, f"{dataset.name}: c2st_auc {metrics['c2st_auc']:.3f}  tstr "
                    f"{metrics['tstr_accuracy']:.3f}  trtr {metrics['trtr_accuracy']:.3f}  copy_rate "
                    f"{metrics['copy_rate']:.3f}  -> {args.out}/{dataset.name}/part1/")
    return metrics


if __name__ == "__main__":
    common.run_script(main)
