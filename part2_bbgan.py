"""Part 2: a confidence-conditioned generator against a random-forest black box.

python part2_bbgan.py   (both datasets; or --dataset diabetes|german_credit|PATH.arff)

A random forest is trained on 70% of the real rows; from then on it is a black box. Before
training, 1-D scans through the box's answers estimate where its training data lies (its trees
split where the data is dense): a prior of each number's distribution, learned from queries only.
The generator gets noise Z and a desired confidence C and makes a row in the prior's quantile
space; the forest scores it (Y); the discriminator sees the row with C and Y in random order and
must say which one the forest gave, and a realism critic tells generated rows with their C from
rows of the prior with the forest's answer to them.
The forest is not differentiable, so a surrogate network is fitted online to the forest's answers,
and the generator follows the surrogate's gradient while the true Y is used in the forward pass.
After training, each of the 1000 samples is one of TRIES candidates G(Z, C) whose forest answer
fits C (query-verified sampling). No real row reaches the generator, the critics or the
surrogate. Results land in OUT/<dataset>/part2/; real rows are used after training, for reporting
only.
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
CLIMBS = 256  # independent hill climbs towards the box's highest answers
MUTANTS = 64  # climbs that take a step each training step
MUTATION = 0.1
CHECKS = 15
SAMPLES = 1000
BASELINE_DRAWS = 5  # further draws of uniform rows: how much the student baseline moves
MIN_GAP = 0.01  # the smallest student gap the report calls more or less
TRIES = 64  # candidate rows per desired confidence in query-verified sampling
TOLERANCE = 0.02  # a candidate fits when the box's answer is this close to C, on C's side
REALISM_WEIGHT = 1.0
REALISM_GATE = 0.03  # realism is asked only of rows whose answer is this close to C
PRIOR_QUERIES = 128  # rows of the prior queried each step, for the surrogate and the critic
MAX_PRIOR_WEIGHT = 10.0
SCAN_ROWS = 200  # rows per scan round, each scanned along every number
SCAN_POINTS = 101
SCAN_ROUNDS = 2  # the second round scans from rows of the first round's prior
SHARPEN = 1.5  # density ~ (answer changes in an interval) ** SHARPEN
PRIOR_FLOOR = 0.05  # share of the prior spread evenly over the whole range
PRIOR_ROWS = 4000
IQR_LIMIT, TV_LIMIT = 0.5, 0.2  # a feature whose generated rows are further off is named
POSITIVE = {"diabetes": "tested_positive", "german_credit": "bad"}


# ---------------------------------------------------------------------------
# Black box
# ---------------------------------------------------------------------------


class BlackBox:
    """A random forest trained on a stratified 70/30 split of the real rows. score() takes
    decoded rows and counts them; the real rows it keeps are for reporting only."""

    def __init__(self, dataset, seed):
        self.encoder = common.TabularEncoder(common.schema_frame(dataset.features))
        classes = list(dataset.labels.cat.categories)
        self.positive = POSITIVE.get(dataset.name, classes[1])
        self.multiclass = len(classes) > 2
        is_positive = (dataset.labels == self.positive).to_numpy()
        self.train_rows, self.test_rows, train_y, self.test_y = train_test_split(
            dataset.features, is_positive, test_size=0.3, stratify=is_positive, random_state=seed)
        self.forest = RandomForestClassifier(random_state=seed, n_jobs=-1).fit(
            self.encoder.transform(self.train_rows), train_y)
        self.forest.n_jobs = 1  # scoring small batches is faster without worker start-up
        self.test_confidence = self.forest.predict_proba(
            self.encoder.transform(self.test_rows))[:, 1]
        self.queries = 0

    def score(self, rows):
        """The forest's probability of the positive class for a frame of rows."""
        self.queries += len(rows)
        return self.forest.predict_proba(self.encoder.transform(rows))[:, 1].astype("float32")

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
# A prior of where the data lies, from the black box's answers alone
# ---------------------------------------------------------------------------


