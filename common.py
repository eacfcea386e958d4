"""What part1_gan.py and part2_bbgan.py share: command line, ARFF loading, the reversible
tabular encoder, model builders, plots and atomic output folders."""

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import arff  # liac-arff: reports the line of a malformed file
import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASETS = {"diabetes": "diabetes.arff", "german_credit": "German_credit.arff"}
MIN_ROWS = 20


# ---------------------------------------------------------------------------
# Command line and user errors
# ---------------------------------------------------------------------------


class UserError(Exception):
    """A mistake the user can fix: reported as one line on stderr with exit code 2."""


class CommandLine(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message):
        raise UserError(f"{message} (see --help)")


def positive_int(text):
    """argparse type for counts that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def command_line(description, dataset_help, dataset_default=None, epochs_default=100):
    """The flags both scripts take: --dataset, --epochs, --seed, --out, --quiet."""
    parser = CommandLine(description=description)
    parser.add_argument("--dataset", required=dataset_default is None, default=dataset_default,
                        help=dataset_help)
    parser.add_argument("--epochs", type=positive_int, default=epochs_default,
                        help=f"training epochs (default {epochs_default})")
    parser.add_argument("--seed", type=int, default=0, help="random seed for everything (default 0)")
    parser.add_argument("--out", default="outputs",
                        help="outputs root; results go to OUT/<dataset>/<part>/ (default outputs)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def run_script(main):
    """Run main() and turn a UserError into one line on stderr and exit code 2."""
    try:
        main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def say(quiet, *parts):
    """Print progress unless --quiet."""
    if not quiet:
        print(*parts, flush=True)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass
class Dataset:
    """A loaded ARFF table: nominal columns are pandas categoricals in declared order."""

    name: str
    frame: pd.DataFrame
    class_column: str

    @property
    def features(self):
        return self.frame.drop(columns=self.class_column)

    @property
    def labels(self):
        return self.frame[self.class_column]


def resolve_dataset(name_or_path):
    """Map a known dataset name or a path to an .arff file to (name, path)."""
    key = str(name_or_path).strip().lower()
    if key in DATASETS:
        return key, DATA_DIR / DATASETS[key]
    path = Path(name_or_path)
    if path.suffix.lower() != ".arff":
        known = ", ".join(DATASETS)
        raise UserError(f"unknown dataset {str(name_or_path)!r}: use one of {known} "
                        "or a path to an .arff file")
    if not path.is_file():
        raise UserError(f"dataset file not found: {path}")
    return path.stem.lower(), path


def load_dataset(name_or_path, quiet=False):
    """Load an ARFF dataset by name or path, fill missing values and find the class column."""
    name, path = resolve_dataset(name_or_path)
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = arff.load(handle)
    except arff.ArffException as error:
        raise UserError(f"malformed ARFF file {path}: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    attributes = parsed["attributes"]
    if not attributes:
        raise UserError(f"ARFF file {path} declares no attributes")
    names = [attribute_name for attribute_name, _ in attributes]
    frame = pd.DataFrame(parsed["data"], columns=names)
    missing = 0
    for column, kind in attributes:
        missing += int(frame[column].isna().sum())
        if isinstance(kind, list):
            frame[column] = _fill_nominal(frame[column], kind)
        elif kind.upper() in ("NUMERIC", "REAL", "INTEGER"):
            frame[column] = _fill_numeric(frame[column])
        else:
            raise UserError(f"attribute {column!r} in {path} is of type {kind}: "
                            "only numeric and nominal attributes are supported")
    if missing:
        say(quiet, f"{name}: filled {missing} missing values (numeric: median, nominal: mode)")
    class_column = _class_column(attributes, path)
    classes_present = frame[class_column].value_counts()
    if len(frame) < MIN_ROWS or (classes_present >= 2).sum() < 2:
        raise UserError(f"dataset {path} is too small to train on: it needs at least {MIN_ROWS} "
                        "rows and two classes with at least two rows each")
    return Dataset(name, frame, class_column)


def _fill_numeric(values):
    numbers = pd.to_numeric(values).astype(float)
    if numbers.isna().all():
        raise UserError(f"numeric attribute {values.name!r} has no values")
    numbers = numbers.fillna(numbers.median())
    if np.all(numbers == np.round(numbers)):
        return numbers.astype("int64")
    return numbers


def _fill_nominal(values, categories):
    if values.isna().all():
        raise UserError(f"nominal attribute {values.name!r} has no values")
    values = values.fillna(values.mode().iloc[0])
    return pd.Categorical(values, categories=categories)


def _class_column(attributes, path):
    nominal = [name for name, kind in attributes if isinstance(kind, list)]
    for name in nominal:
        if name.lower() == "class":
            return name
    if not nominal:
        raise UserError(f"dataset {path} has no nominal attribute to use as the class")
    return nominal[-1]


def schema_frame(frame):
    """Two rows that carry only the schema of a frame: each number's minimum and maximum (same
    types) and each nominal attribute's declared categories. Enough to fit a range encoder."""
    schema = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            first = values.cat.categories[0]
            schema[name] = pd.Categorical([first, first], categories=values.cat.categories)
        else:
            schema[name] = pd.Series([values.min(), values.max()], dtype=values.dtype)
    return pd.DataFrame(schema)


