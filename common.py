"""What part1_gan.py and part2_bbgan.py share: command line and settings, ARFF loading, the
reversible tabular encoder, network builders, early stopping on a check, measures, plots and
atomic output folders."""

import argparse
import contextlib
import dataclasses
import inspect
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from functools import cached_property
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# the same kernels on every x86-64 CPU (oneDNN picks its own by instruction set), unless set
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

import arff  # liac-arff: reports the line of a malformed file  # noqa: E402
import keras  # noqa: E402
import matplotlib  # noqa: E402
import report  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402

tf.get_logger().setLevel("ERROR")  # each new network traces its own predict(): no warnings

# figures are drawn small: the PDF sets two side by side within the report's text width
plt.rcParams.update({"font.size": 8, "axes.titlesize": 8.5, "legend.fontsize": 8})
HALF_WIDTH = 3.3  # inches
AXIS_LABELS = {"loss": "cross-entropy", "gap": "G − D loss", "accuracy": "D accuracy",
               "auc": "check AUC", "mae": "mean |C − Y|"}
CURVE_LABELS = {"d_loss": "discriminator", "g_loss": "generator", "answer_loss": "answer head",
                "critic_loss": "realism critic", "d_accuracy_real": "on real rows",
                "d_accuracy_fake": "on generated rows", "d_accuracy": "which of C, Y",
                "batch_mae": "training batches", "heldout_mae": "held-out set",
                "loss_gap": "generator − discriminator", "check_auc": "averaged check"}

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASETS = {"diabetes": "diabetes.arff", "german_credit": "German_credit.arff"}
MIN_ROWS = 20
MEASURE_ROWS = 5000  # measures use at most this many rows per side: cost stays linear in rows
HIDDEN_UNITS = (128, 128)  # every network of both parts: two hidden layers this wide
SLOPE = 0.2  # of their LeakyReLU activations
PROGRESS_LINES = 5  # progress lines over a training run
FINISHED = []  # output folders this run has completed


# --- Command line and user errors -----------------------------------------------------------------


class UserError(Exception):
    """A mistake the user can fix: reported as one line on stderr with exit code 2."""


class CommandLine(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message):
        raise UserError(f"{message} (see --help)")


def command_line(description, epochs_default):
    """The flags both scripts take (see --help)."""
    parser = CommandLine(description=description)
    add = parser.add_argument
    add("--dataset", default="all", help="all (default: both assignment datasets), diabetes, "
                                         "german_credit or a path to an .arff file")
    add("--epochs", type=int, default=epochs_default,
        help=f"training epochs (default {epochs_default})")
    add("--class", dest="class_name", metavar="NAME",
        help="the nominal class attribute (default: `class`, else the last attribute)")
    add("--seed", type=int, default=0, help="random seed for everything (default 0)")
    add("--out", default="outputs",
        help="outputs root; results go to OUT/<dataset>/<part>/ (default outputs)")
    add("--quiet", action="store_true", help="print nothing but errors")
    add("--authors", metavar="TEXT", help="the report's authors, e.g. 'Ada Lovelace (012345678), "
                                          "Alan Turing (876543210)'; kept in OUT/authors.txt")
    add("--set", dest="changes", metavar="NAME=VALUE", action="append", default=[],
        help="run with one of the script's settings changed, e.g. --set EMA=0 (repeatable)")
    add("--ablation", type=int, metavar="SEEDS",
        help="instead of one run: the design and each change of its ABLATION list on seeds 0 to "
             "SEEDS-1, every measure into OUT/ablation.csv")
    return parser


def changed(settings, changes):
    """A copy of the frozen settings with the --set changes ["NAME=VALUE"], typed by field."""
    kinds = {field.name: field.type for field in dataclasses.fields(settings)}
    kinds.pop("EPOCHS")
    expected = {bool: "true or false", int: "a whole number", float: "a number"}
    values = {}
    for change in changes:
        name, equals, text = (part.strip() for part in change.partition("="))
        if not equals or not name:
            raise UserError(f"--set: expected NAME=VALUE, got {change!r}")
        if name not in kinds:
            raise UserError(f"--set {name}: not a setting of this script (--epochs sets the "
                            f"epochs); choose one of {', '.join(sorted(kinds))}")
        kind = kinds[name]
        try:
            values[name] = ({"true": True, "false": False}[text.lower()] if kind is bool
                            else kind(text))
        except (KeyError, ValueError):
            raise UserError(f"--set {name}={text}: {name} takes {expected.get(kind, 'text')}"
                            ) from None
    return dataclasses.replace(settings, **values)


