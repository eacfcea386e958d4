"""Part 2: a confidence-conditioned generator against a random-forest black box.

python part2_bbgan.py   (both datasets; or --dataset diabetes|german_credit|PATH.arff)

A random forest is trained on 70% of the real rows; from then on it is a black box. The generator
gets noise Z and a desired confidence C and makes a row; the forest scores it (Y); the
discriminator sees the row with C and Y in random order and must say which one the forest gave.
The forest is not differentiable, so a surrogate network is fitted online to the forest's answers
on every query (the generator's rows, random rows of the schema, jittered rows, and mutations of
the best-scoring rows found so far), and the generator follows the surrogate's gradient while the
true Y is used in the forward pass. A penalty keeps rows that share one C apart in every feature.
No real row reaches the generator, the discriminator or the surrogate: they know only the schema
(columns, types, categories, ranges) and the forest's answers. Results land in OUT/<dataset>/part2/.
"""

import time

import common  # first: it configures the Keras backend
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import say
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

NOISE_DIM = 16
HIDDEN_UNITS = (128, 128)
SURROGATE_UNITS = (256, 256)
BATCH_SIZE = 256
BATCHES_PER_EPOCH = 16
EPOCHS = 60
LEARNING_RATE = 3e-3
ADVERSARIAL_WEIGHT = 0.1
DIVERSITY_WEIGHT = 0.3
MIN_SPREAD = 0.35
GROUPS = 16
GROUP_SIZE = 16
LOGIT_LIMIT = 3.0
SIDE_WEIGHT = 3.0
SIDE_MARGIN = 0.05
JITTER = 0.2
ELITE_SIZE = 256
MUTANTS = 64
MUTATION = 0.1
CHECKS = 15
SAMPLES = 1000
POSITIVE = {"diabetes": "tested_positive", "german_credit": "bad"}


# ---------------------------------------------------------------------------
# Black box
# ---------------------------------------------------------------------------


class BlackBox:
    """A random forest trained on a stratified 70/30 split; it scores encoded rows by decoding
    them and encoding them again exactly as its training rows were encoded."""

    def __init__(self, dataset, encoder, seed):
        self.encoder = encoder
        classes = list(dataset.labels.cat.categories)
        self.positive = POSITIVE.get(dataset.name, classes[1])
        is_positive = (dataset.labels == self.positive).to_numpy()
        features = encoder.transform(dataset.features)
        train_x, test_x, train_y, self.test_y = train_test_split(
            features, is_positive, test_size=0.3, stratify=is_positive, random_state=seed)
        self.forest = RandomForestClassifier(random_state=seed, n_jobs=-1).fit(train_x, train_y)
        self.forest.n_jobs = 1  # scoring small batches is faster without worker start-up
        self.test_confidence = self.forest.predict_proba(test_x)[:, 1]
        self.multiclass = len(classes) > 2

    def confidence(self, encoded):
        """The forest's probability of the positive class for encoded (generated) rows."""
        rows = self.encoder.transform(self.encoder.inverse_transform(encoded))
        return self.forest.predict_proba(rows)[:, 1].astype("float32")

    def summary(self):
        confidence = self.test_confidence
        return {
            "positive_class": self.positive,
            "one_vs_rest": self.multiclass,
            "test_rows": len(self.test_y),
            "accuracy": float(accuracy_score(self.test_y, confidence >= 0.5)),
            "roc_auc": float(roc_auc_score(self.test_y, confidence)),
            "test_confidence": {"min": float(confidence.min()), "max": float(confidence.max()),
                                "mean": float(confidence.mean()), "std": float(confidence.std())},
        }


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