# ---------------------------------------------------------------------------
# Reversible encoding: one record per column drives encoding and generator heads
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is encoded: its place in the matrix and what it needs to be decoded."""

    name: str
    kind: str  # "numeric" or "nominal"
    offset: int
    width: int
    categories: tuple = ()
    integer: bool = False
    low: float = 0.0
    high: float = 0.0
    knots: tuple = ()  # quantile scaling: sorted distinct values
    cumulative: tuple = ()  # quantile scaling: share of rows at or below each knot

    @property
    def end(self):
        return self.offset + self.width


class TabularEncoder:
    """Numbers to [-1, 1], nominal attributes one-hot, and back exactly.

    numeric="range" scales linearly between the observed minimum and maximum (schema only);
    numeric="quantile" maps each distinct value to the middle of its share of the empirical
    distribution, so skewed and zero-inflated columns become uniform and decode to observed values.
    """

    def __init__(self, frame, numeric="range"):
        if numeric not in ("range", "quantile"):
            raise ValueError(f"numeric must be 'range' or 'quantile', not {numeric!r}")
        self.numeric = numeric
        self.columns = []
        offset = 0
        for name in frame.columns:
            spec = self._fit_column(name, frame[name], offset)
            self.columns.append(spec)
            offset += spec.width
        self.width = offset

    def _fit_column(self, name, values, offset):
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = tuple(values.cat.categories)
            return ColumnSpec(name, "nominal", offset, len(categories), categories=categories)
        numbers = values.to_numpy(dtype=float)
        spec = dict(integer=pd.api.types.is_integer_dtype(values.dtype),
                    low=float(numbers.min()), high=float(numbers.max()))
        if self.numeric == "quantile":
            knots, counts = np.unique(numbers, return_counts=True)
            spec.update(knots=tuple(knots), cumulative=tuple(np.cumsum(counts) / counts.sum()))
        return ColumnSpec(name, "numeric", offset, 1, **spec)

    @property
    def names(self):
        return [spec.name for spec in self.columns]

    def transform(self, frame, rng=None):
        """Encode a frame. With rng, quantile-scaled values are spread at random inside their
        value's share (dequantization), which keeps them decoding to the same value."""
        matrix = np.zeros((len(frame), self.width), dtype="float32")
        for spec in self.columns:
            values = frame[spec.name]
            if spec.kind == "nominal":
                codes = pd.Categorical(values, categories=spec.categories).codes
                if (codes < 0).any():
                    raise ValueError(f"column {spec.name!r} has values outside its categories")
                matrix[np.arange(len(frame)), spec.offset + codes] = 1.0
            else:
                matrix[:, spec.offset] = self._scale(spec, values.to_numpy(dtype=float), rng)
        return matrix

    def _scale(self, spec, numbers, rng):
        if spec.high == spec.low:
            return np.zeros_like(numbers)
        if self.numeric == "range":
            return 2.0 * (numbers - spec.low) / (spec.high - spec.low) - 1.0
        knots, upper = np.array(spec.knots), np.array(spec.cumulative)
        index = np.clip(np.searchsorted(knots, numbers), 0, len(knots) - 1)
        lower = np.concatenate([[0.0], upper[:-1]])[index]
        share = rng.uniform(size=len(numbers)) if rng is not None else 0.5
        return 2.0 * (lower + share * (upper[index] - lower)) - 1.0

    def inverse_transform(self, matrix):
        """Decode a matrix to a frame with the original columns, order, types and categories."""
        matrix = np.asarray(matrix, dtype=float)
        decoded = {}
        for spec in self.columns:
            block = matrix[:, spec.offset:spec.end]
            if spec.kind == "nominal":
                codes = block.argmax(axis=1)
                decoded[spec.name] = pd.Categorical.from_codes(codes, categories=spec.categories)
            else:
                decoded[spec.name] = self._unscale(spec, np.clip(block[:, 0], -1.0, 1.0))
        return pd.DataFrame(decoded)

    def _unscale(self, spec, scaled):
        if spec.high == spec.low:
            numbers = np.full(len(scaled), spec.low)
        elif self.numeric == "range":
            numbers = np.clip(spec.low + (scaled + 1.0) / 2.0 * (spec.high - spec.low),
                              spec.low, spec.high)
        else:
            index = np.searchsorted(np.array(spec.cumulative), (scaled + 1.0) / 2.0, side="left")
            numbers = np.array(spec.knots)[np.clip(index, 0, len(spec.knots) - 1)]
        return np.round(numbers).astype("int64") if spec.integer else numbers


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def seed_everything(seed):
    """Seed Python, NumPy and the backend; return the generator all NumPy sampling uses."""
    keras.utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def build_mlp(n_inputs, hidden_units, n_outputs=1, name="mlp"):
    """A plain MLP with LeakyReLU layers and linear outputs (logits or scores)."""
    inputs = keras.Input((n_inputs,))
    hidden = inputs
    for units in hidden_units:
        hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units)(hidden))
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(hidden), name=name)