def setting(default, about):
    """A field of a script's frozen Settings: its default, and what it does for the report."""
    return dataclasses.field(default=default, metadata={"about": about})


def described(settings):
    """For metrics.json: the settings as they ran, and what each does."""
    return {"settings": dataclasses.asdict(settings), "settings_about": {
        field.name: field.metadata["about"] for field in dataclasses.fields(settings)}}


def run_script(main):
    """Run main(): a UserError ends in one stderr line, exit 2; Ctrl-C in one line, exit 130."""
    FINISHED.clear()
    try:
        main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        kept = f"; kept the finished {', '.join(map(str, FINISHED))}" if FINISHED else ""
        print(f"interrupted: nothing written{kept}", file=sys.stderr)
        sys.exit(130)


def run_datasets(argv, description, defaults, ablation, run_dataset):
    """Parse the command line, run_dataset(dataset, args, settings) on each dataset (or the
    ablation {description: "NAME=VALUE"}), then rebuild the report; {dataset name: metrics}
    (the ablation: {change: {dataset name: [metrics]}})."""
    args = command_line(description, defaults.EPOCHS).parse_args(argv)
    if args.epochs < 1 or (args.ablation is not None and args.ablation < 1):
        raise UserError("--epochs and --ablation must be at least 1 (see --help)")
    settings = changed(dataclasses.replace(defaults, EPOCHS=args.epochs), args.changes)
    names = list(DATASETS) if args.dataset.strip().lower() == "all" else [args.dataset]
    datasets = [load_dataset(name, args.class_name, args.quiet) for name in names]
    check_writable(args.out)
    if args.authors is not None:
        (Path(args.out) / "authors.txt").write_text(args.authors.strip() + "\n", "utf-8")
    if args.ablation:
        results = run_ablation(datasets, args, settings, ablation, run_dataset)
    else:
        results = {dataset.name: run_dataset(dataset, args, settings) for dataset in datasets}
    report.write_report(args.out, args.quiet)
    return results


def run_ablation(datasets, args, settings, ablation, run_dataset):
    """The design and each change of the ablation on seeds 0 to args.ablation - 1: every scalar
    measure to OUT/ablation.csv (the part's rows replaced); {change: {dataset: [metrics]}}."""
    part = Path(inspect.getfile(run_dataset)).stem.split("_")[0]
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for change, text in {"the design above": "", **ablation}.items():
            results[change] = {dataset.name: [] for dataset in datasets}
            variant = changed(settings, [text] if text else [])
            for seed, dataset in itertools.product(range(args.ablation), datasets):
                say(args.quiet, f"ablation {part}: {change} ({text or 'default'}), "
                                f"{dataset.name}, seed {seed}")
                run = argparse.Namespace(**dict(vars(args), seed=seed, out=scratch, quiet=True))
                metrics = run_dataset(dataset, run, variant)
                results[change][dataset.name].append(metrics)
                rows += [(part, change, text or "default", dataset.name, seed, key, float(value))
                         for key, value in metrics.items()
                         if isinstance(value, (int, float)) and key != "seed"]
    path = Path(args.out) / "ablation.csv"
    table = pd.DataFrame(rows, columns=["part", "change", "setting", "dataset", "seed",
                                        "measure", "value"])
    if path.is_file():
        earlier = pd.read_csv(path)
        table = pd.concat([earlier[earlier["part"] != part], table], ignore_index=True)
    table.to_csv(path, index=False)
    say(args.quiet, f"ablation {part}: {len(rows)} measures -> {path}")
    return results


def say(quiet, *parts):
    """Print progress unless --quiet."""
    if not quiet:
        print(*parts, flush=True)


# --- Data -----------------------------------------------------------------------------------------


@dataclasses.dataclass
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

    @property
    def summary(self):
        """Its size and kinds of attribute (the class apart), for the report."""
        nominal = sum(isinstance(kind, pd.CategoricalDtype) for kind in self.features.dtypes)
        return {"dataset": self.name, "class_column": self.class_column, "rows": len(self.frame),
                "numeric_attributes": self.features.shape[1] - nominal,
                "nominal_attributes": nominal,
                "classes": [str(value) for value in self.labels.cat.categories]}