class BlackBoxGAN(keras.Model):
    """Generator, discriminator and surrogate, trained by fit() on batches of desired
    confidences. Each step queries the black box once, through tf.numpy_function."""

    def __init__(self, encoder, blackbox, seed):
        super().__init__()
        self.encoder = encoder
        self.blackbox = blackbox
        # The generator sees Z, C and which class C asks for (C >= 0.5): a step it could not
        # easily learn from C alone, and the one the class agreement depends on.
        inputs = keras.Input((NOISE_DIM + 1,))
        asks_positive = keras.ops.cast(inputs[:, -1:] >= 0.5, "float32")
        soft = common.build_generator(NOISE_DIM + 2, encoder, HIDDEN_UNITS,
                                      logit_limit=LOGIT_LIMIT)(
            keras.ops.concatenate([inputs, asks_positive], axis=1))
        self.snap = common.SnapToRecords(encoder)
        self.soft_generator = keras.Model(inputs, soft, name="soft_generator")
        self.generator = keras.Model(inputs, self.snap(soft), name="generator")
        self.discriminator = common.build_mlp(encoder.width + 2, HIDDEN_UNITS, name="discriminator")
        self.surrogate = common.build_mlp(encoder.width, SURROGATE_UNITS, name="surrogate")
        self.schema_variance, self.varies, self.members, self.nominal = schema_variance(encoder)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.elite_rows = self.add_weight(shape=(ELITE_SIZE, encoder.width), initializer="zeros",
                                          trainable=False, name="elite_rows")
        self.elite_answers = self.add_weight(  # -1: replaced by the first real answers
            shape=(ELITE_SIZE,), initializer=keras.initializers.Constant(-1.0), trainable=False,
            name="elite_answers")
        names = ["d_loss", "d_accuracy", "g_loss", "surrogate_loss", "batch_mae"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, total_steps, steps_per_execution=1):
        super().compile(steps_per_execution=steps_per_execution)
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, total_steps, alpha=0.05)
        self.g_optimizer = keras.optimizers.Adam(schedule, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5)
        self.s_optimizer = keras.optimizers.Adam(LEARNING_RATE)

    def generate(self, noise, desired, training=False, soft=False):
        model = self.soft_generator if soft else self.generator
        return model(keras.ops.concatenate([noise, desired], axis=1), training=training)

    def random_rows(self, count):
        """Rows drawn uniformly from the schema: numbers anywhere in range, any category."""
        uniform = keras.random.uniform((count, self.encoder.width), -1.0, 1.0,
                                       seed=self.seed_generator)
        return self.snap(uniform)

    def jittered(self, rows, stddev):
        """Rows moved by Gaussian noise and snapped back to exact records of the schema."""
        jitter = keras.random.normal(keras.ops.shape(rows), stddev=stddev, seed=self.seed_generator)
        return self.snap(keras.ops.clip(rows + jitter, -1.0, 1.0))

    def nearby_rows(self, rows):
        """The generator's rows, jittered: they teach the surrogate the forest's local shape."""
        return self.jittered(rows, JITTER)

    def mutants(self):
        """Jittered copies of the highest-scoring rows queried so far: a search that climbs
        towards the confidences the forest rarely gives."""
        chosen = keras.random.randint((MUTANTS,), 0, ELITE_SIZE, seed=self.seed_generator)
        return self.jittered(tf.gather(self.elite_rows, chosen), MUTATION)

    def remember(self, rows, answers):
        """Keep the ELITE_SIZE highest-scoring rows among the elite and the new queries."""
        pool_rows = tf.concat([self.elite_rows, rows], axis=0)
        pool_answers = tf.concat([self.elite_answers, answers[:, 0]], axis=0)
        best = tf.math.top_k(pool_answers, ELITE_SIZE).indices
        self.elite_rows.assign(tf.gather(pool_rows, best))
        self.elite_answers.assign(tf.gather(pool_answers, best))

    def query(self, rows):
        confidence = tf.numpy_function(self.blackbox.confidence, [rows], tf.float32)
        return tf.reshape(confidence, (-1, 1))

    def judge(self, rows, desired, answered, swap):
        """Discriminator logit that the first of the two scalars is the black box's answer."""
        first = tf.where(swap, answered, desired)
        second = tf.where(swap, desired, answered)
        return self.discriminator(tf.concat([rows, first, second], axis=1))

    def train_step(self, desired):
        count = tf.shape(desired)[0]
        noise = keras.random.normal((count, NOISE_DIM), seed=self.seed_generator)
        rows = self.generate(noise, desired)
        queries = tf.concat([rows, self.random_rows(count // 4),
                             self.nearby_rows(rows[: count - count // 4]), self.mutants()],
                            axis=0)
        answers = self.query(queries)
        self.remember(queries, answers)
        answered = answers[:count]

        with tf.GradientTape() as tape:
            s_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                answers, self.surrogate(queries, training=True)))
        self._step(self.s_optimizer, tape, s_loss, self.surrogate)

        swap = keras.random.uniform((count, 1), seed=self.seed_generator) < 0.5
        label = tf.cast(swap, "float32")
        with tf.GradientTape() as tape:
            logits = self.judge(rows, desired, answered, swap)
            d_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(label, logits))
        self._step(self.d_optimizer, tape, d_loss, self.discriminator)

        group_desired = tf.repeat(desired[:GROUPS], GROUP_SIZE, axis=0)
        group_noise = keras.random.normal((GROUPS * GROUP_SIZE, NOISE_DIM),
                                          seed=self.seed_generator)
        with tf.GradientTape() as tape:
            rows = self.generate(noise, desired, training=True)
            smooth = tf.sigmoid(self.surrogate(rows))
            estimate = smooth + tf.stop_gradient(answered - smooth)  # true Y, surrogate gradient
            fit_loss = tf.reduce_mean(tf.abs(estimate - desired))
            side = tf.sign(desired - 0.5 + 1e-6)  # which class C asks for
            wrong_side = tf.reduce_mean(tf.nn.relu(SIDE_MARGIN - side * (estimate - 0.5)))
            fooled = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                1.0 - label, self.judge(rows, desired, estimate, swap)))
            too_close = self.too_close(self.generate(group_noise, group_desired, training=True,
                                                     soft=True))
            g_loss = (fit_loss + SIDE_WEIGHT * wrong_side + ADVERSARIAL_WEIGHT * fooled
                      + DIVERSITY_WEIGHT * too_close)
        self._step(self.g_optimizer, tape, g_loss, self.generator)

        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["d_accuracy"].update_state(tf.cast((logits > 0) == swap, "float32"))
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["surrogate_loss"].update_state(s_loss)
        self.trackers["batch_mae"].update_state(tf.abs(answered - desired))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def too_close(self, soft_rows):
        """How far each feature's variance within groups of rows that share one C falls short of
        MIN_SPREAD**2 times the variance of uniform rows of the schema. A nominal feature's
        variance is the Gini impurity of the categories the group picks, sum of q(1 - q); its
        straight-through gradient is not zero even when the whole group picks one category."""
        soft = tf.reshape(soft_rows, (GROUPS, GROUP_SIZE, -1))
        share = tf.reduce_mean(tf.reshape(self.snap(soft_rows), (GROUPS, GROUP_SIZE, -1)), axis=1)
        per_column = tf.where(self.nominal, share * (1.0 - share),
                              tf.math.reduce_variance(soft, axis=1))
        variance = tf.matmul(per_column, self.members) / self.schema_variance
        shortfall = tf.nn.relu(MIN_SPREAD ** 2 - variance)
        return tf.reduce_mean(tf.boolean_mask(shortfall, self.varies, axis=1))

    @staticmethod
    def _step(optimizer, tape, loss, model):
        weights = model.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))

    def sample(self, desired, rng):
        """Encoded rows for the desired confidences, from NumPy noise drawn with rng."""
        noise = rng.standard_normal((len(desired), NOISE_DIM)).astype("float32")
        inputs = np.hstack([noise, np.asarray(desired, dtype="float32").reshape(-1, 1)])
        return self.generator.predict(inputs, batch_size=1024, verbose=0)