class SnapToRecords(keras.layers.Layer):
    """Straight-through rounding: the forward pass gives exactly what the encoder would give for
    the decoded row (integers rounded, one category chosen), the backward pass the smooth output."""

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder

    def call(self, encoded):
        parts = []
        for spec in self.encoder.columns:
            soft = encoded[:, spec.offset:spec.end]
            if spec.kind == "nominal":
                hard = keras.ops.one_hot(keras.ops.argmax(soft, axis=1), spec.width)
            elif spec.integer and spec.high > spec.low and self.encoder.numeric == "range":
                span = spec.high - spec.low
                hard = 2.0 * keras.ops.round((soft + 1.0) / 2.0 * span) / span - 1.0
            else:
                hard = soft
            parts.append(soft + keras.ops.stop_gradient(hard - soft))
        return keras.ops.concatenate(parts, axis=1)


def build_generator(n_inputs, encoder, hidden_units, logit_limit=None, name="generator"):
    """An MLP whose output heads follow the encoder's records: tanh for each number,
    softmax for each nominal attribute (SnapToRecords turns them into exact records). With
    logit_limit, category logits stay within +-logit_limit, so a category choice never
    saturates its softmax and keeps a gradient."""
    inputs = keras.Input((n_inputs,))
    hidden = inputs
    for units in hidden_units:
        hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units)(hidden))
    heads = []
    for index, spec in enumerate(encoder.columns):
        if spec.kind == "numeric":
            heads.append(keras.layers.Dense(1, activation="tanh", name=f"head_{index}")(hidden))
            continue
        logits = keras.layers.Dense(spec.width, name=f"head_{index}")(hidden)
        if logit_limit:
            logits = keras.layers.Rescaling(logit_limit)(keras.layers.Activation("tanh")(logits))
        heads.append(keras.layers.Softmax()(logits))
    outputs = keras.layers.Concatenate()(heads) if len(heads) > 1 else heads[0]
    return keras.Model(inputs, outputs, name=name)


