"""The assignment's report, written from the numbers of the runs under OUT (each run's
metrics.json, tables and figures): OUT/report.md and OUT/report.pdf for both parts and datasets,
and each run's own report.md. Every sentence that states a result is computed from them."""

import ast
import json
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import matplotlib
import mistletoe
import numpy as np
import pandas as pd
import PIL.Image
from fpdf import FPDF

TITLE = "Tabular GANs with Keras: a GAN on ARFF data, and a generator against a black box"
PARTS = {"part1": ("Part 1 — a GAN on tabular data", "part1_gan.py"),
         "part2": ("Part 2 — a generator against a random-forest black box", "part2_bbgan.py")}
HERE = Path(__file__).resolve().parent
ABLATION = HERE / "data" / "ablation.csv"
LN2 = float(np.log(2.0))  # a mean binary cross-entropy when every row is scored 0.5
WIDE = 12  # example tables with more attributes than this go to the appendix
NBSP = "\u00a0"  # keeps "± sd" together in table cells


@dataclass
class Run:
    """One finished run (OUT/<name>/<part>/); `path` is its folder as the report sees it."""

    name: str
    folder: Path
    path: str

    @cached_property
    def m(self):
        """Its metrics, with Part 2's blackbox.json under `box`."""
        metrics = json.loads((self.folder / "metrics.json").read_text("utf-8"))
        box = self.folder / "blackbox.json"
        return {**metrics, "box": json.loads(box.read_text("utf-8"))} if box.is_file() else metrics

    def csv(self, file):
        return pd.read_csv(self.folder / file)


# --- Sentences and tables from the runs' numbers ---------------------------------------------
# A spec is a format string over a run's metrics ("{mae:.4f}") or a function of the run.


def cell(run, spec):
    return spec(run) if callable(spec) else spec.format(**run.m)


def each(runs, spec):
    """The spec for every run: "A on diabetes and B on german_credit" (one run: "A")."""
    parts = [cell(run, spec) + (f" on {run.name}" if len(runs) > 1 else "") for run in runs]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def per_run(runs, spec):
    """A sentence per run: "On diabetes, ... On german_credit, ..." (one run: no prefix)."""
    if len(runs) == 1:
        sentence = cell(runs[0], spec)
        return f"{sentence[0].upper()}{sentence[1:]}."
    return " ".join(f"On {run.name}, {cell(run, spec)}." for run in runs)


def compare(runs, rows):
    """A table with a column per dataset; rows: (label, spec)."""
    return markdown_table(pd.DataFrame([[label, *(cell(run, spec) for run in runs)]
                                        for label, spec in rows],
                                       columns=["", *(run.name for run in runs)]))