def load_dataset(name_or_path, class_name=None, quiet=False):
    """An ARFF dataset by name or path: strings and dates left out, missing values filled."""
    key, path = str(name_or_path).strip().lower(), Path(name_or_path)
    if key in DATASETS:
        path = DATA_DIR / DATASETS[key]
    elif path.suffix.lower() != ".arff":
        raise UserError(f"unknown dataset {str(name_or_path)!r}: use one of "
                        f"{', '.join(DATASETS)} or a path to an .arff file")
    elif not path.is_file():
        raise UserError(f"dataset file not found: {path}")
    name = key if key in DATASETS else path.stem.lower()
    attributes, rows, retyped, weighted = _parse_arff(path)
    if weighted:
        say(quiet, f"{name}: {weighted} rows carry an instance weight {{w}}; weights are ignored")
    not_finite = sum(isinstance(value, float) and not np.isfinite(value)
                     for row in rows for value in row)
    frame = pd.DataFrame(rows, columns=[attribute for attribute, _ in attributes])
    skipped = {attribute: retyped.get(attribute, "string") for attribute, kind in attributes
               if not isinstance(kind, list) and kind.upper() == "STRING"}
    if skipped:
        say(quiet, f"{name}: left out {len(skipped)} attribute(s) that are not modelled: "
                   + ", ".join(f"{attribute} ({kind})" for attribute, kind in skipped.items()))
    kinds = {attribute: kind for attribute, kind in attributes if attribute not in skipped}
    if not kinds:
        raise UserError(f"ARFF file {path} has no numeric or nominal attributes")
    frame = frame[list(kinds)].replace([np.inf, -np.inf], np.nan)  # not finite: missing
    missing = int(frame.isna().sum().sum())
    frame = pd.DataFrame({column: _filled(frame[column], kind, retyped.get(column) == "integer")
                          for column, kind in kinds.items()})
    if missing:
        of_them = f" ({not_finite} of them not finite)" if not_finite else ""
        say(quiet, f"{name}: filled {missing} missing values{of_them} (numeric: median, "
                   "nominal: mode)")
    class_column = _class_column(frame, class_name, path)
    if len(frame) < MIN_ROWS or (frame[class_column].value_counts() >= 2).sum() < 2:
        raise UserError(f"dataset {path} is too small to train on: it needs at least {MIN_ROWS} "
                        f"rows and two values of the class {class_column!r} with at least two rows "
                        "each")
    return Dataset(name, frame, class_column)


ATTRIBUTE_LINE = re.compile(r"""^(\s*@attribute\s+('[^']*'|"[^"]*"|\S+)\s+)(\S+)""", re.IGNORECASE)
INSTANCE_WEIGHT = re.compile(r",\s*\{\s*[-+]?[\d.]+(?:e[-+]?\d+)?\s*\}\s*$", re.IGNORECASE)


