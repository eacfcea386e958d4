"""Part 2: a confidence-conditioned generator against a random-forest black box.

python part2_bbgan.py   (both datasets; or --dataset diabetes|german_credit|PATH.arff)

A random forest on a 70/30 split is a black box that answers only with its confidence (the
probability of the second declared class); no real row reaches any network. A prior comes from
where the answer changes along scans of each number. G(Z, C) learns by fooling figure 1's
discriminator, which reads a row with C and Y in random order (prior rows with a decoy C too)
and says which one the box gave, and a realism critic, until its held-out mean |C - Y| stops
improving. Results land in OUT/<dataset>/part2/.
"""

import time
from dataclasses import dataclass

import common  # first: it configures the Keras backend
import report
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from common import setting
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split


@dataclass(frozen=True)
class Settings:
    """Every constant of Part 2 (`--set NAME=VALUE` changes one)."""

    NOISE_DIM: int = setting(16, "length of Z")
    GROUPS: int = setting(64, "Cs per step")
    GROUP_SIZE: int = setting(4, "rows per C")
    EPOCHS: int = setting(200, "most epochs")
    PATIENCE: int = setting(10, "epochs to improve in")
    MIN_IMPROVEMENT: float = setting(0.002, "least improvement")
    LEARNING_RATE: float = setting(2e-3, "Adam's step")
    EMA: float = setting(0.99, "decay of the averaged generator")
    ADVERSARIAL_WEIGHT: float = setting(1.0, "discriminator's weight in G's loss")
    REALISM_WEIGHT: float = setting(0.3, "critic's weight in G's loss")
    ANSWER_WEIGHT: float = setting(4.0, "answer head's weight in D's loss")
    JUDGED_PRIOR: int = setting(3, "prior rows D judges per generated row")
    NEARER_RULE: bool = setting(False, "verdict: nearer scalar (true) or learned")
    SAMPLES: int = setting(1000, "draws of 4b; held-out pairs")
    BINS: int = setting(10, "ranges of C")
    BASELINE_DRAWS: int = setting(6, "uniform draws for the baseline")
    SCAN_ROWS: int = setting(200, "rows scanned for the prior")
    PRIOR_ROWS: int = setting(4000, "rows drawn from the prior")


ABLATION = {"the discriminator at weight 0 in the generator's loss": "ADVERSARIAL_WEIGHT=0",
            "without the realism critic": "REALISM_WEIGHT=0",
            "the fixed nearer-scalar verdict in place of the learned one": "NEARER_RULE=true",
            "the discriminator judges generated rows only": "JUDGED_PRIOR=0"}


class BlackBox:
    """A random forest on a stratified 70/30 split, answering P(second declared class): score()
    answers decoded rows and counts them; the encoder holds only the schema."""

    def __init__(self, dataset, seed):
        self.encoder = common.TabularEncoder(dataset.features)
        classes = list(dataset.labels.cat.categories)
        self.positive, self.multiclass = classes[1], len(classes) > 2
        self.negative = f"not {classes[1]}" if self.multiclass else classes[0]
        is_positive = (dataset.labels == self.positive).to_numpy()
        if min(is_positive.sum(), (~is_positive).sum()) < 2:
            raise common.UserError(f"{dataset.name}: the black box scores the second declared class"
                                   f" {self.positive!r}; it needs at least two rows of it and of "
                                   "the others (see --class)")
        self.train_rows, self.test_rows, train_y, self.test_y = train_test_split(
            dataset.features, is_positive, test_size=0.3, stratify=is_positive, random_state=seed)
        self.forest = RandomForestClassifier(random_state=seed, n_jobs=-1).fit(
            self.encoder.transform(self.train_rows), train_y)
        self.test_encoded = self.encoder.transform(self.test_rows)
        self.test_confidence = self.forest.predict_proba(self.test_encoded)[:, 1]

    def score(self, rows):
        """The forest's answers to a frame of rows, the trees one by one (no joblib per batch)."""
        encoded = self.encoder.transform(rows)
        return np.mean([tree.predict_proba(encoded, check_input=False)[:, 1]
                        for tree in self.forest.estimators_], axis=0).astype("float32")

    def summary(self):
        """4a: the forest's accuracy, ROC-AUC and confidence on its test rows, by true class."""
        confidence, y = self.test_confidence, self.test_y
        every, positive, negative = [
            {"count": len(values), **{name: float(getattr(values, name)())
                                      for name in ("min", "max", "mean", "std")}}
            for values in (confidence, confidence[y], confidence[~y])]
        return {"positive_class": self.positive, "negative_class": self.negative,
                "one_vs_rest": self.multiclass,
                "test_rows": len(y), "accuracy": float(accuracy_score(y, confidence >= 0.5)),
                "roc_auc": float(roc_auc_score(y, confidence)), "test_confidence": every,
                "test_confidence_by_class": {"positive": positive, "negative": negative}}