def markdown_table(frame):
    """A frame as a Markdown table; floats with at most three decimals, bars escaped."""
    def text(value):
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(text(name) for name in frame.columns) + " |",
             "| " + " | ".join("---" for _ in frame.columns) + " |"]
    lines += ["| " + " | ".join(text(value) for value in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def formatted(values, spec):
    """A column of numbers as text (blank where missing)."""
    return values.map(lambda value: "" if pd.isna(value) else format(value, spec))


def figures(runs, file, caption):
    """One figure per dataset, set side by side in the PDF under one caption."""
    return " ".join(f"![{run.name}: {caption}]({run.path}{file})" for run in runs)


def nearer(fooled, other):
    """How much closer to real records the fooled rows lie than the others, in words."""
    if fooled is None or not other:
        return "where they cannot be compared (one group is empty)"
    gap = (other - fooled) / other
    if abs(gap) < 0.05:
        return "about as close to real records"
    return f"{abs(100 * gap):.0f}% {'closer to' if gap > 0 else 'farther from'} real records"


# --- Title block and architecture -----------------------------------------------------------------


def title_block(root, runs):
    """Title, authors (OUT/authors.txt), date of the newest run and the datasets."""
    authors = root / "authors.txt"
    names = (authors.read_text("utf-8").strip() if authors.is_file() else
             '*not set: run either script once with `--authors "Name (ID), Name (ID)"`; '
             "later runs keep them*")
    newest = max(run.folder.joinpath("metrics.json").stat().st_mtime for run in runs)
    datasets = {run.name: run for run in runs}.values()
    described = "; ".join(cell(run, "**{dataset}**, {rows} rows, {numeric_attributes} numeric "
                                    "and {nominal_attributes} nominal attributes besides the "
                                    "class `{class_column}`") + f" ({', '.join(run.m['classes'])})"
                          for run in datasets)
    return [f"# {TITLE}", "", f"**Authors:** {names}", "",
            f"**Date of the run:** {date.fromtimestamp(newest):%d %B %Y}", "",
            f"Datasets: {described}. Every number below is computed from the runs' outputs; "
            "the Appendix holds the ablation of each design, the definitions of the measures "
            "and the wide tables.", ""]


def architecture(runs):
    """The networks that ran (a column each) and the script's constants, as two tables;
    values that depend on the dataset are given per dataset."""
    def values(entries):
        return " / ".join(dict.fromkeys(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool)
                                        else str(v) for v in entries))

    networks = list(zip(*(run.m["architecture"] for run in runs)))
    keys = [key for key in networks[0][0] if key != "network"]
    table = pd.DataFrame({"": keys, **{versions[0]["network"]: [
        values(version[key] for version in versions) for key in keys] for versions in networks}})
    pairs = [(key, values(run.m["settings"][key] for run in runs))
             for key in runs[0].m["settings"]]
    half = (len(pairs) + 1) // 2
    rows = [[*pairs[i], *(pairs[i + half] if i + half < len(pairs) else ("", ""))]
            for i in range(half)]
    widths = (f" Where two values are given, they are {' / '.join(run.name for run in runs)}."
              if len(runs) > 1 else "")
    return ["### Architecture and hyper-parameters", "",
            "Read from the networks and constants that ran. Every network is a multilayer "
            "perceptron; `heads`: one linear unit per encoded column, tanh for each number and "
            f"a softmax over each nominal attribute's categories.{widths}", "",
            markdown_table(table), "",
            markdown_table(pd.DataFrame(rows, columns=["constant", "value"] * 2)), ""]


# --- Part 1 ---------------------------------------------------------------------------------------


def method(part):
    """The Method section: the part's script docstring, which says what it does and why."""
    text = ast.get_docstring(ast.parse((HERE / PARTS[part][1]).read_text("utf-8")))
    return ["### Method", "", text.split("\n\n", 2)[2], ""]


def examples_table(run, count=2):
    """The discriminator's count most convincing rows that fooled it and least convincing
    that did not, each beside its nearest real record: attributes down, rows across."""
    header, table = [""], None
    for label, file in (("fooled", "fooled.csv"), ("not fooled", "not_fooled.csv")):
        examples = run.csv(file)
        columns = [c for c in examples.columns if f"nearest_real_{c}" in examples.columns]
        table = table or [["discriminator score"], ["distance"], *([c] for c in columns)]
        examples = examples[examples["chosen_by"] == "discriminator"].reset_index(drop=True)
        for index, row in examples.head(count).iterrows():
            header += [f"{label} {index + 1}", "nearest real"]
            own = [row["discriminator_score"], row["distance"], *row[columns]]
            real = ["", "", *row[[f"nearest_real_{c}" for c in columns]]]
            for line, mine, theirs in zip(table, own, real):
                line += [mine, theirs]
    return markdown_table(pd.DataFrame(table, columns=header))


def is_wide(run):
    return run.m["numeric_attributes"] + run.m["nominal_attributes"] + 1 > WIDE


def indifferent(runs):
    """Whether the discriminator scores all of the 100 samples within a hair of 0.5."""
    return all(r.m["score_max_of_100"] - r.m["score_min_of_100"] < 0.05 for r in runs)


def answer_3a(runs):
    def judged(prefix):
        return lambda r: nearer(r.m[f"{prefix}mean_distance_fooled"],
                                r.m[f"{prefix}mean_distance_not_fooled"])

    def distances(prefix):
        return lambda r: " / ".join("–" if r.m[key] is None else f"{r.m[key]:.3f}" for key in (
            f"{prefix}mean_distance_fooled", f"{prefix}mean_distance_not_fooled"))

    def scale(run):
        m = run.m
        total = sum(m[f"mean_distance_{group}"] * m[f"{group}_count"]
                    for group in ("fooled", "not_fooled") if m[f"{group}_count"])
        return f"×{total / m['examined_rows'] / m['real_nearest_distance']:.1f}"

    wide = [r.name for r in runs if is_wide(r)]
    lines = ["### 3a. Samples that fooled the discriminator and samples that did not", "",
             "**Answer.** Against the rows that did not fool it, the rows that fooled the "
             f"discriminator lie {each(runs, judged(''))}" + (
                 ": at the end of training it sits at the GAN's equilibrium, scoring every row "
                 "close to 0.5, and its verdict says little about a single row"
                 if indifferent(runs) else "") + ". Against the rows the two-sample "
             f"classifier caught, the rows that fooled it lie {each(runs, judged('detector_'))}.",
             "", "Distances are Euclidean in the encoded space (numbers in [−1, 1], another "
             "category adds 1.41). For scale, a real row lies on average "
             f"{each(runs, '{real_nearest_distance:.3f}')} from its nearest other real row, and "
             f"the generated rows lie {each(runs, scale)} that far from the data (×1: as close "
             "as real rows are to each other).", "",
             compare(runs, [
                 ("rows that fooled the discriminator / did not",
                  "{fooled_count} / {not_fooled_count}"),
                 ("their mean distance to the nearest real record", distances("")),
                 ("rows that fooled the two-sample classifier / did not",
                  "{detector_fooled_count} / {detector_not_fooled_count}"),
                 ("their mean distance to the nearest real record", distances("detector_")),
                 ("two-sample classifier ROC-AUC (0.5: it cannot tell)", "{detector_auc:.3f}"),
                 ("a real row to its nearest other real row", "{real_nearest_distance:.3f}")]),
             ""]
    for run in runs:
        if not is_wide(run):
            lines += ["The discriminator's two most convincing rows that fooled it and two least "
                      "convincing that did not, beside their nearest real records "
                      f"({run.name}):", "", examples_table(run), ""]
    lines += [(f"{' and '.join(wide)}'s example rows are in the Appendix (*Wide tables*). "
               if wide else "") + "All ten of each, for both judges, are in `fooled.csv` and "
              "`not_fooled.csv`.", "",
              figures(runs, "samples.png", "the most and least convincing samples (crosses) of "
                      "each judge, lines to their nearest real records, on the first two "
                      "principal components of the real rows"), ""]
    return lines


def answer_3b(runs):
    return ["### 3b. 100 random samples", "",
            f"**Answer.** Of 100 random samples, {each(runs, '{passed_of_100}')} passed the "
            "discriminator (probability of being real ≥ 0.5), and "
            f"{each(runs, '{detector_passed_of_100}')} passed the two-sample classifier. " + (
                "The discriminator scores every one of them within a hair of 0.5 (table), so "
                "whether a row passes it is close to a coin toss; a generator that neither "
                "judge could tell from the data would pass about half of each."
                if indifferent(runs) else "The discriminator's scores spread widely (table)."),
            "", compare(runs, [
                ("passed the discriminator", "{passed_of_100}"),
                ("its scores, lowest–highest", "{score_min_of_100:.3f}–{score_max_of_100:.3f}"),
                ("passed the two-sample classifier", "{detector_passed_of_100}"),
                ("its scores, lowest–highest",
                 "{detector_score_min_of_100:.3f}–{detector_score_max_of_100:.3f}")]), ""]


def answer_3c(runs):
    def lead(run):
        share = run.m["discriminator_lead_share"]
        leader, held = ("discriminator", share) if share >= 0.5 else ("generator", 1 - share)
        gap = abs(run.m["mean_loss_gap"])
        return (f"the {leader} led in {100 * held:.1f}% of the epochs, by {gap:.4f} on average "
                f"({100 * gap / LN2:.1f}% of ln 2)")

    def changes(run):
        held = max(run.m["discriminator_lead_share"], 1 - run.m["discriminator_lead_share"])
        return f"{run.m['lead_changes']} (" + ("held most of the time" if held >= 0.8 else
                                               "back and forth" if held < 0.6 else
                                               "held more often than not") + ")"

    ties = all(abs(r.m["mean_loss_gap"]) < 0.01 * LN2 for r in runs)
    balanced = all(max(abs(r.m["final_d_loss"] - LN2), abs(r.m["final_g_loss"] - LN2)) < 0.02
                   for r in runs)
    return ["### 3c. Generator and discriminator losses: who led", "",
            f"**Answer.** {per_run(runs, lead)} " + (
                "So one side led on paper, but by less than 1% of the losses' value: in effect a "
                "tie." if ties else "The gap is large enough to matter.") + (
                " Both losses stayed near ln 2 = 0.693, the value at which the discriminator "
                "gives every row 0.5: the game converged to its equilibrium rather than one side "
                "winning." if balanced else " The final losses are away from ln 2 = 0.693: one "
                "side was winning at the end."), "",
            compare(runs, [
                ("share of the epochs the discriminator led (lower loss)",
                 lambda r: f"{100 * r.m['discriminator_lead_share']:.1f}%"),
                ("times the lead changed hands", changes),
                ("generator − discriminator loss, mean: all epochs / last quarter",
                 "{mean_loss_gap:+.4f} / {late_loss_gap:+.4f}"),
                ("final losses: discriminator / generator",
                 "{final_d_loss:.3f} / {final_g_loss:.3f}"),
                ("final discriminator accuracy: real / generated rows",
                 "{final_d_accuracy_real:.2f} / {final_d_accuracy_fake:.2f}")]), "",
            figures(runs, "losses.png", "losses and discriminator accuracy per epoch"), ""]


def fidelity(runs):
    return ["### How good are the synthetic rows", "",
            f"A classifier tells them from real rows with ROC-AUC {each(runs, '{c2st_auc:.3f}')}"
            " (0.5: indistinguishable, 1: trivially told apart). Rows whose columns are drawn "
            "independently from the real data show what the real marginals alone give: their "
            "column shapes are what sampling each real column gives, their pair trends what "
            "knowing no dependence between columns gives.", "",
            compare(runs, [
                ("forest trained on synthetic / on real rows: accuracy on real",
                 "{tstr_accuracy:.3f} / {trtr_accuracy:.3f}"),
                ("column shapes (independent columns)",
                 "{column_shapes:.3f} ({independent_column_shapes:.3f})"),
                ("pair trends (independent columns)",
                 "{pair_trends:.3f} ({independent_pair_trends:.3f})"),
                ("synthetic rows that copy a real row", "{copy_rate:.1%}")]), ""]


def part1_body(runs):
    return [*method("part1"), *architecture(runs), *answer_3a(runs), *answer_3b(runs),
            *answer_3c(runs), *fidelity(runs)]


# --- Part 2 ---------------------------------------------------------------------------------------


def answer_4a(runs):
    return ["### 4a. The black box", "",
            f"**Answer.** The forest reaches accuracy {each(runs, '{box[accuracy]:.3f}')}, and "
            f"ROC-AUC {each(runs, '{box[roc_auc]:.3f}')} on its 30% test rows.", "",
            compare(runs, [
                ("test rows", "{box[test_rows]}"),
                ("accuracy / ROC-AUC", "{box[accuracy]:.3f} / {box[roc_auc]:.3f}"),
                ("confidence on the test rows: lowest–highest",
                 "{box[test_confidence][min]:.2f}–{box[test_confidence][max]:.2f}"),
                ("its mean (standard deviation)",
                 "{box[test_confidence][mean]:.2f} ({box[test_confidence][std]:.2f})")]), "",
            figures(runs, "test_confidence.png", "the forest's confidence on its test rows"), ""]


def answer_4b(runs):
    return ["### 4b. 1000 generated samples", "",
            "**Answer.** The 1000 samples are single draws G(Z, C) (C drawn uniformly from "
            "[0, 1]); they miss the desired confidence by a mean |C − Y| of "
            f"{each(runs, '{mae:.4f}')}, and the forest gives "
            f"the class C asks for to {each(runs, '{class_agreement:.1%}')} of them.", "",
            compare(runs, [
                ("mean |C − Y| of the 1000 samples (mean squared error)",
                 "{mae:.4f} ({mse:.4f})"),
                ("class agreement (C and Y on one side of 0.5)", "{class_agreement:.1%}"),
                ("distinct rows", "{unique_rows}"),
                ("forest answers the samples reach", "{reachable_min:.2f}–{reachable_max:.2f}"),
                ("queries in training (scans included)", "{blackbox_queries:,}")]), "",
            figures(runs, "confidence_scatter.png", "desired confidence C against the forest's "
                    "confidence Y of each sample"), ""]


def unreachable(run):
    """How many samples ask for a C outside every answer the forest gave, and the mean
    |C − Y| of the others."""
    generated = run.csv("generated_1000.csv")
    desired = generated["desired_confidence"]
    outside = (desired > run.m["answered_max"]) | (desired < run.m["answered_min"])
    error = (desired - generated["blackbox_confidence"]).abs()
    return int(outside.sum()), float(error[~outside].mean())


def answer_4c(runs):
    def ranges(run):
        errors = pd.Series(run.m["mae_by_bin"])
        return (f"best is {errors.idxmin()} ({errors.min():.4f}) and the worst "
                f"{errors.idxmax()} ({errors.max():.4f})")

    def limits(run):
        (count, rest), m = unreachable(run), run.m
        bounds = [f"below {m['answered_min']:.2f}"] if m["answered_min"] >= 0.005 else []
        bounds += [f"above {m['answered_max']:.2f}"] if m["answered_max"] <= 0.995 else []
        return (f"in {m['blackbox_queries']:,} training queries the forest never "
                f"answered {' or '.join(bounds) or 'outside [0, 1]'}: {count} of the 1000 C lie "
                f"outside its answers, and without them the mean |C − Y| is {rest:.4f}")

    table = runs[0].csv("confidence_bins.csv")[["bin"]].rename(columns={"bin": "C range"})
    for run in runs:
        bins = run.csv("confidence_bins.csv")
        table[f"{run.name} mean |C − Y|"] = formatted(bins["mae"], ".4f")
        table[f"{run.name} test share"] = formatted(bins["test_share"], ".1%")
    return ["### 4c. Which classes and confidence ranges worked better", "",
            "**Answer.** " + per_run(runs, "the mean |C − Y| is {mae_by_class[positive]:.4f} "
                                           "when C asks for `{box[positive_class]}` (C ≥ 0.5) "
                                           "and {mae_by_class[negative]:.4f} for the other "
                                           "class") +
            f" By range of C, the {each(runs, ranges)}. The hard ranges are those the forest "
            "seldom gives its own test rows (`test share`): there its answer lives in small "
            "pockets of the space where nearly all trees agree. Some confidences it never gives "
            f"at all, and those cannot be hit. {per_run(runs, limits)}", "",
            markdown_table(table), "",
            figures(runs, "score_distribution.png", "the forest's scores of the generated "
                    "samples, by the class it gives"), ""]


def gain(m):
    """The student's lead over the uniform rows' student, and the margin it must beat."""
    return (m["extraction_agreement"] - m["uniform_baseline_agreement"],
            2 * m["uniform_baseline_spread"])


def collapsed(m):
    return m["unique_rows"] < 990 or m["diversity_min_bin"] < 0.3


def problems(runs):
    """Every problem that limited the generator, with its number, as list items."""
    items = []
    for run in runs:
        m, (count, _), (lead, margin) = run.m, unreachable(run), gain(run.m)
        accuracy = run.csv("losses.csv")["d_accuracy"].iloc[-1]
        features = run.csv("features.csv")
        flat = features.loc[features["likeness generated"] <= features["likeness uniform"],
                            "feature"].tolist()
        items += [f"- *{run.name}: confidences out of reach.* {count} of the 1000 C lie outside "
                  f"[{m['answered_min']:.2f}, {m['answered_max']:.2f}], the answers the forest "
                  "ever gave (4c)."] if count else []
        items += [f"- *{run.name}: little learned about the box.* A student forest trained on "
                  f"the generated rows agrees with the box on {m['extraction_agreement']:.3f} of "
                  f"the real test rows, one trained on uniform rows on "
                  f"{m['uniform_baseline_agreement']:.3f} ({lead:+.3f}; a lead counts beyond "
                  f"{margin:.3f}, twice one uniform draw's spread)."] if lead <= margin else []
        items += [f"- *{run.name}: the discriminator tells Y from C.* At the end of training it "
                  f"says which scalar the forest gave for {accuracy:.0%} of the rows (0.5: it "
                  "cannot): one try of the generator still misses C visibly."
                  ] if accuracy > 0.55 else []
        items += [f"- *{run.name}: easy to tell from real rows.* Two-sample ROC-AUC "
                  f"{m['realism_c2st_auc']:.3f} (uniform rows: {m['uniform_c2st_auc']:.3f})."
                  ] if m["realism_c2st_auc"] > 0.9 else []
        items += [f"- *{run.name}: features left as uniform.* {len(flat)} of {len(features)} "
                  "features are no more like the real data than uniform rows: "
                  f"{', '.join(flat)}."] if flat else []
        items += [f"- *{run.name}: signs of collapse.* {m['unique_rows']} distinct rows, least "
                  f"spread {m['diversity_min_bin']:.2f} of the real rows'."] if collapsed(m) else []
    return items


def convergence(run):
    """How the batch |Y − C| settled: first epoch, last quarter, change on the quarter before."""
    history = run.csv("losses.csv")["batch_mae"]
    quarter = max(1, len(history) // 4)
    late, before = history.iloc[-quarter:].mean(), history.iloc[-2 * quarter:-quarter].mean()
    change = (late - before) / before if len(history) >= 2 * quarter and before else np.nan
    return (f"it was {history.iloc[0]:.3f} in the first epoch and {late:.3f} over the last "
            f"quarter, {100 * change:+.0f}% against the quarter before: "
            f"{'converged' if abs(change) < 0.1 else 'not converged'}")


def answer_4d(runs):
    broken = [r.name for r in runs if collapsed(r.m)]
    return ["### 4d. Mode collapse and other problems", "",
            "**Answer.** " + (f"Signs of collapse on {', '.join(broken)}. " if broken else
                              "No mode collapse. ") +
            per_run(runs, "{unique_rows} of the 1000 rows are distinct and the C ranges keep "
                          "{diversity_min_bin:.2f}–{diversity_max_bin:.2f} of the real rows' "
                          "spread") +
            " What limited the generator is listed below. Whether training converged shows in "
            "the batch |Y − C| per epoch (`losses.csv`) and in the losses (last figure). "
            f"{per_run(runs, convergence)}", "",
            *problems(runs), "",
            "Against uniform rows of the schema (cells: generated / uniform rows; the uniform "
            "rows' student is the mean of several draws):", "",
            compare(runs, [
                ("a student forest's agreement with the box on real test rows",
                 "{extraction_agreement:.3f} / {uniform_baseline_agreement:.3f}"),
                ("the student's accuracy on their true labels",
                 "{extraction_accuracy:.3f} / {uniform_baseline_accuracy:.3f}"),
                ("two-sample ROC-AUC against real training rows",
                 "{realism_c2st_auc:.3f} / {uniform_c2st_auc:.3f}"),
                ("median distance to the nearest real training row (real test rows)",
                 "{nearest_real_distance[generated]:.3f} / {nearest_real_distance[uniform]:.3f}"
                 " ({nearest_real_distance[real_test_rows]:.3f})"),
                ("mean feature likeness (1: as the real rows)",
                 "{column_shapes:.3f} / {uniform_column_shapes:.3f}")]), "",
            figures(runs, "losses.png", "losses of the discriminator, the realism critic, the "
                    "generator and the surrogate, and the discriminator's accuracy, per epoch"),
            ""]


def part2_body(runs):
    figure_1 = ("Figure 1 of the assignment maps onto these networks: G(Z, C) is the generator, "
                "the black box is the forest that returns Y, and D is the discriminator, which "
                "sees the sample with C and Y in random order and must say which one the forest "
                "gave. The realism critic and the surrogate help the generator.")
    return [*method("part2"), *architecture(runs), figure_1, "", *answer_4a(runs), *answer_4b(runs),
            *answer_4c(runs), *answer_4d(runs)]


# --- Conclusions and appendix ---------------------------------------------------------------------


def conclusions(part1, part2):
    def pair_gain(run):
        return f"{run.m['pair_trends'] - run.m['independent_pair_trends']:+.3f}"

    def verdict(run):
        (lead, margin), distance = gain(run.m), run.m["nearest_real_distance"]
        return (f"teach a student forest more than uniform rows do ({lead:+.3f}) and lie "
                f"{distance['uniform'] / distance['generated']:.1f} times closer to real "
                "records" if lead > margin else
                f"teach a student no more than uniform rows do ({lead:+.3f})")

    part1_text = [
        "**Part 1.** The GAN reproduces each column's distribution (column shapes "
        f"{each(part1, '{column_shapes:.3f}')}, where independent real columns give "
        f"{each(part1, '{independent_column_shapes:.3f}')}) and keeps some of how the columns "
        f"go together (pair trends {each(part1, pair_gain)} against independent columns), yet "
        f"a classifier still tells its rows from real ones (ROC-AUC "
        f"{each(part1, '{c2st_auc:.3f}')}). The discriminator ends at the equilibrium the GAN "
        "aims for, so it is no judge of a single row; a classifier trained afterwards is.", ""
    ] if part1 else []
    part2_text = [
        "**Part 2.** Against the black box, the verified pick hits the desired confidence to "
        f"within {each(part2, '{mae:.4f}')}, on the class C asks for; confidences the forest "
        "never gives cannot be hit. " + (
            "The forest's answers reveal where each number's data lies, because its trees "
            "split there, but little about categories or how features go together. "
            if any(gain(r.m)[0] <= gain(r.m)[1] for r in part2) else "") +
        f"The generated rows {each(part2, verdict)}.", ""] if part2 else []
    return ["## Conclusions", "", *part1_text, *part2_text]


def ablation():
    """The ablation of both designs (data/ablation.csv: the default command with one constant
    changed, seeds 0-2): a table per part and one verdict per change."""
    if not ABLATION.is_file():
        return []
    frame = pd.read_csv(ABLATION)
    lines = ["### Ablation", "",
             "Each row is the default command with one constant changed, which removes or "
             "changes one part of the design; mean ± standard deviation over seeds 0, 1 and 2. "
             "The first row is the design described above. A change counts where it moves a "
             "measure by more than the larger of the two standard deviations.", ""]
    for part, rows in frame.groupby("part", sort=False):
        measures = list(dict.fromkeys(rows["measure"]))
        table = []
        for (setting, dataset), group in rows.groupby(["setting", "dataset"], sort=False):
            values = group.set_index("measure")
            fresh = not table or table[-1][2] != setting
            table.append([setting if fresh else "", dataset, setting, *(
                f"{number(m, values.at[m, 'mean'])} ±{NBSP}{number(m, values.at[m, 'sd'])}"
                for m in measures)])
        table = pd.DataFrame([row[:2] + row[3:] for row in table],
                             columns=["constant", "dataset", *measures])
        lines += [f"**{PARTS[part][0]}**", "", markdown_table(table), "",
                  *ablation_verdicts(rows), ""]
    return lines


def number(measure, value):
    return f"{value:.4f}" if "mae" in measure else f"{value:.3f}"


def listed(moves, most=3):
    """The first moves, and how many more there are."""
    more = f" and {len(moves) - most} more" if len(moves) > most else ""
    return "; ".join(moves[:most]) + more


def ablation_verdicts(rows):
    """One sentence per change: which measures it moved beyond the spread, and which way."""
    default = rows[rows["setting"] == rows["setting"].iloc[0]].set_index(["dataset", "measure"])
    lines = []
    for (setting, change), group in list(rows.groupby(["setting", "change"], sort=False))[1:]:
        moved = {"worse": [], "better": []}
        for row in group.itertuples():
            base = default.loc[(row.dataset, row.measure)]
            if abs(row.mean - base["mean"]) > max(row.sd, base["sd"]):
                lower = row.mean < base["mean"]
                way = "better" if lower == (row.better == "lower") else "worse"
                moved[way].append(f"{row.measure} on {row.dataset} "
                                  f"{number(row.measure, base['mean'])} → "
                                  f"{number(row.measure, row.mean)}")
        text = (f"worse beyond the spread: {listed(moved['worse'])}" if moved["worse"] else
                "no measure worse beyond the spread")
        text += f"; better: {listed(moved['better'])}" if moved["better"] else ""
        lines.append(f"- *{setting}* ({change}) — {text}.")
    return lines


MEASURES = [
    "*Two-sample ROC-AUC* (`c2st_auc`, `realism_c2st_auc`): histogram gradient boosting, 5-fold, "
    "tells real from synthetic rows (at most 5,000 each); 0.5: indistinguishable, 1: trivially "
    "apart. Part 1's two-sample classifier is this model; a row's score is its out-of-fold "
    "probability of being real.",
    "*Column shapes*: mean over columns of 1 − Kolmogorov–Smirnov statistic (numbers) or "
    "1 − total variation distance of the category shares (per feature: *likeness*). *Pair "
    "trends*: mean over column pairs of 1 − |Δ Pearson correlation| / 2 (two numbers), else "
    "1 − total variation distance of the joint table (numbers in 10 quantile bins).",
    "*TSTR / TRTR*: a random forest trained on synthetic rows, tested on the real rows; the same "
    "forest 5-fold cross-validated on the real rows. *Who led*: the side with the lower loss in "
    "an epoch (both losses are a mean binary cross-entropy, ln 2 at balance).",
    "*Class agreement*: the share of samples with C and Y on one side of 0.5. *One try*: the "
    "first candidate of each C, without the verified pick. *Test share*: the share of the "
    "forest's confidences on its test rows that fall in a range of C.",
    "*Student*: a random forest trained on the 1000 rows, labelled with the box's class, scored "
    "on the real test rows; its *lead*: its agreement with the box minus that of the student of "
    "uniform rows. *Uniform rows*: any number in its range, any category; their "
    "student is averaged over six draws, and a gap counts beyond twice one draw's standard "
    "deviation. *Diversity*: mean per-feature standard deviation of the encoded samples over "
    "that of the real rows. *Distances*: Euclidean, between encoded rows."]


def wide_tables(part1, part2):
    lines = []
    for run in part1:
        if is_wide(run):
            lines += [f"**3a, {run.name}**: the discriminator's two most convincing rows that "
                      "fooled it and two least convincing that did not, beside their nearest "
                      "real records.", "", examples_table(run), ""]
    for run in part2:
        bins = run.csv("confidence_bins.csv").drop(columns="mean_blackbox_confidence")
        bins["mae"], bins["test_share"] = (formatted(bins["mae"], ".4f"),
                                           formatted(bins["test_share"], ".1%"))
        lines += [f"**4c, {run.name}**: per range of C (`confidence_bins.csv`; diversity: spread "
                  "against the real rows'; nearest real: median distance to the nearest real "
                  "training row).", "", markdown_table(bins.rename(columns=lambda c: c.replace(
                      "_", " "))), "",
                  f"**4d, {run.name}**: per feature (`features.csv`), the real training rows' "
                  "median or most common category beside the generated and uniform rows', and "
                  "how alike each is to the real rows' distribution.", "",
                  markdown_table(run.csv("features.csv")), ""]
    return ["### Wide tables", "", *lines] if lines else []


def appendix(part1, part2):
    return ["## Appendix", "", *ablation(), "### Measures", "",
            *(f"- {text}" for text in MEASURES), "", *wide_tables(part1, part2)]


# --- Assembly -------------------------------------------------------------------------------------

BODIES = {"part1": part1_body, "part2": part2_body}


def find_runs(root, part, order):
    """The finished runs of a part under root: the known datasets first, in order."""
    names = sorted({path.parts[-3] for path in root.glob(f"*/{part}/metrics.json")},
                   key=lambda name: (name not in order,
                                     order.index(name) if name in order else 0, name))
    return [Run(name, root / name / part, f"{name}/{part}/") for name in names]


def report_markdown(root, order):
    """The whole report in Markdown; says which runs are missing and how to add them."""
    root = Path(root)
    runs = {part: find_runs(root, part, order) for part in PARTS}
    if not any(runs.values()):
        return f"# {TITLE}\n\n*No runs yet: `python part1_gan.py` and `python part2_bbgan.py`.*\n"
    lines = title_block(root, runs["part1"] + runs["part2"])
    for part, (title, script) in PARTS.items():
        lines += [f"## {title}", ""]
        missing = [name for name in order if name not in {run.name for run in runs[part]}]
        if missing:
            how = (f"`python {script}` adds them" if len(missing) > 1 else
                   f"`python {script} --dataset {missing[0]}` adds it")
            lines += [f"*Not run yet for {', '.join(missing)}: {how}.*", ""]
        if runs[part]:
            lines += BODIES[part](runs[part])
    lines += conclusions(runs["part1"], runs["part2"])
    return "\n".join(lines + appendix(runs["part1"], runs["part2"]))


def write_run_report(folder, part):
    """A run's own report.md: its part of the report for its dataset alone."""
    run = Run("", Path(folder), "")
    run.name = run.m["dataset"]
    lines = [f"# {PARTS[part][0]}: {run.name}", "", *BODIES[part]([run]),
             *wide_tables(*(([run], []) if part == "part1" else ([], [run])))]
    (Path(folder) / "report.md").write_text("\n".join(lines), encoding="utf-8")


def write_report(out_root, order, quiet=False):
    """Rebuild OUT/report.md and OUT/report.pdf from every run under OUT (atomically); returns
    the page count."""
    root = Path(out_root)
    markdown = report_markdown(root, order)
    with tempfile.TemporaryDirectory(dir=root, prefix=".report-") as staging:
        staged = Path(staging)
        (staged / "report.md").write_text(markdown, encoding="utf-8")
        pages = PdfReport(root).render(markdown, staged / "report.pdf")
        for name in ("report.md", "report.pdf"):
            (staged / name).replace(root / name)
    if not quiet:
        print(f"report: {root / 'report.pdf'} ({pages} pages) and {root / 'report.md'}",
              flush=True)
    return pages


class PdfReport(FPDF):
    """A4 PDF from the report's Markdown (headings, paragraphs, lists, tables, figures with
    numbered captions) in DejaVu fonts, which matplotlib ships: every Unicode sign renders."""

    FONT_SIZES = {1: 16, 2: 14, 3: 12, 4: 10.5}
    TEXT_SIZE, TABLE_SIZE = 9.5, 7

    def __init__(self, folder):
        super().__init__(format="A4")
        self.folder, self.figures = Path(folder), 0
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        for style, suffix in (("", ""), ("B", "-Bold"), ("I", "-Oblique"), ("BI", "-BoldOblique")):
            self.add_font("DejaVu", style, fonts / f"DejaVuSans{suffix}.ttf")
        self.add_font("DejaVuMono", "", fonts / "DejaVuSansMono.ttf")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        self.set_title(TITLE)

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, str(self.page_no()), align="C")

    def render(self, markdown, path):
        """Write the PDF to path and return its page count."""
        self.add_page()
        for block in mistletoe.Document(markdown).children:
            self.block(block)
        self.output(str(path))
        return self.pages_count

    def block(self, token):
        kind = type(token).__name__
        if kind == "Heading":
            self.heading(token.level, plain_text(token.children))
        elif kind == "Paragraph" and any(type(c).__name__ == "Image" for c in token.children):
            self.figure_row([c for c in token.children if type(c).__name__ == "Image"])
        elif kind == "Paragraph":
            self.paragraph(token.children)
        elif kind == "List":
            for item in token.children:
                if self.will_page_break(10):  # two lines at least, or the bullet stays behind
                    self.add_page()
                self.set_font("DejaVu", "", self.TEXT_SIZE)
                self.text(self.l_margin + 2, self.get_y() + self.TEXT_SIZE * 0.36, "•")
                for child in item.children:
                    self.paragraph(child.children, indent=6, after=0.8)
            self.ln(1.5)
        elif kind == "Table":
            self.table_block(token)
        else:
            self.paragraph([plain_text(getattr(token, "children", []) or [])])

    def heading(self, level, text):
        # a part and the appendix start a page; a heading keeps room for what follows it
        if (level == 2 and self.page_no() > 1 and text != "Conclusions"
                or self.will_page_break(45)):
            self.add_page()
        self.set_font("DejaVu", "B", self.FONT_SIZES.get(level, 10))
        self.multi_cell(0, self.FONT_SIZES.get(level, 10) * 0.55, text, new_x="LMARGIN",
                        new_y="NEXT")
        self.ln(1.5)

    def paragraph(self, spans, indent=0, after=2.5):
        """Text that wraps between words across changes of font."""
        with self.text_columns(text_align="LEFT", line_height=1.3,
                               l_margin=self.l_margin + indent) as columns:
            with columns.paragraph(bottom_margin=after) as paragraph:
                self.write_spans(paragraph, spans)

    def write_spans(self, paragraph, spans, style=""):
        for span in spans:
            kind = type(span).__name__
            if isinstance(span, str) or kind == "RawText":
                self.set_font("DejaVu", style, self.TEXT_SIZE)
                paragraph.write(span if isinstance(span, str) else span.content)
            elif kind == "InlineCode":
                self.set_font("DejaVuMono", "", self.TEXT_SIZE - 0.5)
                paragraph.write(plain_text(span.children))
            elif kind == "LineBreak":
                self.set_font("DejaVu", style, self.TEXT_SIZE)
                paragraph.write(" ")
            else:  # Strong, Emphasis, Link: their text, in their style
                extra = {"Strong": "B", "Emphasis": "I"}.get(kind, "")
                self.write_spans(paragraph, span.children, "".join(sorted(set(style + extra))))

    def table_block(self, token):
        rows = [[plain_text(cell.children) for cell in row.children]
                for row in [token.header, *token.children]]
        size, widths = self.column_widths(rows)
        self.set_font("DejaVu", "", size)
        with self.table(col_widths=widths, width=min(sum(widths), self.epw), align="LEFT",
                        text_align="LEFT", line_height=size * 0.45, padding=0.8) as table:
            for row in rows:
                cells = table.row()
                for text in row:
                    cells.cell(text)
        self.ln(3)

    def column_widths(self, rows, padding=2.2):
        """The largest font size (at most TABLE_SIZE) at which no word is split, and column
        widths in mm: each column's longest word at least, its longest cell where room allows."""
        for size in np.arange(self.TABLE_SIZE, 4.9, -0.5):
            self.set_font("DejaVu", "B", size)  # bold: the widest the header can be
            columns = list(zip(*rows))
            least = np.array([max(self.get_string_width(word) for text in column
                                  for word in text.split(" ")) for column in columns])
            wanted = np.array([max(self.get_string_width(text) for text in column)
                               for column in columns])
            least, wanted = least + padding, wanted + padding
            if least.sum() <= self.epw:
                break
        if wanted.sum() <= self.epw:
            return size, list(wanted)
        room = (self.epw - least.sum()) / (wanted - least).sum()
        return size, list(least + room * (wanted - least))

    def figure_row(self, images):
        """Figures side by side (one per dataset) under one numbered caption; the caption
        names the datasets from left to right."""
        self.figures += 1
        paths = [self.folder / image.src for image in images]
        if not all(path.is_file() for path in paths):
            self.paragraph([f"[missing figure {', '.join(image.src for image in images)}]"])
            return
        gap = 4
        width = min(105, (self.epw - gap * (len(paths) - 1)) / len(paths))
        ratios = []
        for path in paths:
            with PIL.Image.open(path) as picture:
                ratios.append(picture.height / picture.width)
        height = width * max(ratios)
        if self.will_page_break(height + 12):
            self.add_page()
        left, top = (self.w - len(paths) * width - gap * (len(paths) - 1)) / 2, self.get_y()
        for index, path in enumerate(paths):
            self.image(str(path), x=left + index * (width + gap), y=top, w=width)
        self.set_y(top + height + 1)
        names, caption = zip(*(plain_text(image.children).split(": ", 1) for image in images))
        where = f" (left to right: {', '.join(names)})" if len(images) > 1 else f" ({names[0]})"
        self.set_font("DejaVu", "I", 8)
        self.multi_cell(0, 3.8, f"Figure {self.figures}. {caption[0][0].upper()}"
                                f"{caption[0][1:]}{where}.", align="C", new_x="LMARGIN",
                        new_y="NEXT")
        self.ln(3)


def plain_text(spans):
    """The text of Markdown spans without their formatting."""
    return "".join(span.content if type(span).__name__ == "RawText"
                   else " " if type(span).__name__ == "LineBreak"
                   else plain_text(getattr(span, "children", []) or []) for span in spans)