def _parse_arff(path):
    """(attributes, rows, {name: date or integer}, weighted rows) of an ARFF file: liac-arff reads
    dates as strings and integers as real (it fails on infinite ones); `, {w}` weights dropped."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        lines = raw.decode("latin-1").splitlines()  # Weka's own files are often Latin-1
    data = next((number + 1 for number, line in enumerate(lines)
                 if line.lstrip()[:5].lower() == "@data"), len(lines))
    retyped = {}
    for number, match in enumerate(map(ATTRIBUTE_LINE.match, lines[:data])):
        kind = match and match.group(3).lower()
        if kind in ("date", "integer"):
            retyped[match.group(2).strip("'\"")] = kind
            lines[number] = match.group(1) + ("string" if kind == "date" else "real")
    unweighted = [INSTANCE_WEIGHT.subn("", line) for line in lines[data:]]
    lines[data:] = [line for line, _ in unweighted]
    decoder = arff.ArffDecoder()
    try:
        parsed = decoder.decode(lines)  # a list of lines: its line numbers are the file's
    except Exception as error:  # liac-arff raises more than ArffException on bad input
        # its messages are `%` templates that may quote a `%`: the line goes in by replacement
        line, known = decoder._current_line, isinstance(error, arff.ArffException)
        why = (error.message.replace("%%", "%").replace("%d", str(line))
               if known and isinstance(error.message, str)
               else f"{type(error).__name__}: {error}, at line {line}")
        raise UserError(f"malformed ARFF file {path}: {why}") from None
    if not parsed["attributes"]:
        raise UserError(f"ARFF file {path} declares no attributes")
    if not parsed["data"]:
        raise UserError(f"ARFF file {path} has no data rows after @data")
    return parsed["attributes"], parsed["data"], retyped, sum(found for _, found in unweighted)


def _filled(values, declared, integer=False):
    """A column with missing values filled: categories in declared order, missing ones the mode;
    numbers, missing ones the median, whole ones int64 (integers truncated as liac-arff does)."""
    if isinstance(declared, list):  # liac-arff gives a declared `?` as None: missing, not a value
        categories = list(dict.fromkeys(value for value in declared if value is not None))
        if not categories or values.isna().all():
            raise UserError(f"nominal attribute {values.name!r} has no values")
        return pd.Categorical(values.fillna(values.mode().iloc[0]), categories=categories)
    numbers = pd.to_numeric(values).astype(float)
    numbers = np.trunc(numbers) if integer else numbers
    if numbers.isna().all():
        raise UserError(f"numeric attribute {values.name!r} has no values")
    numbers = numbers.fillna(numbers.median())
    if not np.isfinite(float(numbers.max()) - float(numbers.min())):  # floats: no warning
        raise UserError(f"numeric attribute {values.name!r} spans more than a float holds "
                        f"({numbers.min():g} to {numbers.max():g})")
    whole = np.all(numbers == np.round(numbers)) and numbers.abs().max() < 2**53
    return numbers.astype("int64") if whole else numbers


def _class_column(frame, class_name, path):
    """--class NAME, else the attribute `class`, else the last one; an error unless nominal."""
    nominal = list(frame.select_dtypes("category").columns)
    choices = (f"choose one of the nominal attributes with --class NAME: {', '.join(nominal)}"
               if nominal else "it has no nominal attribute to use as the class")
    matches = [name for name in frame.columns if name.lower() == (class_name or "class").lower()]
    if class_name is not None and not matches:
        raise UserError(f"--class {class_name!r}: {path} has no such attribute; {choices}")
    chosen = matches[0] if matches else frame.columns[-1]
    if chosen not in nominal:
        raise UserError(f"the class attribute {chosen!r} of {path} is numeric, not nominal; "
                        f"{choices}")
    return chosen


# --- Reversible encoding: one record per column drives encoding and generator heads ---------------


@dataclasses.dataclass(frozen=True)
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
    knots: np.ndarray = None  # quantile scaling: sorted distinct values
    cumulative: np.ndarray = None  # quantile scaling: share of rows at or below each knot

    @property
    def end(self):
        return self.offset + self.width

    @cached_property
    def dtype(self):
        """A nominal column's pandas type, built once: encoding runs on every query."""
        return pd.CategoricalDtype(pd.Index(self.categories))


class TabularEncoder:
    """Numbers to [-1, 1] (numeric="range": linearly; "quantile": each value to the middle of its
    share of the rows), nominal attributes one-hot, and back exactly."""

    def __init__(self, frame, numeric="range"):
        if numeric not in ("range", "quantile"):
            raise UserError(f"numbers scale by range or quantile, not {numeric!r}")
        self.numeric, self.columns, self.width = numeric, [], 0
        for name in frame.columns:
            self.columns.append(self._fit_column(name, frame[name], self.width))
            self.width += self.columns[-1].width

    def _fit_column(self, name, values, offset):
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = tuple(values.cat.categories)
            return ColumnSpec(name, "nominal", offset, len(categories), categories=categories)
        numbers = values.to_numpy(dtype=float)
        spec = dict(integer=pd.api.types.is_integer_dtype(values.dtype),
                    low=float(numbers.min()), high=float(numbers.max()))
        if self.numeric == "quantile":
            knots, counts = np.unique(numbers, return_counts=True)
            spec.update(knots=knots, cumulative=np.cumsum(counts) / counts.sum())
        return ColumnSpec(name, "numeric", offset, 1, **spec)

    def transform(self, frame, rng=None):
        """Encode a frame. With rng, quantile-scaled values are spread at random inside their
        value's share (dequantization), which keeps them decoding to the same value."""
        matrix = np.zeros((len(frame), self.width), dtype="float32")
        for spec in self.columns:
            values = frame[spec.name]
            if spec.kind == "nominal":
                # pandas keeps codes as int8 for up to 127 categories: widen before the offset
                codes = pd.Categorical(values, dtype=spec.dtype).codes.astype(np.int64)
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
        knots, upper = spec.knots, spec.cumulative
        index = np.clip(np.searchsorted(knots, numbers), 0, len(knots) - 1)
        lower = np.concatenate([[0.0], upper[:-1]])[index]
        # strictly inside the value's share, so that it decodes back to the value
        share = rng.uniform(0.01, 0.99, size=len(numbers)) if rng is not None else 0.5
        return 2.0 * (lower + share * (upper[index] - lower)) - 1.0

    def inverse_transform(self, matrix):
        """Decode a matrix to a frame with the original columns, order, types and categories."""
        matrix = np.asarray(matrix, dtype=float)
        decoded = {}
        for spec in self.columns:
            block = matrix[:, spec.offset:spec.end]
            if spec.kind == "nominal":
                codes = block.argmax(axis=1)
                decoded[spec.name] = pd.Categorical.from_codes(codes, dtype=spec.dtype)
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
            index = np.searchsorted(spec.cumulative, (scaled + 1.0) / 2.0, side="left")
            numbers = spec.knots[np.clip(index, 0, len(spec.knots) - 1)]
        return np.round(numbers).astype("int64") if spec.integer else numbers