def scan_prior(schema, score, settings, rng, points=101):
    """PRIOR_ROWS prior rows from queries only: each number's density is where the answer changes
    along it over SCAN_ROWS uniform rows; categories uniform. schema: a range encoder."""
    scans, count = settings.SCAN_ROWS, settings.PRIOR_ROWS
    grid = np.linspace(-1.0, 1.0, points, dtype="float32")
    base = rng.uniform(-1.0, 1.0, size=(scans, schema.width)).astype("float32")
    densities = {}
    for spec in schema.columns:
        if spec.kind == "numeric" and spec.high > spec.low and scans:
            rows = np.repeat(base, points, axis=0)
            rows[:, spec.offset] = np.tile(grid, scans)
            answers = score(schema.inverse_transform(rows)).reshape(scans, points)
            changes = (np.diff(answers, axis=1) != 0).sum(axis=0).astype(float)
            changes = changes if changes.any() else np.ones(points - 1)  # ignored: uniform
            densities[spec.offset] = changes / changes.sum()
    prior = rng.uniform(-1.0, 1.0, size=(count, schema.width)).astype("float32")
    for offset, density in densities.items():
        interval = rng.choice(len(density), size=count, p=density)
        prior[:, offset] = grid[interval] + (grid[1] - grid[0]) * rng.uniform(size=count)
    return schema.inverse_transform(prior)


class Judge(keras.layers.Layer):
    """Log odds that the first of two scalars is the box's answer, for a Gaussian error around
    the answer head's estimate: sharpness * ((second - estimate)^2 - (first - estimate)^2)."""

    def build(self, input_shape):
        self.log_sharpness = self.add_weight(shape=(), initializer="zeros")

    def call(self, pair, estimate):
        first, second = pair[:, :1] - estimate, pair[:, 1:] - estimate
        return 10.0 * keras.ops.exp(self.log_sharpness) * (second ** 2 - first ** 2)


def build_discriminator(width, nearer_rule=False):
    """Figure 1's discriminator: a row and two scalars (C and Y in random order) in; the logit
    that the first is the box's answer, and an answer head's logit of the box's answer, out.
    Its learned layers read all three; with nearer_rule they read the row alone and the verdict
    is the scalar nearer the answer head's estimate (Judge)."""
    inputs = keras.Input((width + 2,))
    hidden = common.hidden_layers(inputs[:, :width] if nearer_rule else inputs)
    answer = keras.layers.Dense(1)(hidden)
    judged = (Judge()(inputs[:, width:], keras.ops.sigmoid(answer)) if nearer_rule
              else keras.layers.Dense(1)(hidden))
    return keras.Model(inputs, [judged, answer], name="discriminator")