class TrainingMonitor(keras.callbacks.Callback):
    """Records every epoch's metrics; every few epochs scores the model (lower is better), keeps
    the best weights, prints a progress line, and restores the best weights when training ends."""

    def __init__(self, every, quiet, score, score_name):
        super().__init__()
        self.every, self.quiet, self.score, self.score_name = every, quiet, score, score_name
        self.rows, self.best_score, self.best_epoch, self.best_weights = [], np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{key: float(value) for key, value in (logs or {}).items()}}
        self.rows.append(row)
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.params["epochs"]:
            self._check(row)

    def _check(self, row):
        row[self.score_name] = value = float(self.score())
        if value < self.best_score:
            self.best_score, self.best_epoch = value, row["epoch"]
            self.best_weights = self.model.get_weights()
        numbers = "  ".join(f"{key} {value:.3f}" for key, value in row.items() if key != "epoch")
        say(self.quiet, f"epoch {row['epoch']:4d}/{self.params['epochs']}  {numbers}  "
                        f"(best {self.best_score:.3f} at epoch {self.best_epoch})")

    def on_train_end(self, logs=None):
        self.model.set_weights(self.best_weights)

    @property
    def frame(self):
        return pd.DataFrame(self.rows)


def plot_history(history, path, title, kept_epoch=None):
    """Losses on top, accuracies below, one line per column of the history frame; a dashed
    line marks the epoch whose weights were kept."""
    losses = [c for c in history.columns if c.endswith("loss")]
    accuracies = [c for c in history.columns if "accuracy" in c]
    figure, axes = plt.subplots(2 if accuracies else 1, 1, figsize=(8, 6 if accuracies else 4),
                                sharex=True, squeeze=False)
    for column in losses:
        axes[0, 0].plot(history["epoch"], history[column], label=column.replace("_", " "))
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].set_title(title)
    if accuracies:
        for column in accuracies:
            axes[1, 0].plot(history["epoch"], history[column], label=column.replace("_", " "))
        axes[1, 0].axhline(0.5, color="grey", linestyle=":", linewidth=1)
        axes[1, 0].set_ylabel("accuracy")
        axes[1, 0].legend()
    if kept_epoch is not None:
        for axis in axes[:, 0]:
            axis.axvline(kept_epoch, color="black", linestyle="--", linewidth=1)
        axes[0, 0].plot([], [], color="black", linestyle="--", linewidth=1,
                        label=f"kept epoch {kept_epoch}")
    axes[0, 0].legend()
    axes[-1, 0].set_xlabel("epoch")
    save_figure(figure, path)


# ---------------------------------------------------------------------------
# Output folders and files
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def output_folder(out_root, dataset_name, part):
    """Yield a temporary folder that replaces OUT/<dataset>/<part> only when the run completes."""
    final = Path(out_root) / dataset_name / part
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{part}-", dir=final.parent))
    except OSError as error:
        raise UserError(f"cannot write to --out {out_root}: {error.strerror or error}") from None
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            final.parent.rmdir()  # only if this run created it and left it empty
        raise
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def check_writable(out_root):
    """Fail early, before any training, when the outputs root cannot be written."""
    root = Path(out_root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as error:
        raise UserError(f"cannot write to --out {out_root}: {error.strerror or error}") from None


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def save_figure(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