def scan_prior(schema, score, rng):
    """PRIOR_ROWS rows drawn from a prior estimated through queries only. A tree splits where
    its training rows are dense, so along a scan of one number (the rest of a row held fixed)
    the forest's answer changes most often where the data lies. Each number's density is the
    count of answer changes per scan interval (sharpened, with a floor over the whole range);
    categories stay uniform. schema: a range encoder fitted on the schema; score: decoded rows
    to the box's answers."""
    grid = np.linspace(-1.0, 1.0, SCAN_POINTS, dtype="float32")
    scanned = [spec for spec in schema.columns if spec.kind == "numeric" and spec.high > spec.low]
    densities = {}
    for _ in range(SCAN_ROUNDS):
        base = prior_sample(schema, densities, grid, SCAN_ROWS, rng)
        for spec in scanned:
            rows = np.repeat(base, SCAN_POINTS, axis=0)
            rows[:, spec.offset] = np.tile(grid, SCAN_ROWS)
            answers = score(schema.inverse_transform(rows)).reshape(SCAN_ROWS, SCAN_POINTS)
            changes = (np.diff(answers, axis=1) != 0).sum(axis=0).astype(float) ** SHARPEN
            if not changes.any():  # the box ignores this number: keep it uniform
                changes[:] = 1.0
            densities[spec.offset] = ((1 - PRIOR_FLOOR) * changes / changes.sum()
                                      + PRIOR_FLOOR / len(changes))
    return schema.inverse_transform(prior_sample(schema, densities, grid, PRIOR_ROWS, rng))


def prior_sample(schema, densities, grid, count, rng):
    """Encoded rows: uniform, except numbers with a density over the grid's intervals."""
    rows = rng.uniform(-1.0, 1.0, size=(count, schema.width)).astype("float32")
    step = grid[1] - grid[0]
    for offset, density in densities.items():
        interval = rng.choice(len(density), size=count, p=density)
        rows[:, offset] = grid[interval] + step * rng.uniform(size=count)
    return rows


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