class BlackBoxGAN(keras.Model):
    """Figure 1, fit() on batches of Cs: one box query per step (generated and prior rows), then
    the discriminator, the realism critic (prior row with Y, or generated row with C?) and the
    generator learn. score: the box's answers to decoded rows; answer(): to encoded rows."""

    def __init__(self, settings, encoder, score, seed):
        super().__init__()
        self.settings, self.answer = settings, lambda rows: score(encoder.inverse_transform(rows))
        self.snap = common.SnapToRecords(encoder)
        self.soft_generator, self.average_generator = common.averaged_copy(
            lambda: common.build_generator(settings.NOISE_DIM + 1, encoder))
        self.discriminator = build_discriminator(encoder.width, settings.NEARER_RULE)
        self.critic = common.build_mlp(encoder.width + 1, name="realism_critic")
        self.answer_counts = tf.Variable(tf.ones(settings.BINS), trainable=False)  # prior's Ys
        self.c_optimizer, self.g_optimizer, self.d_optimizer = (
            keras.optimizers.Adam(settings.LEARNING_RATE, beta_1=0.5) for _ in range(3))
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ["d_loss", "d_accuracy", "answer_loss", "critic_loss", "g_loss", "batch_mae"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def generate(self, noise, desired, training=False):
        """The exact records the generator's heads snap to."""
        return self.snap(self.soft_generator(tf.concat([noise, desired], axis=1),
                                             training=training))

    def train_step(self, desired):
        desired = tf.repeat(desired, self.settings.GROUP_SIZE, axis=0)
        noise = keras.random.normal((tf.shape(desired)[0], self.settings.NOISE_DIM),
                                    seed=self.seed_generator)
        rows = self.generate(noise, desired)
        judged = self.settings.JUDGED_PRIOR * tf.shape(rows)[0]  # prior rows judged, and queried:
        prior_rows = self.snap(keras.random.uniform(  # uniform in the prior's quantile space
            (tf.maximum(judged, tf.shape(rows)[0]), tf.shape(rows)[1]), -1.0, 1.0,
            seed=self.seed_generator))
        queries = tf.concat([rows, prior_rows], axis=0)
        answers = tf.reshape(tf.numpy_function(self.answer, [queries], tf.float32), (-1, 1))
        answered, prior_answers = tf.split(answers, [tf.shape(rows)[0], -1])
        decoys = keras.random.uniform((judged, 1), seed=self.seed_generator)  # their C
        losses = {**self.fit_discriminator(queries, answers, tf.concat([desired, decoys], 0)),
                  "critic_loss": self.fit_critic(rows, desired, prior_rows, prior_answers),
                  "g_loss": self.fit_generator(noise, desired, answered),
                  "batch_mae": tf.abs(answered - desired)}
        common.update_average(self.average_generator, self.soft_generator, self.settings.EMA)
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def judge(self, rows, desired, answered):
        """(swap, the discriminator's two logits) for rows with C and Y, swapped at random."""
        swap = keras.random.uniform(tf.shape(desired), seed=self.seed_generator) < 0.5
        pair = [tf.where(swap, answered, desired), tf.where(swap, desired, answered)]
        return swap, self.discriminator(tf.concat([rows, *pair], axis=1))

    def fit_discriminator(self, queries, answers, desired):
        """One step: which of C and Y the box gave for the first rows, and every row's answer."""
        rows, answered = queries[:tf.shape(desired)[0]], answers[:tf.shape(desired)[0]]
        with tf.GradientTape() as tape:
            swap, (logits, _) = self.judge(rows, desired, answered)
            _, answer_logits = self.discriminator(
                tf.concat([queries, tf.zeros((tf.shape(queries)[0], 2))], axis=1))
            d_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                tf.cast(swap, "float32"), logits))
            answer_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                answers, answer_logits))
            total = d_loss + self.settings.ANSWER_WEIGHT * answer_loss
        common.gradient_step(self.d_optimizer, tape, total, self.discriminator)
        return {"d_loss": d_loss, "answer_loss": answer_loss,
                "d_accuracy": tf.cast((logits > 0) == swap, "float32")}

    def fit_generator(self, noise, desired, answered):
        """One generator step: fool the discriminator and the realism critic."""
        with tf.GradientTape() as tape:
            rows = self.generate(noise, desired, training=True)
            swap, (logits, _) = self.judge(rows, desired, answered)
            fooled = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                1.0 - tf.cast(swap, "float32"), logits))
            unrealistic = tf.nn.softplus(-self.critic(tf.concat([rows, desired], axis=1)))
            loss = (self.settings.ADVERSARIAL_WEIGHT * fooled
                    + self.settings.REALISM_WEIGHT * tf.reduce_mean(unrealistic))
        common.gradient_step(self.g_optimizer, tape, loss, self.soft_generator)
        return loss

    def fit_critic(self, rows, desired, prior_rows, prior_answers):
        """One realism step: prior rows with Y (as real, weighted so that their Ys count evenly
        over the BINS ranges, as the Cs do) against generated rows with C."""
        count = self.settings.BINS
        bins = tf.cast(tf.clip_by_value(prior_answers[:, 0] * count, 0, count - 1), "int32")
        self.answer_counts.assign_add(tf.math.bincount(bins, minlength=count, maxlength=count,
                                                       dtype="float32"))
        share = self.answer_counts / tf.reduce_sum(self.answer_counts)
        weights = tf.minimum(tf.gather(1.0 / (count * share), bins), count)
        weights = weights / tf.reduce_mean(weights)
        with tf.GradientTape() as tape:
            real = tf.nn.softplus(-self.critic(tf.concat([prior_rows, prior_answers], axis=1),
                                               training=True))[:, 0]
            fake = tf.nn.softplus(self.critic(tf.concat([rows, desired], axis=1), training=True))
            loss = 0.5 * (tf.reduce_mean(weights * real) + tf.reduce_mean(fake))
        common.gradient_step(self.c_optimizer, tape, loss, self.critic)
        return loss

    def sample(self, noise, desired):
        """Single draws G(Z, C) of the averaged generator, encoded, for noise and confidences."""
        inputs = np.hstack([noise, np.asarray(desired, dtype="float32").reshape(-1, 1)])
        return self.snap(self.average_generator(inputs)).numpy()