# --- Models ---------------------------------------------------------------------------------------


def seed_everything(seed):
    """Seed Python, NumPy and the backend; return the generator all NumPy sampling uses."""
    keras.utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def hidden_layers(hidden):
    """The hidden layers of every network: Dense layers of HIDDEN_UNITS, LeakyReLU(SLOPE)."""
    for units in HIDDEN_UNITS:
        hidden = keras.layers.LeakyReLU(SLOPE)(keras.layers.Dense(units)(hidden))
    return hidden


def build_mlp(n_inputs, n_outputs=1, name="mlp"):
    """An MLP of hidden_layers() and linear outputs (logits or scores)."""
    hidden = hidden_layers(inputs := keras.Input((n_inputs,)))
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(hidden), name=name)


def describe_network(model, optimizer, role, output):
    """A row of the report's architecture table, read from the network and optimizer trained."""
    dense = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    config = optimizer.get_config()
    return {"network": model.name.replace("_", " "), "role": role,
            "input": int(model.input_shape[-1]),
            "hidden layers": f"{len(HIDDEN_UNITS)} × Dense {HIDDEN_UNITS[0]}, LeakyReLU({SLOPE:g})",
            "output": f"{dense[-1]} {output}", "trainable parameters": int(model.count_params()),
            "optimizer": f"{type(optimizer).__name__} {config['learning_rate']:.3g}, "
                         f"β₁ {config['beta_1']:g}, β₂ {config['beta_2']:g}"}


def averaged_copy(build):
    """(model, average): two networks from build(), the average starting equal to the model."""
    model, average = build(), build()
    average.set_weights(model.get_weights())
    return model, average


def update_average(average, model, decay):
    """One step of the running average of model's weights: decay * average + (1 - decay) * new."""
    for kept, weight in zip(average.weights, model.weights):
        kept.assign(decay * kept + (1.0 - decay) * weight)


def shuffled_batches(array, batch_size, seed):
    """The array's rows as a tf.data dataset of batches, reshuffled every epoch from seed."""
    rows = tf.data.Dataset.from_tensor_slices(array)
    return rows.shuffle(len(array), seed=seed).batch(batch_size)


def gradient_step(optimizer, tape, loss, model):
    """One optimizer step of model's trainable weights down the gradient of loss (from tape)."""
    weights = model.trainable_weights
    optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))


class ColumnHeads(keras.layers.Layer):
    """Output heads, one per encoder record: tanh for a number, softmax over categories."""

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.columns = encoder.columns

    def call(self, encoded):
        return keras.ops.concatenate([self.head(spec, encoded[:, spec.offset:spec.end])
                                      for spec in self.columns], axis=1)

    def head(self, spec, block):
        return keras.ops.tanh(block) if spec.kind == "numeric" else keras.ops.softmax(block)