class BlackBoxGAN(keras.Model):
    """Generator, discriminator, realism critic and surrogate, trained by fit() on batches of
    desired confidences. Each step queries the black box once, through tf.numpy_function.
    answer: encoded rows to the black box's confidences."""

    def __init__(self, encoder, answer, seed):
        super().__init__()
        self.encoder = encoder
        self.answer = answer
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
        self.critic = common.build_mlp(encoder.width + 1, HIDDEN_UNITS, name="realism_critic")
        self.surrogate = common.build_mlp(encoder.width, SURROGATE_UNITS, name="surrogate")
        self.schema_variance, self.varies, self.members, self.nominal = schema_variance(encoder)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.climbs = HillClimbs(encoder.width, seed)
        self.prior_answer_counts = self.add_weight(  # how the box answers rows of the prior
            shape=(10,), initializer="ones", trainable=False, name="prior_answer_counts")
        names = ["d_loss", "d_accuracy", "critic_loss", "g_loss", "surrogate_loss", "batch_mae"]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, total_steps, steps_per_execution=1):
        super().compile(steps_per_execution=steps_per_execution)
        schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, total_steps, alpha=0.05)
        self.g_optimizer = keras.optimizers.Adam(schedule, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5)
        self.c_optimizer = keras.optimizers.Adam(LEARNING_RATE, beta_1=0.5)
        self.s_optimizer = keras.optimizers.Adam(LEARNING_RATE)

    def generate(self, noise, desired, training=False, soft=False):
        model = self.soft_generator if soft else self.generator
        return model(keras.ops.concatenate([noise, desired], axis=1), training=training)

    def random_rows(self, count):
        """Rows drawn from the prior: uniform in its quantile space, any category."""
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
        """A step of MUTANTS hill climbs: jittered copies of their rows, with the climbs' slots.
        The climbs find the confidences the forest rarely gives."""
        slots, rows = self.climbs.pick(MUTANTS, self.seed_generator)
        return slots, self.jittered(rows, MUTATION)

    def query(self, rows):
        confidence = tf.numpy_function(self.answer, [rows], tf.float32)
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
        prior_rows = self.random_rows(PRIOR_QUERIES)
        slots, mutants = self.mutants()
        queries = tf.concat([rows, prior_rows, self.nearby_rows(rows[: count // 2]), mutants],
                            axis=0)
        answers = self.query(queries)
        self.climbs.climb(slots, mutants, answers[-MUTANTS:])
        answered = answers[:count]
        swap = keras.random.uniform((count, 1), seed=self.seed_generator) < 0.5

        s_loss = self.fit_surrogate(queries, answers)
        d_loss, d_accuracy = self.fit_discriminator(rows, desired, answered, swap)
        prior_answers = answers[count:count + PRIOR_QUERIES]
        c_loss = self.fit_critic(rows, desired, prior_rows, prior_answers,
                                 self.even_answer_weights(prior_answers))
        g_loss = self.fit_generator(noise, desired, answered, swap)

        for name, value in (("d_loss", d_loss), ("d_accuracy", d_accuracy),
                            ("critic_loss", c_loss), ("g_loss", g_loss),
                            ("surrogate_loss", s_loss),
                            ("batch_mae", tf.abs(answered - desired))):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def fit_surrogate(self, queries, answers):
        """One step of the surrogate towards the black box's answers (cross-entropy)."""
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                answers, self.surrogate(queries, training=True)))
        self._step(self.s_optimizer, tape, loss, self.surrogate)
        return loss

    def fit_discriminator(self, rows, desired, answered, swap):
        """One step of the discriminator: which of C and Y did the black box give?"""
        with tf.GradientTape() as tape:
            logits = self.judge(rows, desired, answered, swap)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                tf.cast(swap, "float32"), logits))
        self._step(self.d_optimizer, tape, loss, self.discriminator)
        return loss, tf.cast((logits > 0) == swap, "float32")

    def even_answer_weights(self, prior_answers):
        """Weights for rows of the prior that even out the box's answers over ten bins: the
        generator asks for every confidence equally often, so its rows are compared with the
        prior's rows at every confidence alike, not with the prior's mostly low answers."""
        bins = tf.cast(tf.clip_by_value(prior_answers[:, 0] * 10, 0, 9), "int32")
        self.prior_answer_counts.assign_add(tf.math.bincount(bins, minlength=10, maxlength=10,
                                                             dtype="float32"))
        share = self.prior_answer_counts / tf.reduce_sum(self.prior_answer_counts)
        weights = tf.minimum(tf.gather(0.1 / share, bins), MAX_PRIOR_WEIGHT)
        return weights / tf.reduce_mean(weights)

    def fit_critic(self, rows, desired, prior_rows, prior_answers, prior_weights):
        """One step of the realism critic: rows of the prior with the box's answer to them
        (weighted, as real) against generated rows with the confidence they were asked for."""
        with tf.GradientTape() as tape:
            real = tf.nn.softplus(-self.critic(tf.concat([prior_rows, prior_answers], axis=1),
                                               training=True))[:, 0]
            fake = tf.nn.softplus(self.critic(tf.concat([rows, desired], axis=1), training=True))
            loss = 0.5 * (tf.reduce_mean(prior_weights * real) + tf.reduce_mean(fake))
        self._step(self.c_optimizer, tape, loss, self.critic)
        return loss

    def fit_generator(self, noise, desired, answered, swap):
        """One generator step: |Y - C| with the surrogate's gradient and the true Y, the class
        side C asks for, fooling the discriminator, fooling the realism critic (only for rows
        that already fit C: realism must not cost the confidence), and spread within groups of
        rows that share one C."""
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
                1.0 - tf.cast(swap, "float32"), self.judge(rows, desired, estimate, swap)))
            fits = tf.cast(tf.abs(answered - desired) < REALISM_GATE, "float32")
            unrealistic = tf.reduce_mean(fits * tf.nn.softplus(-self.critic(
                tf.concat([rows, desired], axis=1))))
            too_close = self.too_close(self.generate(group_noise, group_desired, training=True,
                                                     soft=True))
            loss = (fit_loss + SIDE_WEIGHT * wrong_side + ADVERSARIAL_WEIGHT * fooled
                    + REALISM_WEIGHT * unrealistic + DIVERSITY_WEIGHT * too_close)
        self._step(self.g_optimizer, tape, loss, self.generator)
        return loss

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

    def verified_sample(self, desired, rng):
        """Query-verified sampling: TRIES candidate rows per desired confidence, all scored by the
        black box. One of the candidates that fit (answer within TOLERANCE of C, on the side C
        asks for) is kept at random, so the choice does not narrow the rows' spread; where none
        fits, the closest. Returns the encoded rows, the box's answers to them, and the error of
        one try alone."""
        desired = np.asarray(desired, dtype="float32")
        wanted = np.repeat(desired, TRIES)
        candidates = self.sample(wanted, rng)
        answers = np.asarray(self.answer(candidates), dtype=float).reshape(-1, TRIES)
        error = np.abs(answers - desired[:, None])
        fits = (error <= TOLERANCE) & ((answers >= 0.5) == (desired[:, None] >= 0.5))
        lottery = np.where(fits, rng.uniform(size=fits.shape), -1.0)
        choice = np.where(fits.any(axis=1), lottery.argmax(axis=1), error.argmin(axis=1))
        kept = np.arange(len(desired)) * TRIES + choice
        return candidates[kept], answers.ravel()[kept], error[:, 0]