def schema_variance(encoder):
    """For each feature, the variance of rows drawn uniformly from the schema (a number anywhere
    in its range: 1/3 in [-1, 1]; any category equally likely: Gini impurity 1 - 1/k), whether
    it varies at all, the matrix that sums encoded columns into features, and which encoded
    columns are categories."""
    members = np.zeros((encoder.width, len(encoder.columns)), dtype="float32")
    variance = np.zeros(len(encoder.columns), dtype="float32")
    for index, spec in enumerate(encoder.columns):
        members[spec.offset:spec.end, index] = 1.0
        if spec.kind == "nominal":
            variance[index] = 1.0 - 1.0 / spec.width
        elif spec.high > spec.low:
            variance[index] = 1.0 / 3.0
    varies = variance > 0
    nominal = np.concatenate([[spec.kind == "nominal"] * spec.width for spec in encoder.columns])
    return np.where(varies, variance, 1.0).astype("float32"), varies, members, nominal


def train(encoder, blackbox, epochs, seed, rng, quiet):
    """Train on desired confidences only; keep the epoch with the lowest error on a probe set.
    Takes the schema (encoder) and the black box: no real rows."""
    gan = BlackBoxGAN(encoder, blackbox, seed)
    gan.compile(epochs * BATCHES_PER_EPOCH, steps_per_execution=BATCHES_PER_EPOCH)
    probe = rng.uniform(size=SAMPLES).astype("float32")
    probe_rng_state = rng.bit_generator.state

    def probe_error():
        probe_rng = np.random.default_rng()
        probe_rng.bit_generator.state = probe_rng_state
        rows = gan.sample(probe, probe_rng)
        collapsed = len(np.unique(rows.round(6), axis=0)) < 0.99 * len(rows)
        return np.abs(blackbox.confidence(rows) - probe).mean() + (1.0 if collapsed else 0.0)

    monitor = common.TrainingMonitor(max(1, epochs // CHECKS), quiet, probe_error, "probe_mae")
    desired = rng.uniform(size=(BATCH_SIZE * BATCHES_PER_EPOCH, 1)).astype("float32")
    start = time.perf_counter()
    gan.fit(desired, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0,
            callbacks=[monitor])
    return gan, monitor.frame, monitor.best_epoch, time.perf_counter() - start


# ---------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------


def diversity(encoded, real_encoded):
    """Mean per-feature standard deviation of the samples relative to the real rows'."""
    real_std = real_encoded.std(axis=0)
    varying = real_std > 0
    return float((encoded.std(axis=0)[varying] / real_std[varying]).mean())


def bin_index(confidence):
    """Which 0.1-wide bin of [0, 1] each confidence falls in (1.0 goes to the last)."""
    return np.clip((np.asarray(confidence) * 10).astype(int), 0, 9)


def confidence_bins(desired, answered, encoded, real_encoded, test_confidence):
    """Per 0.1-wide bin of desired confidence: count, error, class agreement, diversity, and the
    share of the forest's test-row confidences that fall in the bin."""
    edges = np.linspace(0.0, 1.0, 11)
    which, test_which = bin_index(desired), bin_index(test_confidence)
    rows = []
    for index in range(10):
        inside = which == index
        error = np.abs(desired[inside] - answered[inside])
        rows.append({
            "bin": f"{edges[index]:.1f}-{edges[index + 1]:.1f}",
            "count": int(inside.sum()),
            "mae": float(error.mean()) if inside.any() else None,
            "class_agreement": float(((desired[inside] >= 0.5) == (answered[inside] >= 0.5)).mean())
            if inside.any() else None,
            "mean_blackbox_confidence": float(answered[inside].mean()) if inside.any() else None,
            "diversity": diversity(encoded[inside], real_encoded) if inside.sum() > 1 else None,
            "test_share": float((test_which == index).mean()),
        })
    return pd.DataFrame(rows)


def plot_test_confidence(confidence, positive, path, title):
    figure, axis = common.plt.subplots(figsize=(7, 4))
    axis.hist(confidence, bins=20, range=(0, 1), color="tab:blue", edgecolor="white")
    axis.set_xlabel(f"forest confidence (probability of {positive!r})")
    axis.set_ylabel("test rows")
    axis.set_title(title)
    common.save_figure(figure, path)


def plot_scatter(desired, answered, path, title):
    figure, axis = common.plt.subplots(figsize=(6, 6))
    axis.scatter(desired, answered, s=6, alpha=0.5)
    axis.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="Y = C")
    axis.set_xlabel("desired confidence C")
    axis.set_ylabel("black-box confidence Y")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_title(title)
    axis.legend()
    common.save_figure(figure, path)


def plot_score_distribution(answered, positive, path, title):
    figure, axis = common.plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 21)
    axis.hist(answered[answered >= 0.5], bins=bins, color="tab:red",
              label=f"classified {positive!r} (Y >= 0.5)")
    axis.hist(answered[answered < 0.5], bins=bins, color="tab:blue", label="classified as the other")
    axis.set_xlabel("black-box confidence Y")
    axis.set_ylabel("generated samples")
    axis.set_title(title)
    axis.legend()
    common.save_figure(figure, path)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def write_report(path, name, box, metrics, bins):
    m = metrics
    filled = bins[bins["count"] > 0]
    best, worst = filled.loc[filled["mae"].idxmin()], filled.loc[filled["mae"].idxmax()]
    low_diversity = filled[filled["diversity"] < 0.3]["bin"].tolist()
    narrowest = filled.loc[filled["diversity"].idxmin(), "bin"]
    collapse = ("no sign of mode collapse: every bin keeps at least 30% of the real data's spread"
                if not low_diversity and m["unique_rows"] >= 990 else
                f"signs of collapse (unique rows {m['unique_rows']}, low spread in bins "
                f"{', '.join(low_diversity) or 'none'})")
    classes = m["mae_by_class"]
    text = f"""# Part 2 — generator against the random-forest black box on `{name}`

Confidence is the forest's probability of the class `{box['positive_class']}`.

## 4a. The black box

Random forest on a stratified 70/30 split: accuracy {box['accuracy']:.3f}, ROC-AUC
{box['roc_auc']:.3f} on the {box['test_rows']} test rows. Its confidence on them ranges
{box['test_confidence']['min']:.2f}–{box['test_confidence']['max']:.2f}
(mean {box['test_confidence']['mean']:.2f}, std {box['test_confidence']['std']:.2f}).

![test confidence](test_confidence.png)

## 4b. 1000 generated samples

`generated_1000.csv`: C drawn uniformly from [0, 1]; Y is the forest's score of the decoded row.
Mean |C − Y| = {m['mae']:.4f}, MSE = {m['mse']:.4f}; in {100 * m['class_agreement']:.1f}% of the
samples the forest's class (Y ≥ 0.5) is the one C asked for. The generator reached forest
confidences from {m['reachable_min']:.2f} to {m['reachable_max']:.2f}.

![C against Y](confidence_scatter.png)

## 4c. Which classes and ranges worked better

Mean |C − Y| for samples that asked for `{box['positive_class']}` (C ≥ 0.5): {classes['positive']:.4f};
for the other class (C < 0.5): {classes['negative']:.4f}. By range of C (`confidence_bins.csv`),
the best bin is {best['bin']} (mean |C − Y| {best['mae']:.4f}) and the worst {worst['bin']}
({worst['mae']:.4f}). The forest puts {100 * best['test_share']:.1f}% of its test rows in
{best['bin']} and {100 * worst['test_share']:.1f}% in {worst['bin']} (column `test_share`); on the
test rows its confidence has mean {box['test_confidence']['mean']:.2f} and never exceeds
{box['test_confidence']['max']:.2f}. Confidences the forest hardly ever gives on real data lie in
small pockets of the space (where nearly all trees agree), so they are the hardest to hit: the
generator finds them only through the search described below, and the error is largest there.

![scores](score_distribution.png)

## 4d. Collapse

{m['unique_rows']} of {SAMPLES} generated rows are distinct; the spread of the samples is
{m['diversity']['overall']:.2f} of the real data's (mean per-feature standard deviation ratio),
between {m['diversity_min_bin']:.2f} (bin {narrowest}) and {m['diversity_max_bin']:.2f} across C
bins: {collapse}.

## How the generator learns from a black box

The forest has no gradient, so a surrogate network is fitted online (binary cross-entropy) to the
forest's answers on the generator's queries, on random rows of the schema, on jittered copies of
the generator's rows, and on mutations of the {ELITE_SIZE} highest-scoring rows queried so far (a
small search that climbs to the confidences the forest rarely gives). The generator takes the
surrogate's gradient while its loss uses the forest's true Y (straight-through): |Y − C|, a
hinge that keeps Y on the class side C asks for (the generator also sees that side, C ≥ 0.5, as an
input), the adversarial loss against the discriminator, and a penalty when rows made from
different noise with the same C vary less than {MIN_SPREAD} of a uniform row's spread in any
feature. The discriminator sees the row with C and Y in random order and learns which is the
forest's; it ends near chance when the generator's Y is close to C. No real row is used in
training.

## Training

{m['epochs']} epochs in {m['train_seconds']:.1f} s, weights of epoch {m['best_epoch']} kept (lowest
error on a fixed probe set of desired confidences).

![losses](losses.png)
"""
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def run_dataset(dataset, args):
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    encoder = common.TabularEncoder(common.schema_frame(dataset.features))
    box = BlackBox(dataset, encoder, args.seed)
    summary = box.summary()
    say(args.quiet, f"{dataset.name}: black box accuracy {summary['accuracy']:.3f}, ROC-AUC "
                    f"{summary['roc_auc']:.3f}, confidence of {box.positive!r}")
    gan, history, best_epoch, train_seconds = train(encoder, box, args.epochs, args.seed, rng,
                                                    args.quiet)

    desired = rng.uniform(size=SAMPLES)
    encoded = gan.sample(desired, rng)
    answered = box.confidence(encoded).astype(float)
    generated = encoder.inverse_transform(encoded)
    generated["desired_confidence"] = desired
    generated["blackbox_confidence"] = answered
    real_encoded = encoder.transform(dataset.features)
    bins = confidence_bins(desired, answered, encoded, real_encoded, box.test_confidence)
    error = np.abs(desired - answered)
    asks_positive = desired >= 0.5
    filled = bins[bins["count"] > 0]
    metrics = {
        "dataset": dataset.name,
        "mae": float(error.mean()),
        "mse": float((error ** 2).mean()),
        "class_agreement": float((asks_positive == (answered >= 0.5)).mean()),
        "mae_by_class": {"positive": float(error[asks_positive].mean()),
                         "negative": float(error[~asks_positive].mean())},
        "mae_by_bin": dict(zip(filled["bin"], filled["mae"])),
        "unique_rows": int(len(generated.drop(columns=["desired_confidence",
                                                       "blackbox_confidence"]).drop_duplicates())),
        "diversity": {"overall": diversity(encoded, real_encoded),
                      **dict(zip(filled["bin"], filled["diversity"]))},
        "diversity_min_bin": float(filled["diversity"].min()),
        "diversity_max_bin": float(filled["diversity"].max()),
        "reachable_min": float(answered.min()),
        "reachable_max": float(answered.max()),
        "best_epoch": best_epoch,
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 2),
        "seed": args.seed,
    }

    with common.output_folder(args.out, dataset.name, "part2") as folder:
        common.write_json(folder / "blackbox.json", summary)
        plot_test_confidence(box.test_confidence, box.positive, folder / "test_confidence.png",
                             f"{dataset.name}: forest confidence on the 30% test rows")
        generated.to_csv(folder / "generated_1000.csv", index=False)
        bins.to_csv(folder / "confidence_bins.csv", index=False)
        plot_scatter(desired, answered, folder / "confidence_scatter.png",
                     f"{dataset.name}: desired vs black-box confidence")
        plot_score_distribution(answered, box.positive, folder / "score_distribution.png",
                                f"{dataset.name}: forest scores of {SAMPLES} generated samples")
        history.to_csv(folder / "losses.csv", index=False)
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: training per epoch",
                            kept_epoch=best_epoch)
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        write_report(folder / "report.md", dataset.name, summary, metrics, bins)
    say(args.quiet, f"{dataset.name}: mae {metrics['mae']:.4f}  class agreement "
                    f"{metrics['class_agreement']:.3f}  unique rows {metrics['unique_rows']}  "
                    f"diversity {metrics['diversity_min_bin']:.2f}+  -> "
                    f"{args.out}/{dataset.name}/part2/")
    return metrics


def main(argv=None):
    parser = common.command_line(__doc__.splitlines()[0], "all (default), diabetes, german_credit "
                                 "or a path to an .arff file", dataset_default="all",
                                 epochs_default=EPOCHS)
    args = parser.parse_args(argv)
    names = list(common.DATASETS) if args.dataset.strip().lower() == "all" else [args.dataset]
    datasets = [common.load_dataset(name, args.quiet) for name in names]
    common.check_writable(args.out)
    return {dataset.name: run_dataset(dataset, args) for dataset in datasets}


if __name__ == "__main__":
    common.run_script(main)