class SnapToRecords(ColumnHeads):
    """Straight-through exact records: forward, each nominal attribute's first largest output
    becomes its category (one-hot), numbers pass as they are (under quantile scaling every value
    decodes to one the file holds); backward, the gradient of the smooth output."""

    def head(self, spec, block):
        if spec.kind == "numeric":
            return block
        hard = keras.ops.one_hot(keras.ops.argmax(block, axis=1), spec.width, dtype=block.dtype)
        return block + keras.ops.stop_gradient(hard - block)


def build_generator(n_inputs, encoder, name="generator"):
    """An MLP whose output heads follow the encoder's records (see ColumnHeads)."""
    mlp = build_mlp(n_inputs, encoder.width, name=name)
    return keras.Model(mlp.input, ColumnHeads(encoder)(mlp.output), name=name)


def progress_printer(quiet):
    """Prints an epoch's metrics PROGRESS_LINES times over the epochs asked, unless quiet."""

    def line(epoch, logs):
        epochs = printer.params["epochs"]
        if (epoch + 1) % max(1, epochs // PROGRESS_LINES) == 0 or epoch + 1 == epochs:
            numbers = "  ".join(f"{key} {float(value):.3f}" for key, value in logs.items())
            say(quiet, f"epoch {epoch + 1:4d}/{epochs}  {numbers}")

    printer = keras.callbacks.LambdaCallback(on_epoch_end=line)
    return printer


class CheckedStopping(keras.callbacks.EarlyStopping):
    """Keras's early stopping, lower better, on a check(model) every `every` epochs and at the
    last, averaged with the `smooth` - 1 checks before; stops after `patience` checks that beat
    the best by at most min_delta; restores the weights of the lowest check."""

    def __init__(self, name, check, patience, min_delta, every=1, smooth=1):
        super().__init__(monitor=name, min_delta=min_delta, patience=patience, mode="min",
                         restore_best_weights=True)
        self.check, self.every, self.smooth = check, every, smooth

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.checks, self.values = {}, []  # {epoch: averaged check}, raw checks

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run = epoch + 1
        if (epoch + 1) % self.every and epoch + 1 < self.params["epochs"]:
            return
        self.values.append(float(self.check(self.model)))
        value = float(np.mean(self.values[-self.smooth:]))
        lowest = value < min(self.checks.values(), default=np.inf)
        self.checks[epoch + 1] = value
        super().on_epoch_end(epoch, {**(logs or {}), self.monitor: value})
        if lowest and epoch != self.best_epoch:  # lower by less than min_delta: kept, no reset
            self.best_epoch, self.best_weights = epoch, self.model.get_weights()

    def history(self, history):
        """Keras's History as a frame, one row an epoch, with the check where it was taken."""
        frame = pd.DataFrame({"epoch": np.arange(1, len(history.epoch) + 1),
                              **{metric.name: history.history[metric.name]
                                 for metric in self.model.metrics}})
        frame[self.monitor] = frame["epoch"].map(self.checks)
        return frame

    @property
    def summary(self):
        """For metrics.json: the epoch used, whether converged, epochs run, the check there."""
        used = self.best_epoch + 1
        return {"epoch_used": used, "converged": self.stopped_epoch > 0,
                "epochs_run": self.epochs_run, f"{self.monitor}_used": self.checks[used],
                f"{self.monitor}_first": next(iter(self.checks.values()))}


def plot_history(history, path, title, used=None):
    """A panel per kind of column (loss, gap, accuracy, check); a dotted line at the epoch used."""
    panels = {}
    for column in history.columns.drop("epoch"):
        kind = "accuracy" if "accuracy" in column else column.rsplit("_", 1)[-1]
        panels.setdefault(kind, []).append(column)
    figure, axes = plt.subplots(len(panels), 1, figsize=(HALF_WIDTH, 0.8 + 1.0 * len(panels)),
                                sharex=True, squeeze=False)
    for axis, (kind, columns) in zip(axes[:, 0], panels.items()):
        for column in columns:
            taken = history[["epoch", column]].dropna()
            axis.plot(taken["epoch"], taken[column], label=CURVE_LABELS.get(column, column),
                      marker="." if len(taken) < len(history) else None)
        if used is not None:
            axis.axvline(used, color="grey", linestyle=":", linewidth=1)
        if kind in ("accuracy", "gap"):
            axis.axhline(0.5 if kind == "accuracy" else 0.0, color="grey", linestyle=":",
                         linewidth=1)
        if kind == "gap":  # a scale for who leads, not for the first epochs' swing
            bound = 1.3 * np.nanpercentile(np.abs(history[columns].to_numpy()), 95)
            axis.set_ylim(-bound, bound)
        axis.set_ylabel(AXIS_LABELS.get(kind, kind))
        if len(columns) > 1:  # above the curves, in room made at the top of the panel
            low, high = axis.get_ylim()
            axis.set_ylim(low, high + 0.4 * -(-len(columns) // 2) * (high - low))
            axis.legend(ncols=2, loc="upper center", framealpha=0.8, handlelength=1.2,
                        columnspacing=0.8, borderpad=0.2, labelspacing=0.2)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("epoch")
    save_figure(figure, path)


def histogram(parts, labels, path, bins, stacked=False, **labelled):
    """Two groups of values in [0, 1] in `bins` red and blue bars; labelled: axes' title, labels."""
    figure, axis = plt.subplots(figsize=(HALF_WIDTH, 2.2))
    axis.hist(parts, bins=np.linspace(0, 1, bins + 1), stacked=stacked,
              color=["tab:red", "tab:blue"], label=labels)
    axis.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.set(**labelled)
    axis.set_ylim(top=1.4 * axis.get_ylim()[1])  # room for the legend above the bars
    axis.legend(loc="upper center", framealpha=0.8)
    save_figure(figure, path)


# --- Measures both parts use ----------------------------------------------------------------------


def at_most(frame, count, seed):
    """The frame itself, or a random subset of count rows when it is longer."""
    return frame if len(frame) <= count else frame.sample(count, random_state=seed)


def two_sample_test(encoder, real, synthetic, seed, folds=5, rounds=100):
    """Gradient boosting tells real from synthetic rows (at most MEASURE_ROWS each), 5-fold: its
    mean ROC-AUC, and each synthetic row's out-of-fold probability of being real (a Series)."""
    real, synthetic = at_most(real, MEASURE_ROWS, seed), at_most(synthetic, MEASURE_ROWS, seed)
    features = np.vstack([encoder.transform(real), encoder.transform(synthetic)])
    is_synthetic = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    model = HistGradientBoostingClassifier(max_iter=rounds, random_state=seed)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(features,
                                                                               is_synthetic))
    synthetic_odds = cross_val_predict(model, features, is_synthetic, cv=splits,
                                       method="predict_proba")[:, 1]
    auc = np.mean([roc_auc_score(is_synthetic[test], synthetic_odds[test]) for _, test in splits])
    return float(auc), pd.Series(1.0 - synthetic_odds[len(real):], index=synthetic.index)


def column_likeness(real, synthetic):
    """Per column, how alike the two columns' distributions are: 1 - Kolmogorov-Smirnov
    statistic for numbers, 1 - total variation distance of the shares for categories."""
    def likeness(name):
        if isinstance(real[name].dtype, pd.CategoricalDtype):
            shares = [rows[name].value_counts(normalize=True) for rows in (real, synthetic)]
            return 1.0 - 0.5 * float(shares[0].sub(shares[1], fill_value=0.0).abs().sum())
        return 1.0 - ks_2samp(real[name], synthetic[name], method="asymp").statistic
    return pd.Series({name: likeness(name) for name in real.columns}, dtype=float)


def nearest_rows(reference, *queries):
    """Per query matrix (None: the reference itself, less each row), (index, distance) of each
    row's nearest reference row, from one neighbours index."""
    index = NearestNeighbors(n_neighbors=1).fit(reference)
    return [(found[:, 0], distances[:, 0]) for distances, found in map(index.kneighbors, queries)]


# --- Output folders and files ---------------------------------------------------------------------


@contextlib.contextmanager
def output_folder(out_root, dataset_name, part):
    """Yield a temporary folder that replaces OUT/<dataset>/<part> only when the run completes."""
    final = Path(out_root) / dataset_name / part
    check_writable(final.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{part}-", dir=final.parent))
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
    FINISHED.append(final)


def check_writable(folder):
    """Fail early, before any training, when an output folder cannot be written."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise UserError(f"cannot write to {folder}: {error.strerror or error}; choose another "
                        "--out") from None


def write_json(path, data):
    Path(path).write_text(json.dumps(data, indent=2) + "\n", "utf-8")


def save_figure(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=200)
    plt.close(figure)