class HillClimbs(keras.layers.Layer):
    """CLIMBS independent hill climbs towards the black box's highest answers: each slot holds a
    row and the box's answer to it, and a jittered copy replaces the row when the box answers the
    copy at least as high. Separate climbs reach many of the forest's high-scoring pockets, where
    the best rows found so far, all jittered from each other, crowd into one."""

    def __init__(self, width, seed, **kwargs):
        super().__init__(**kwargs)
        self.rows = self.add_weight(  # climbs start at rows of the prior
            shape=(CLIMBS, width), trainable=False, name="climb_rows",
            initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=seed))
        self.answers = self.add_weight(  # -1: replaced by the first answers
            shape=(CLIMBS,), initializer=keras.initializers.Constant(-1.0), trainable=False,
            name="climb_answers")
        self.built = True

    def pick(self, count, seed_generator):
        """count different slots, chosen at random, with their rows."""
        slots = keras.random.shuffle(tf.range(CLIMBS), seed=seed_generator)[:count]
        return slots, tf.gather(self.rows, slots)

    def climb(self, slots, rows, answers):
        """Each slot takes its new row where the box answered it at least as high."""
        held = tf.gather(self.answers, slots)
        better = answers[:, 0] >= held
        kept_rows = tf.where(better[:, None], rows, tf.gather(self.rows, slots))
        kept_answers = tf.where(better, answers[:, 0], held)
        self.rows.assign(tf.tensor_scatter_nd_update(self.rows, slots[:, None], kept_rows))
        self.answers.assign(tf.tensor_scatter_nd_update(self.answers, slots[:, None],
                                                        kept_answers))


def schema_variance(encoder):
    """For each feature, the variance of rows drawn uniformly from the schema (a number anywhere
    in its range: 1/3 in [-1, 1]; any category equally likely: Gini impurity 1 - 1/k), whether
    it varies at all, the matrix that sums encoded columns into features, and which encoded
    columns are categories."""
    variance = np.zeros(len(encoder.columns), dtype="float32")
    for index, spec in enumerate(encoder.columns):
        if spec.kind == "nominal":
            variance[index] = 1.0 - 1.0 / spec.width
        elif spec.high > spec.low:
            variance[index] = 1.0 / 3.0
    varies = variance > 0
    nominal = np.concatenate([[spec.kind == "nominal"] * spec.width for spec in encoder.columns])
    return np.where(varies, variance, 1.0).astype("float32"), varies, encoder.members(), nominal