def train(encoder, score, settings, seed, rng, quiet):
    """Train from the generator's encoder (the prior's quantile space) and the box's score of
    decoded rows, no real rows: (model, history, convergence summary, seconds)."""
    gan = BlackBoxGAN(settings, encoder, score, seed)
    gan.compile(steps_per_execution=-(-settings.SAMPLES // settings.GROUPS))
    noise = rng.standard_normal((settings.SAMPLES, settings.NOISE_DIM)).astype("float32")
    asked = rng.uniform(size=settings.SAMPLES).astype("float32")  # held-out (Z, C) pairs
    stopping = common.CheckedStopping(  # the check: the averaged generator's mean |C - Y|
        "heldout_mae", lambda gan: np.abs(gan.answer(gan.sample(noise, asked)) - asked).mean(),
        settings.PATIENCE, settings.MIN_IMPROVEMENT)
    desired = rng.uniform(size=(settings.SAMPLES, 1)).astype("float32")
    start = time.perf_counter()
    history = gan.fit(common.shuffled_batches(desired, settings.GROUPS, seed),
                      epochs=settings.EPOCHS, shuffle=False, verbose=0,  # the dataset shuffles
                      callbacks=[stopping, common.progress_printer(quiet)])
    return gan, stopping.history(history), stopping.summary, time.perf_counter() - start


def diversity(encoded, real_encoded):
    """Mean per-feature standard deviation of the samples relative to the real rows'."""
    varying = real_encoded.std(axis=0) > 0
    return float((encoded.std(axis=0)[varying] / real_encoded.std(axis=0)[varying]).mean())


def confidence_bins(desired, answered, encoded, real_encoded, test_confidence, distances, count):
    """Per range of C and per class asked for ({"positive": C >= 0.5, "negative"}): error, class
    agreement, the box's answers; per range also diversity, nearest distance, test share."""
    which, tested = (np.clip((np.asarray(values) * count).astype(int), 0, count - 1)
                     for values in (desired, test_confidence))  # 1.0 goes to the last range
    frame = pd.DataFrame({"which": which, "error": np.abs(desired - answered),
                          "agrees": (desired >= 0.5) == (answered >= 0.5),
                          "answered": answered, "distance": distances})
    stats = dict(count=("error", "size"), mae=("error", "mean"), mae_sd=("error", "std"),
                 class_agreement=("agrees", "mean"), mean_blackbox_confidence=("answered", "mean"),
                 blackbox_confidence_sd=("answered", "std"))
    by_class = frame.groupby(np.where(desired >= 0.5, "positive", "negative")).agg(**stats)
    bins = frame.groupby("which").agg(**stats, diversity=("which", lambda group: diversity(
        encoded[group.index], real_encoded)), nearest_real_distance=("distance", "median"))
    bins = bins.reindex(range(count)).fillna({"count": 0}).astype({"count": int})
    bins = bins.assign(test_share=np.bincount(tested, minlength=count) / len(tested))
    digits = 1 if 10 % count == 0 else 2  # labels that stay distinct
    bins.insert(0, "bin", [f"{low / count:.{digits}f}-{(low + 1) / count:.{digits}f}"
                           for low in range(count)])
    return bins.reset_index(drop=True), by_class.to_dict("index")


def extraction(box, rows, labels, seed):
    """How often a student forest trained on rows labelled with the box's class (Y >= 0.5)
    agrees with the box on its real test rows."""
    student = RandomForestClassifier(random_state=seed, n_jobs=-1)
    predicted = student.fit(box.encoder.transform(rows), labels).predict(box.test_encoded)
    return float((predicted == (box.test_confidence >= 0.5)).mean())


def feature_table(real, generated, uniform):
    """Per feature: median or most common category (share) of real, generated and uniform rows,
    and how alike the latter two are to the real ones (common.column_likeness: 1 the same)."""
    def typical(column):
        if isinstance(column.dtype, pd.CategoricalDtype):
            share = column.value_counts(normalize=True)
            return f"{share.index[0]} ({100 * share.iloc[0]:.0f}%)"
        return float(column.median())

    frames = {"real (training rows)": real, "generated": generated, "uniform rows": uniform}
    return pd.DataFrame({"feature": list(real.columns), **{
        label: [typical(rows[name]) for name in real.columns] for label, rows in frames.items()},
        **{f"likeness {label.split()[0]}": common.column_likeness(real, rows).to_numpy().round(3)
           for label, rows in list(frames.items())[1:]}})


def plot_confidences(folder, name, box, generated, bins):
    """4a-4c's pictures: test-row confidences by true class, C against Y, the samples' scores
    by the class the forest gives them."""
    desired, answered = generated["desired_confidence"], generated["blackbox_confidence"]
    truly = box.test_y
    common.histogram([box.test_confidence[truly], box.test_confidence[~truly]],
                     [f"truly {box.positive}", f"truly {box.negative}"],
                     folder / "test_confidence.png", 2 * bins, stacked=True, ylabel="test rows",
                     xlabel=f"forest confidence: probability of {box.positive!r}",
                     title=f"{name}: forest on its 30% test rows")
    figure, axis = common.plt.subplots(figsize=(common.HALF_WIDTH, 2.8))
    axis.scatter(desired, answered, s=3, alpha=0.5, label="one sample")
    axis.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="Y = C")
    axis.set(xlabel="desired confidence C", ylabel="forest's confidence Y", xlim=(0, 1),
             ylim=(0, 1), title=f"{name}: C against Y, {len(desired)} single draws")
    axis.legend(loc="upper left", frameon=False)
    common.save_figure(figure, folder / "confidence_scatter.png")
    positive = answered >= 0.5
    common.histogram([answered[positive], answered[~positive]],
                     [f"scored {box.positive} (Y ≥ 0.5)", f"scored {box.negative}"],
                     folder / "score_distribution.png", 2 * bins, stacked=True,
                     xlabel="forest's confidence Y", ylabel="samples",
                     title=f"{name}: forest's scores of the samples")


def measures(box, draw, settings, seed, rng):
    """SAMPLES single draws G(Z, C), C uniform, and the box's Ys; the per-bin and feature tables;
    every number of 4b-4d (the real rows are used here only). rng: C, Z, uniform rows, fixed Cs."""
    desired = rng.uniform(size=settings.SAMPLES)
    generated = draw(rng.standard_normal((len(desired), settings.NOISE_DIM)).astype("float32"),
                     desired)
    answered, encode = box.score(generated), box.encoder.transform
    drawn = [box.encoder.inverse_transform(rng.uniform(-1, 1, (len(desired), box.encoder.width)))
             for _ in range(settings.BASELINE_DRAWS)]
    fixed = {c: draw(rng.standard_normal((200, settings.NOISE_DIM)).astype("float32"),
                     np.full(200, c)) for c in (0.1, 0.3, 0.5, 0.7, 0.9)}  # 4d: many Z per C
    uniform, error = drawn[0], np.abs(desired - answered)
    train_encoded, encoded = encode(box.train_rows), encode(generated)
    real_encoded = np.vstack([train_encoded, box.test_encoded])
    [(_, distances)] = common.nearest_rows(train_encoded, encoded)
    bins, by_class = confidence_bins(desired, answered, encoded, real_encoded,
                                     box.test_confidence, distances, settings.BINS)
    filled = bins[bins["count"] > 0]
    students = [extraction(box, rows, box.score(rows) >= 0.5, seed) for rows in drawn]
    features = feature_table(box.train_rows, generated, uniform)
    metrics = {
        "scores": {name: float(getattr(np, name)(answered))
                   for name in ("min", "median", "mean", "max")},
        "mae": float(error.mean()), "mae_sd": float(error.std()),
        "class_agreement": float(((desired >= 0.5) == (answered >= 0.5)).mean()),
        "by_class": by_class, "unique_rows": int(len(generated.drop_duplicates())),
        "diversity_min_bin": float(filled["diversity"].min()),
        "diversity_min_bin_name": str(filled["bin"][filled["diversity"].idxmin()]),
        "uniform_diversity": diversity(encode(uniform), real_encoded),
        "likelier_features": int((features["likeness generated"]
                                  > features["likeness uniform"]).sum()),
        "extraction_agreement": extraction(box, generated, answered >= 0.5, seed),
        "uniform_baseline_agreement": float(np.mean(students)),
        "uniform_baseline_spread": float(np.std(students)),
        **{f"{name}_c2st_auc": common.two_sample_test(box.encoder, box.train_rows, rows, seed)[0]
           for name, rows in (("realism", generated), ("uniform", uniform))},
        "collapse_at_fixed_c": [  # per C: distinct rows, spread (as diversity), mean |C - Y|
            {"c": c, "draws": len(rows), "distinct_rows": len(rows.drop_duplicates()),
             "spread": diversity(encode(rows), real_encoded),
             "mae": float(np.abs(box.score(rows) - c).mean())} for c, rows in fixed.items()]}
    return (generated.assign(desired_confidence=desired, blackbox_confidence=answered), bins,
            features, metrics)


def run_dataset(dataset, args, settings):
    """Black box, prior, training, 1000 single draws, measures: OUT/<dataset>/part2/."""
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    box = BlackBox(dataset, args.seed)
    summary = box.summary()
    common.say(args.quiet, f"{dataset.name}: black box accuracy {summary['accuracy']:.3f}, ROC-AUC "
               f"{summary['roc_auc']:.3f}, confidence of {box.positive!r}")
    prior = scan_prior(box.encoder, box.score, settings, rng)  # the box's encoder: the schema
    encoder = common.TabularEncoder(prior, numeric="quantile")
    gan, history, convergence, seconds = train(encoder, box.score, settings, args.seed, rng,
                                               args.quiet)

    def draw(noise, desired):  # the averaged generator's single draws, decoded
        return encoder.inverse_transform(gan.sample(noise, desired))

    generated, bins, features, metrics = measures(box, draw, settings, args.seed, rng)
    roles = [(gan.soft_generator, gan.g_optimizer, "G(Z, C): a row for confidence C",
              "units into the column heads"),
             (gan.discriminator, gan.d_optimizer, "D(row, C, Y): which scalar the box gave",
              "logit of the verdict; the answer head's logit of Y"),
             (gan.critic, gan.c_optimizer, "prior row with Y, or generated row with C?", "logit")]
    metrics.update(**dataset.summary, **convergence, box=summary, epochs=settings.EPOCHS,
                   train_seconds=round(seconds, 2), seed=args.seed,
                   architecture=[common.describe_network(*role) for role in roles],
                   **common.described(settings))
    with common.output_folder(args.out, dataset.name, "part2") as folder:
        common.write_json(folder / "blackbox.json", summary)
        for name, frame in {"generated_1000": generated, "confidence_bins": bins,
                            "features": features, "losses": history}.items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        plot_confidences(folder, dataset.name, box, generated, settings.BINS)
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: training per epoch",
                            used=metrics["epoch_used"])
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        report.write_run_report(folder, "part2")
    common.say(args.quiet, f"{dataset.name}: mae {metrics['mae']:.4f}  class agreement "
               f"{metrics['class_agreement']:.3f}  epoch used {metrics['epoch_used']}  realism "
               f"c2st {metrics['realism_c2st_auc']:.3f}  -> {args.out}/{dataset.name}/part2/")
    return metrics


def main(argv=None):
    return common.run_datasets(argv, __doc__.splitlines()[0], Settings(), ABLATION, run_dataset)


if __name__ == "__main__":
    common.run_script(main)