def train(encoder, score, epochs, seed, rng, quiet):
    """Train on desired confidences only; keep the epoch with the lowest error on a probe set.
    Takes the generator's encoder (the prior's quantile space) and the black box's score of
    decoded rows: no real rows."""

    def answer(encoded):
        return score(encoder.inverse_transform(encoded))

    gan = BlackBoxGAN(encoder, answer, seed)
    gan.compile(epochs * BATCHES_PER_EPOCH, steps_per_execution=BATCHES_PER_EPOCH)
    probe = rng.uniform(size=SAMPLES).astype("float32")
    probe_rng_state = rng.bit_generator.state

    def probe_error():
        probe_rng = np.random.default_rng()
        probe_rng.bit_generator.state = probe_rng_state
        rows = gan.sample(probe, probe_rng)
        collapsed = len(np.unique(rows.round(6), axis=0)) < 0.99 * len(rows)
        return np.abs(answer(rows) - probe).mean() + (1.0 if collapsed else 0.0)

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


def confidence_bins(desired, answered, encoded, real_encoded, test_confidence, distances):
    """Per 0.1-wide bin of desired confidence: count, error, class agreement, diversity, the
    median distance to the nearest real training row, and the share of the forest's test-row
    confidences that fall in the bin."""
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
            "nearest_real_distance": float(np.median(distances[inside])) if inside.any() else None,
            "test_share": float((test_which == index).mean()),
        })
    return pd.DataFrame(rows)


def extraction(box, rows, labels, seed):
    """What rows teach about the black box: a student forest trained on them, labelled with the
    box's class (labels: Y >= 0.5), is scored on the real test rows: (agreement with the box,
    accuracy against the true labels)."""
    student = RandomForestClassifier(random_state=seed, n_jobs=-1)
    predicted = student.fit(box.encoder.transform(rows), labels).predict(
        box.encoder.transform(box.test_rows))
    return (float((predicted == (box.test_confidence >= 0.5)).mean()),
            float((predicted == box.test_y).mean()))


def feature_table(real, generated, uniform):
    """Per feature: the real training rows' median (numbers) or most common category with its
    share, beside the same for the generated rows and for uniform rows of the schema, and how
    far the generated rows are off: the median's shift in units of the real interquartile range,
    or the total variation distance between the category shares (0: same, 1: disjoint)."""
    rows = []
    for name in real.columns:
        values, made, spread = real[name], generated[name], uniform[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            shares = [column.value_counts(normalize=True) for column in (values, made, spread)]
            typical = [f"{share.index[0]} ({100 * share.iloc[0]:.0f}%)" for share in shares]
            off = 0.5 * float((shares[0] - shares[1]).abs().sum())
            rows.append([name, *typical, f"TV {off:.2f}", off > TV_LIMIT])
        else:
            iqr = float(values.quantile(0.75) - values.quantile(0.25)) or 1.0
            off = (float(made.median()) - float(values.median())) / iqr
            rows.append([name, *(float(column.median()) for column in (values, made, spread)),
                         f"{off:+.2f} IQR", abs(off) > IQR_LIMIT])
    return pd.DataFrame(rows, columns=["feature", "real (training rows)", "generated",
                                       "uniform rows", "generated vs real", "off"])


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


def write_report(path, name, box, metrics, bins, features):
    m = metrics
    filled = bins[bins["count"] > 0]
    best, worst = filled.loc[filled["mae"].idxmin()], filled.loc[filled["mae"].idxmax()]
    classes = m["mae_by_class"]
    table = filled.drop(columns="mean_blackbox_confidence").rename(columns={
        "bin": "C bin", "mae": "mean |C − Y|", "class_agreement": "class agreement",
        "nearest_real_distance": "nearest real", "test_share": "test share"})
    text = f"""# Part 2 — generator against the random-forest black box on `{name}`

Seed {m['seed']}, {m['epochs']} epochs; the weights of epoch {m['best_epoch']} were kept (lowest
error on a fixed probe set of desired confidences). Confidence is the forest's probability of the
class `{box['positive_class']}`. The black box scored {m['blackbox_queries']:,} rows during
training, the scans for the prior included.

## 4a. The black box

Random forest on a stratified 70/30 split: accuracy {box['accuracy']:.3f}, ROC-AUC
{box['roc_auc']:.3f} on the {box['test_rows']} test rows. Its confidence on them ranges
{box['test_confidence']['min']:.2f}–{box['test_confidence']['max']:.2f}
(mean {box['test_confidence']['mean']:.2f}, std {box['test_confidence']['std']:.2f}).

![the forest's confidence on its 30% test rows](test_confidence.png)

## 4b. 1000 generated samples

`generated_1000.csv`: C drawn uniformly from [0, 1]; Y is the forest's score of the decoded row.
For each C the generator made {TRIES} candidate rows and the forest scored them all
({m['sampling_queries']:,} queries); one of the candidates whose Y lies within {TOLERANCE} of C, on
the class side C asks for, was kept at random (where none did, the closest). Mean |C − Y| =
{m['mae']:.4f}, MSE = {m['mse']:.4f}; in {100 * m['class_agreement']:.1f}% of the samples the
forest's class (Y ≥ 0.5) is the one C asked for. One try of the generator alone misses C by
{m['one_try_mae']:.4f} on average: the generator brings its rows near C and near the data, the
forest's answers pick those that hit C. The generator reached forest
confidences from {m['reachable_min']:.2f} to {m['reachable_max']:.2f}.

![desired confidence C against the forest's confidence Y of each generated
sample](confidence_scatter.png)

## 4c. Which classes and ranges worked better

Mean |C − Y| for samples that asked for `{box['positive_class']}` (C ≥ 0.5): {classes['positive']:.4f};
for the other class (C < 0.5): {classes['negative']:.4f}. By range of C, the best bin is
{best['bin']} (mean |C − Y| {best['mae']:.4f}) and the worst {worst['bin']} ({worst['mae']:.4f}).
The forest puts {100 * best['test_share']:.1f}% of its own test rows in {best['bin']} and
{100 * worst['test_share']:.1f}% in {worst['bin']} (`test share`); on the test rows its confidence
never exceeds {box['test_confidence']['max']:.2f}. Confidences the forest hardly ever gives on
real data lie in small pockets of the space, where nearly all trees agree, so they are the
hardest to hit. Per bin (`confidence_bins.csv`; diversity: spread relative to the real rows;
nearest real: median distance to the nearest real training row):

{common.markdown_table(table)}

![the forest's scores of the generated samples, by the class it gives](score_distribution.png)

## 4d. Collapse, and do the rows resemble the data the forest was trained on?

{_collapse(m, filled)}

{_realism(m, features)}

{common.markdown_table(features.drop(columns="off"))}

## Training

![losses of the discriminator, the realism critic, the generator and the surrogate, and the
discriminator's accuracy, per epoch; the dashed line marks the kept epoch](losses.png)
"""
    path.write_text(text, encoding="utf-8")


def _collapse(m, filled):
    low = filled[filled["diversity"] < 0.3]["bin"].tolist()
    narrowest = filled.loc[filled["diversity"].idxmin(), "bin"]
    verdict = ("no sign of mode collapse: every bin keeps at least 30% of the real data's spread"
               if not low and m["unique_rows"] >= 990 else
               f"signs of collapse (unique rows {m['unique_rows']}, low spread in bins "
               f"{', '.join(low) or 'none'})")
    return (f"{m['unique_rows']} of {SAMPLES} generated rows are distinct; the spread of the "
            f"samples is {m['diversity']['overall']:.2f} of the real data's (mean per-feature "
            f"standard deviation ratio), between {m['diversity_min_bin']:.2f} (bin {narrowest}) "
            f"and {m['diversity_max_bin']:.2f} across C bins: {verdict}.")


def _realism(m, features):
    gain = m["extraction_agreement"] - m["uniform_baseline_agreement"]
    distance = m["nearest_real_distance"]
    off = features[features["off"]]
    named = ", ".join(f"{feature} ({how})" for feature, how in
                      zip(off["feature"], off["generated vs real"])) or "none"
    margin = max(MIN_GAP, 2 * m["uniform_baseline_spread"])
    verdict = ("more" if gain > margin else "less" if gain < -margin else "about as much")
    return (f"A student forest trained on the 1000 generated rows, labelled with the black box's "
            f"class, agrees with the black box on {100 * m['extraction_agreement']:.1f}% of the "
            f"real test rows (accuracy against the true labels "
            f"{100 * m['extraction_accuracy']:.1f}%); trained on 1000 uniform rows of the schema "
            f"it agrees on {100 * m['uniform_baseline_agreement']:.1f}% (accuracy "
            f"{100 * m['uniform_baseline_accuracy']:.1f}%). So the generated rows teach "
            f"{verdict} about how the black box behaves on real data than rows spread blindly over "
            f"the schema ({gain:+.3f}; the uniform student moves by "
            f"{m['uniform_baseline_spread']:.3f} (standard deviation) between {BASELINE_DRAWS} "
            f"other draws of its rows, so only a gap beyond {margin:.3f}, twice that or at least "
            f"{MIN_GAP}, counts). A classifier tells them from the real training rows with a "
            f"two-sample ROC-AUC of {m['realism_c2st_auc']:.3f} (uniform rows: "
            f"{m['uniform_c2st_auc']:.3f}; 0.5 would be indistinguishable). Their median distance "
            f"to the nearest real training row is {distance['generated']:.3f}, against "
            f"{distance['uniform']:.3f} for uniform rows and {distance['real_test_rows']:.3f} for "
            f"the real test rows. Features where the generated rows are off (median shifted by "
            f"more than {IQR_LIMIT} of the real interquartile range, or category shares with a "
            f"total variation distance above {TV_LIMIT}): {named}.")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def run_dataset(dataset, args):
    started = time.perf_counter()
    rng = common.seed_everything(args.seed)
    box = BlackBox(dataset, args.seed)
    summary = box.summary()
    say(args.quiet, f"{dataset.name}: black box accuracy {summary['accuracy']:.3f}, ROC-AUC "
                    f"{summary['roc_auc']:.3f}, confidence of {box.positive!r}")
    prior = scan_prior(box.encoder, box.score, rng)  # the box's encoder: the schema's ranges
    encoder = common.TabularEncoder(prior, numeric="quantile")
    gan, history, best_epoch, train_seconds = train(encoder, box.score, args.epochs, args.seed,
                                                    rng, args.quiet)
    queries = box.queries

    desired = rng.uniform(size=SAMPLES)
    encoded, answered, one_try_error = gan.verified_sample(desired, rng)
    sampling_queries = box.queries - queries
    generated = encoder.inverse_transform(encoded)
    uniform = uniform_rows(box, rng)
    bins, numbers = measures(box, generated, desired, answered, uniform, args.seed, rng)
    metrics = {"dataset": dataset.name, "class_column": dataset.class_column, **numbers,
               "one_try_mae": float(one_try_error.mean()), "blackbox_queries": queries,
               "sampling_queries": sampling_queries, "best_epoch": best_epoch,
               "epochs": args.epochs,
               "train_seconds": round(train_seconds, 2), "seed": args.seed}
    generated["desired_confidence"] = desired
    generated["blackbox_confidence"] = answered
    features = feature_table(box.train_rows, generated, uniform)

    with common.output_folder(args.out, dataset.name, "part2") as folder:
        common.write_json(folder / "blackbox.json", summary)
        plot_test_confidence(box.test_confidence, box.positive, folder / "test_confidence.png",
                             f"{dataset.name}: forest confidence on the 30% test rows")
        generated.to_csv(folder / "generated_1000.csv", index=False)
        bins.to_csv(folder / "confidence_bins.csv", index=False)
        features.to_csv(folder / "features.csv", index=False)
        plot_scatter(desired, answered, folder / "confidence_scatter.png",
                     f"{dataset.name}: desired vs black-box confidence")
        plot_score_distribution(answered, box.positive, folder / "score_distribution.png",
                                f"{dataset.name}: forest scores of {SAMPLES} generated samples")
        history.to_csv(folder / "losses.csv", index=False)
        common.plot_history(history, folder / "losses.png", f"{dataset.name}: training per epoch",
                            kept_epoch=best_epoch)
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
        common.write_json(folder / "metrics.json", metrics)
        write_report(folder / "report.md", dataset.name, summary, metrics, bins, features)
    say(args.quiet, f"{dataset.name}: mae {metrics['mae']:.4f}  class agreement "
                    f"{metrics['class_agreement']:.3f}  extraction agreement "
                    f"{metrics['extraction_agreement']:.3f} (uniform rows "
                    f"{metrics['uniform_baseline_agreement']:.3f})  realism c2st "
                    f"{metrics['realism_c2st_auc']:.3f}  -> {args.out}/{dataset.name}/part2/")
    return metrics


def uniform_rows(box, rng):
    """SAMPLES rows drawn uniformly from the schema: any number in its range, any category."""
    return box.encoder.inverse_transform(rng.uniform(-1, 1, (SAMPLES, box.encoder.width)))


def measures(box, generated, desired, answered, uniform, seed, rng):
    """The per-bin table and every number of 4b-4d, computed after training; the real rows are
    used here only. rng draws the further uniform rows that show how much the baseline moves."""
    encode = box.encoder.transform
    real_encoded = encode(pd.concat([box.train_rows, box.test_rows]))
    encoded = encode(generated)
    (_, distances), (_, uniform_distances), (_, test_distances) = common.nearest_rows(
        encode(box.train_rows), encoded, encode(uniform), encode(box.test_rows))
    bins = confidence_bins(desired, answered, encoded, real_encoded, box.test_confidence,
                           distances)
    error = np.abs(desired - answered)
    asks_positive = desired >= 0.5
    filled = bins[bins["count"] > 0]
    agreement, accuracy = extraction(box, generated, answered >= 0.5, seed)
    redrawn = [uniform_rows(box, rng) for _ in range(BASELINE_DRAWS)]
    (uniform_agreement, uniform_accuracy), *others = [
        extraction(box, rows, box.score(rows) >= 0.5, seed) for rows in [uniform, *redrawn]]
    baseline_spread = np.std([other_agreement for other_agreement, _ in others])
    return bins, {
        "mae": float(error.mean()),
        "mse": float((error ** 2).mean()),
        "class_agreement": float((asks_positive == (answered >= 0.5)).mean()),
        "mae_by_class": {"positive": float(error[asks_positive].mean()),
                         "negative": float(error[~asks_positive].mean())},
        "mae_by_bin": dict(zip(filled["bin"], filled["mae"])),
        "worst_bin_mae": float(filled["mae"].max()),
        "unique_rows": int(len(generated.drop_duplicates())),
        "diversity": {"overall": diversity(encoded, real_encoded),
                      **dict(zip(filled["bin"], filled["diversity"]))},
        "diversity_min_bin": float(filled["diversity"].min()),
        "diversity_max_bin": float(filled["diversity"].max()),
        "reachable_min": float(answered.min()),
        "reachable_max": float(answered.max()),
        "extraction_agreement": agreement,
        "extraction_accuracy": accuracy,
        "uniform_baseline_agreement": uniform_agreement,
        "uniform_baseline_accuracy": uniform_accuracy,
        "uniform_baseline_spread": float(baseline_spread),
        "realism_c2st_auc": common.c2st_auc(box.encoder, box.train_rows, generated, seed),
        "uniform_c2st_auc": common.c2st_auc(box.encoder, box.train_rows, uniform, seed),
        "nearest_real_distance": {
            "generated": float(np.median(distances)),
            "uniform": float(np.median(uniform_distances)),
            "real_test_rows": float(np.median(test_distances))},
    }


def main(argv=None):
    return common.run_datasets(argv, __doc__.splitlines()[0], EPOCHS, run_dataset)


if __name__ == "__main__":
    common.run_script(main)
