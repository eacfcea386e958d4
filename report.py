"""OUT/report.md, OUT/report.pdf and each run's report.md from the runs under OUT: the words
live in report.md.j2; the numbers, tables and verdicts they need are computed here."""

import json
import re
import tempfile
from datetime import date
from pathlib import Path

import jinja2
import matplotlib
import mistletoe
import numpy as np
import pandas as pd
import PIL.Image
from fpdf import FPDF, TextStyle

HERE = Path(__file__).resolve().parent
DATASETS = ("diabetes", "german_credit")  # the assignment's: first, in this order
SCRIPTS = {"part1": "part1_gan.py", "part2": "part2_bbgan.py"}
WIDE = 12  # datasets with more attributes show an example's differences only
EXAMPLES = 2  # example rows per judge and verdict in the body
NEAR = 0.1  # fooled rows within this share of real rows' own nearest distance lie "as close"
FLAT = 0.05  # a discriminator whose scores of 100 samples span less than this is flat
SHARED = 0.8  # a class is said of 10 example rows when at least this share of them has it
CONSISTENT = 0.9  # a side that leads in at least this share of the epochs leads consistently
BACK_AND_FORTH = 0.05  # lead changes in more than this share of the epochs: back and forth
Z95 = 1.96  # 95% intervals by the normal approximation
LEAST_SPREAD = 0.3  # draws spread less than this (of real rows' spread): collapsed
DISTINCT = 0.95  # draws at one C of which fewer than this share are distinct: collapsed
NEAR_UNIFORM = 0.05  # a category's likeness within this of uniform rows': near uniform
RISE = 0.2  # a generator loss that ends this far above its lowest has risen
TELLS = 0.95  # a realism AUC at least this high: the samples are told from real rows "almost always"
ABOUT = {  # what each constant does, for the hyper-parameter tables
    "NOISE_DIM": "length of Z", "BATCH_SIZE": "rows per step", "LEARNING_RATE": "Adam's step",
    "EMA": "decay of the averaged generator", "R1_WEIGHT": "gradient penalty at real rows",
    "SCALING": "numbers to [−1, 1] by", "EPOCHS": "most epochs", "CHECK_EVERY": "epochs per check",
    "CHECK_ROWS": "rows a side per check", "CHECK_ROUNDS": "boosting rounds per check",
    "SMOOTH": "checks averaged", "PATIENCE": "checks without improvement before stopping",
    "MIN_IMPROVEMENT": "least improvement", "BOOTSTRAP": "resamples per interval",
    "EXAMPLES": "rows per file of 3a", "RANDOM_SAMPLES": "samples of 3b", "GROUPS": "Cs per step",
    "GROUP_SIZE": "rows per C", "ADVERSARIAL_WEIGHT": "discriminator's weight in G's loss",
    "REALISM_WEIGHT": "critic's weight in G's loss", "ANSWER_WEIGHT": "answer head's weight in D's loss",
    "SAMPLES": "draws of 4b; held-out pairs", "BINS": "ranges of C", "BASELINE_DRAWS":
    "uniform draws for the baseline", "SCAN_ROWS": "rows scanned for the prior",
    "PRIOR_ROWS": "rows drawn from the prior", "SNAP": "D sees generated rows as records",
    "JUDGED_PRIOR": "prior rows D judges per generated row", "NEARER_RULE":
    "verdict: nearer scalar (true) or learned"}
ABLATION_MEASURES = {  # (label, formula over a run's metrics, +1: higher is better, 0: a count)
    "part1": [("c2st AUC", "c2st_auc", -1), ("column shapes", "column_shapes", 1),
              ("converged", "converged", 0)],
    "part2": [("mean |C − Y|", "mae", -1), ("class agreement", "class_agreement", 1),
              ("least spread", "diversity_min_bin", 1), ("realism AUC", "realism_c2st_auc", -1),
              ("student lead", "extraction_agreement - uniform_baseline_agreement", 1),
              ("converged", "converged", 0)]}


def num(value, digits=3):
    return f"{value:.{digits}f}".replace("-", "−")


def pct(value, digits=0):
    return f"{100 * value:.{digits}f}%"


def joined(items):  # a, b and c
    items = list(items)
    return " and ".join([", ".join(items[:-1]), items[-1]][len(items) < 2:])


def span(values, digits=None):
    """One value when all agree, else lowest–highest (digits: decimals, None: whole numbers)."""
    values = list(values.values() if isinstance(values, dict) else values)
    low, high = (f"{v:,}" if digits is None else num(v, digits) for v in (min(values), max(values)))
    return low if low == high else f"{low}–{high}"


def each(words):
    """{dataset: word}: the word when every dataset has it, else each word with its datasets."""
    groups = {}
    for name, word in words.items():
        groups.setdefault(word, []).append(name)
    return next(iter(groups)) if len(groups) == 1 else ", ".join(
        f"{word} on {joined(names)}" for word, names in groups.items())


def table(frame):
    """A frame as a compact Markdown table (tabulate's pipe format without the padding)."""
    frame = frame.astype(str).map(lambda text: text.replace("|", "\\|"))
    frame.columns = [str(name).replace("|", "\\|") for name in frame.columns]
    text = frame.to_markdown(index=False, disable_numparse=True)
    return re.sub(r"-{4,}", "---", re.sub(r"(?<=\|) {2,}| {2,}(?=\|)", " ", text))


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), trim_blocks=True,
                         lstrip_blocks=True, undefined=jinja2.StrictUndefined)
ENV.filters.update(num=num, pct=pct, joined=joined, span=span, each=each, count="{:,}".format,
                   times=lambda n: "once" if set(n.values()) == {1} else f"{span(n)} times")


class Run:
    """One finished run: its metrics `m`, its CSVs and `f`, the numbers and verdicts it needs
    (`f["t_…"]`: a table's cells by row label, `f["r_…"]`: a table's cells by column label)."""

    def __init__(self, folder, part, found=None):
        self.folder, self.part, self.name = Path(folder), part, Path(folder).parent.name
        self.m = json.loads((self.folder / "metrics.json").read_text("utf-8"))
        [self.m[key] for key in ("seed", "rows", "classes", "class_column", "settings", "architecture")]
        self.f = (part1_facts if part == "part1" else part2_facts)(self, found or {})

    def csv(self, file):
        return pd.read_csv(self.folder / file)

    def chosen(self, label, judge):  # the rows of fooled.csv or not_fooled.csv a judge chose
        rows = self.csv(f"{label}.csv")
        return rows[rows["chosen_by"] == judge]


def examples(run, judge):
    """A judge's example rows against their nearest real records (wide: the differences only)."""
    rows = []
    for label in ("fooled", "not_fooled"):
        chosen = run.chosen(label, judge).head(EXAMPLES)
        columns = [c for c in chosen.columns if f"nearest_real_{c}" in chosen.columns]
        for index, (_, row) in enumerate(chosen.iterrows()):
            pairs = {c: (row[c], row[f"nearest_real_{c}"]) for c in columns}
            cells = {"row": f"{label.replace('_', ' ')} {index + 1}",
                     "score": num(row[f"{judge}_score"]), "distance": num(row["distance"], 2)}
            if run.f["wide"]:
                cells["where it differs from its nearest real record"] = "; ".join(
                    f"{c} {a} → {b}" for c, (a, b) in pairs.items() if a != b) or "nowhere"
            else:
                cells.update({c: f"{a} → {b}" if a != b else f"{a}" for c, (a, b) in pairs.items()})
            rows.append(cells)
    return table(pd.DataFrame(rows).fillna(""))


def traits(run, judge):
    """What the 10 rows that convinced a judge most, and the 10 it found least, have in common: a
    class most of them share, and the attribute whose ranges in the two groups lie furthest apart."""
    groups = [run.chosen(label, judge) for label in ("fooled", "not_fooled")]
    both = pd.concat(groups)
    apart = {c: max(groups[1][c].min() - groups[0][c].max(), groups[0][c].min() - groups[1][c].max())
             / (both[c].std() or np.inf) for c in both.select_dtypes("number") if f"nearest_real_{c}" in both}
    top = max(apart, key=apart.get, default=None)
    said = []
    for rows in groups:
        kind = rows[run.m["class_column"]].value_counts()
        words = [f"{kind.iloc[0]} of {len(rows)} `{kind.index[0]}`" if len(kind) and (
            kind.iloc[0] >= SHARED * len(rows)) else "of either class"]
        if top and apart[top] > 0:
            words.append(f"{top} {span(rows[top], None if rows[top].dtype.kind == 'i' else 1)}")
        said.append(", ".join(words))
    return said if said != ["of either class"] * 2 else None


def over_seeds(found, part, name, measure):
    """A design's count on a dataset over the ablation's seeds: lowest–highest, or how many
    seeds converged."""
    rows = found.get(part, {}).get("design", {}).get(name)
    values = [] if rows is None or measure not in rows else rows[measure].dropna().astype(int)
    return "not in the ablation" if not len(values) else f"{sum(values)} of {len(values)}" \
        if measure == "converged" else span(values)


def part1_facts(run, found):
    m, share, real = run.m, run.m["discriminator_lead_share"], run.m["real_nearest_distance"]
    lead, cells, closer = max(share, 1 - share), {"real rows' nearest-real distance": num(real)}, {}
    for judge, key, who in (("detector", "detector_", "two-sample classifier"),
                            ("discriminator", "", "discriminator")):
        gap, low, high, near, far = (m[key + end] for end in (
            "distance_gap", "distance_gap_low", "distance_gap_high", "mean_distance_fooled",
            "mean_distance_not_fooled"))
        closer[judge] = "no row on one side" if gap is None else "closer" if low > 0 else \
            "farther" if high < 0 else "no closer"
        cells.update({f"fooled the {who}": f"{m[key + 'fooled_count']:,} of {m['examined_rows']:,}",
                      f"{who}: distance, fooled / not": " / ".join(
                          "—" if d is None else num(d) for d in (near, far)),
                      f"{who}: difference (95%)": "—" if gap is None else
                      f"{num(gap)} ({num(low)} to {num(high)})"})
    near = m["detector_mean_distance_fooled"]
    seeds = f" (seeds {span(found['part1']['seeds'])})" if found.get("part1") else ""
    passed = {f"passed the {who}{seeds}": f"{m[key]}" + (
        seeds and f" ({over_seeds(found, 'part1', run.name, key)})") for key, who in (
        ("detector_passed_of_100", "two-sample classifier"), ("passed_of_100", "discriminator"))}
    return {"wide": m["numeric_attributes"] + m["nominal_attributes"] + 1 > WIDE, "t_3a": cells,
            "t_3b": {**passed, "the two-sample classifier's scores": span(
                [m["detector_score_min_of_100"], m["detector_score_max_of_100"]], 2),
                "the discriminator's scores": span([m["score_min_of_100"], m["score_max_of_100"]], 3)},
            "t_3c": {"epochs trained / kept": f"{m['epochs_run']} / {m['epoch_used']}",
                     "converged (seeds)": f"{'yes' if m['converged'] else 'no'} "
                     f"({over_seeds(found, 'part1', run.name, 'converged')})",
                     "lead changes (share of epochs)": f"{m['lead_changes']} "
                     f"({pct(m['lead_changes'] / m['epochs_run'], 1)})",
                     "leader (share of epochs)": f"{'discriminator' if share >= 0.5 else 'generator'}"
                     f" ({pct(lead, 1)})", "mean loss gap G − D (of ln 2)":
                     f"{num(m['mean_loss_gap'], 4)} ({pct(abs(m['mean_loss_gap']) / np.log(2), 1)})",
                     "discriminator's lead, last quarter": pct(m["late_lead_share"])},
            "t_quality": {"two-sample ROC-AUC (0.5: cannot tell)": num(m["c2st_auc"]),
                          "column shapes (1: as the real columns)": num(m["column_shapes"]),
                          "synthetic rows that copy a real row": pct(m["copy_rate"], 1)},
            "passed": m["passed_of_100"], "detector_passed": m["detector_passed_of_100"],
            "similar": "No" if near is None or near > (1 + NEAR) * real else "Yes",
            "closer": closer["detector"], "likeness": "—" if near is None else (
                "closer", "as close", "farther")[sum(near > (1 + s) * real for s in (-NEAR, NEAR))],
            "d_low": m["score_min_of_100"], "d_high": m["score_max_of_100"],
            "flat": "too flat to sort rows" if m["score_max_of_100"] - m["score_min_of_100"] < FLAT
            else "wide enough to sort rows", "lead_changes": m["lead_changes"],
            "back_and_forth": "yes" if m["lead_changes"] > BACK_AND_FORTH * m["epochs_run"] else "no",
            "consistent": f"yes, the {'discriminator' if share >= 0.5 else 'generator'}"
            if lead >= CONSISTENT else "no", "epochs_run": m["epochs_run"],
            "converged": "converged" if m["converged"] else "reached the cap",
            "gap": abs(m["mean_loss_gap"]), "gap_of_ln2": abs(m["mean_loss_gap"]) / np.log(2),
            "c2st": m["c2st_auc"], "traits": [(who, *said) for judge, who in (
                ("detector", "two-sample classifier"), ("discriminator", "discriminator"))
                if (said := traits(run, judge))]}


def interval(a, b):
    """The 95% interval's half-width of the difference of two means (mae, mae_sd, count)."""
    return Z95 * np.sqrt(a["mae_sd"] ** 2 / a["count"] + b["mae_sd"] ** 2 / b["count"])


def alike(bins, end):
    """The ranges of C whose mean |C − Y| is the lowest (best) or highest (worst) or within the
    95% interval of its difference from it."""
    edge = bins.loc[bins["mae"].idxmin() if end == "best" else bins["mae"].idxmax()]
    return [name for name, row in bins.iterrows() if abs(row["mae"] - edge["mae"]) <= interval(row, edge)]


def part2_facts(run, found):
    m, box = run.m, run.m["box"]
    bins, by, top = run.csv("confidence_bins.csv"), m["by_class"], box["test_confidence"]["max"]
    filled, fixed = bins[bins["count"] > 0].set_index("bin"), m.get("collapse_at_fixed_c") or []
    losses, features = run.csv("losses.csv"), run.csv("features.csv")
    nominal = features[pd.to_numeric(features["real (training rows)"], errors="coerce").isna()]
    near = int(((nominal["likeness generated"] - nominal["likeness uniform"]).abs() <= NEAR_UNIFORM).sum())
    lead, noise = m["extraction_agreement"] - m["uniform_baseline_agreement"], 2 * m["uniform_baseline_spread"]
    gap, width = by["positive"]["mae"] - by["negative"]["mae"], interval(by["positive"], by["negative"])
    g_loss = losses["g_loss"].iloc[: m["epoch_used"]]

    def mean_ci(row):  # a mean |C − Y| with its 95% interval's half-width
        return f"{num(row['mae'])} ± {num(Z95 * row['mae_sd'] / np.sqrt(row['count']))}"
    at_c = {"least spread of 200 draws at one C": lambda: num(min(p["spread"] for p in fixed), 2),
            "fewest distinct rows of 200 at one C": lambda: str(min(p["distinct_rows"] for p in fixed))}
    return {"t_4a": {"test rows; accuracy at 0.5; ROC-AUC": f"{box['test_rows']}; "
                     f"{num(box['accuracy'])}; {num(box['roc_auc'])}",
                     "confidence: lowest / mean / highest": " / ".join(num(
                         box["test_confidence"][k], 2) for k in ("min", "mean", "max")),
                     **{f"mean on rows {who}": num(box["test_confidence_by_class"][side]["mean"], 2)
                        for side, who in (("positive", "of the scored class"), ("negative", "of the other"))}},
            "t_4c": {"mean |C − Y| (sd); on the side asked": f"{num(m['mae'])} ({num(m['mae_sd'])});"
                     f" {pct(m['class_agreement'], 1)}", "scores: lowest / median / highest":
                     " / ".join(num(m["scores"][k], 2) for k in ("min", "median", "max")),
                     **{f"{ask}: |C − Y| ± 95%; on its side": f"{mean_ci(by[side])}, "
                        f"{pct(by[side]['class_agreement'], 1)}" for side, ask in (
                            ("positive", "C ≥ 0.5"), ("negative", "C < 0.5"))},
                     "difference of the two |C − Y|": f"{num(gap)} ± {num(width)}",
                     "Cs above the highest test score": f"{int((run.csv('generated_1000.csv')['desired_confidence'] > top).sum())} of 1,000",
                     "mean Y of the top range of C": f"{num(filled['mean_blackbox_confidence'].iloc[-1], 2)} ({filled.index[-1]})"},
            "r_bins": {"|C − Y| ± 95%": run.name, **{row["bin"]: mean_ci(row).replace(" ± ", " ±")
                                                     if row["count"] else "—" for _, row in bins.iterrows()}},
            "t_4d": {"distinct rows of the 1,000": f"{m['unique_rows']:,}",
                     "least spread in a 0.1 range of C": f"{num(m['diversity_min_bin'], 2)} "
                     f"({m['diversity_min_bin_name']})",
                     **{label: get() if fixed else "not measured" for label, get in at_c.items()},
                     "uniform rows' spread": num(m["uniform_diversity"], 2),
                     "realism AUC (uniform rows)": f"{num(m['realism_c2st_auc'])} ({num(m['uniform_c2st_auc'])})",
                     "attributes likelier than uniform rows'": f"{m['likelier_features']} of "
                     f"{m['numeric_attributes'] + m['nominal_attributes']}",
                     "student agreement; lead (2 sd)": f"{pct(m['extraction_agreement'], 1)}; "
                     f"{num(lead)} ({num(noise)})",
                     "G's loss: lowest → at the epoch kept": f"{num(g_loss.min(), 2)} → {num(g_loss.iloc[-1], 2)}",
                     "epoch kept; converged (seeds)": f"{m['epoch_used']}; {'yes' if m['converged'] else 'no'}"
                     f" ({over_seeds(found, 'part2', run.name, 'converged')})"},
            **{end: joined(names) if len(names := alike(filled, end)) < 4 else "no single range"
               for end in ("best", "worst")},
            "better": "C ≥ 0.5 (the scored class)" if gap < -width else "C < 0.5 (the other)"
            if gap > width else "neither", "mae": m["mae"], "agreement": 100 * m["class_agreement"],
            "ceiling": top, "top_y": filled["mean_blackbox_confidence"].iloc[-1],
            "collapsed": "yes" if min([m["diversity_min_bin"], *(p["spread"] for p in fixed)]) < LEAST_SPREAD
            or any(p["distinct_rows"] < DISTINCT * p["draws"] for p in fixed) else "no",
            "realism": "almost always" if m["realism_c2st_auc"] >= TELLS else "often, not always",
            "fixed": bool(fixed), "near_uniform": near * 2 > len(nominal) > 0 and (near, len(nominal)),
            "rising": g_loss.iloc[-1] - g_loss.min() > RISE, "teaches": "more often" if lead > noise
            else "less often" if lead < -noise else "as often",
            **{key: {net["network"]: net[key] for net in m["architecture"]} for key in ("role", "output")}}


def ablation(root):
    """Per part, OUT/ablation.csv (else data/ablation.csv) as a table of means ± sd (↑ ↓: better
    or worse than the design beyond both sds), the design's rows per dataset, seeds and changes."""
    path = next((path for path in (Path(root) / "ablation.csv", HERE / "data" / "ablation.csv")
                 if path.is_file()), None)
    rows, found = pd.read_csv(path) if path else pd.DataFrame(columns=["part"]), {}
    for part, group in rows.groupby("part"):  # part1, then part2
        runs = group.pivot_table("value", ["change", "setting", "dataset", "seed"], "measure",
                                 sort=False).reset_index()
        measures = [m for m in ABLATION_MEASURES[part]  # those the file holds
                    if set(re.findall(r"\w+", m[1])) <= set(runs.columns)]
        labels = [m[0] for m in measures]
        design = {name: runs[runs["setting"].eq("default") & runs["dataset"].eq(name)]
                  for name in runs["dataset"].unique()}
        runs[labels] = np.column_stack([runs.eval(formula) for _, formula, _ in measures])
        stats = runs.groupby(["setting", "dataset"], sort=False)[labels]
        means, sds, sums, sizes = stats.mean(), stats.std(), stats.sum(), stats.size()
        lines = []
        for (setting, dataset), row in means.iterrows():
            base, spread = means.loc[("default", dataset)], sds.loc[("default", dataset)]
            cells = {}
            for label, _, better in measures:
                shift = better * (row[label] - base[label])
                arrow = "" if setting == "default" or abs(shift) <= sds.loc[(setting, dataset), label] \
                    + spread[label] else "↑" if shift > 0 else "↓"
                cells[label] = f"{int(sums.loc[(setting, dataset), label])} of {sizes[(setting, dataset)]}" \
                    if not better else f"{num(row[label])}±{num(sds.loc[(setting, dataset), label])}{arrow}"
            lines.append({"change": "" if lines and lines[-1]["setting"] == setting else setting,
                          "setting": setting, "dataset": dataset, **cells})
        found[part] = {"table": table(pd.DataFrame(lines).drop(columns="setting")), "design": design,
                       "seeds": sorted(runs["seed"].astype(int).unique()), "changes": dict(
                           zip(runs["setting"], runs["change"]))}
        found[part]["changes"].pop("default", None)
    return found


def summary(runs):
    """A part's tables (a column per dataset, or for `r_…` a row) and its verdicts ({dataset:
    value}) across its runs."""
    found = {key: {run.name: run.f[key] for run in runs} for key in runs[0].f}
    return {**found, **{key: table(pd.DataFrame(cells).rename_axis("").reset_index()) if key[:2] == "t_"
                        else table(pd.DataFrame(list(cells.values()))) for key, cells in found.items()
                        if key[:2] in ("t_", "r_")},
            "answer": "Answer" if len(runs) > 1 else f"Answer for {runs[0].name}", "first": runs[0].f}


def architecture(runs):
    """The networks and the constants of runs (Markdown tables); values per dataset as "a / b"."""
    def values(entries):
        return " / ".join(dict.fromkeys(f"{v:,}" if type(v) is int else str(v) for v in entries))
    networks, settings = list(zip(*(run.m["architecture"] for run in runs))), runs[0].m["settings"]
    constants = [(f"`{key}`", values(run.m["settings"][key] for run in runs), ABOUT.get(key, ""))
                 for key in settings]
    return {"networks": table(pd.DataFrame({" / ".join(run.name for run in runs): [k for k in networks[0][0] if k != "network"], **{
        versions[0]["network"]: [values(v[key] for v in versions) for key in versions[0] if key != "network"]
        for versions in networks}})), "constants": table(pd.concat([pd.DataFrame(
            half, columns=["constant", "value", "what it does"]) for half in np.array_split(
            np.array(constants, dtype=object), 2)], axis=1).fillna("")),
            "line": "; ".join(f"{key} {value}" for key, value, _ in constants) + "."}


def report_markdown(root, runs=None):
    """The whole report in Markdown, or given runs ({part: [Run]}), their part of it alone. A run
    folder whose metrics.json or CSVs cannot be read is named and left out."""
    whole, root, unreadable = runs is None, Path(root), []
    found = ablation(root) if whole else {}
    if whole:
        runs = {part: [] for part in SCRIPTS}
        for part, path in ((part, path) for part in SCRIPTS for path in sorted(root.glob(
                f"*/{part}/metrics.json"), key=lambda p: (p.parts[-3] not in DATASETS, p.parts[-3]))):
            try:
                runs[part].append(Run(path.parent, part, found))
            except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
                unreadable.append((path.parent.relative_to(root.parent).as_posix(), f"no {error}" if
                                   isinstance(error, KeyError) else f"damaged at line {error.lineno}"
                                   if isinstance(error, json.JSONDecodeError) else str(error),
                                   f"{SCRIPTS[part]} --dataset {path.parts[-3]}", part, path.parts[-3]))
    every, authors = runs["part1"] + runs["part2"], root / "authors.txt"
    newest = max((run.folder.stat().st_mtime for run in every), default=None)
    missing = {part: [name for name in DATASETS if name not in {r.name for r in runs[part]} | {
        bad[4] for bad in unreadable if bad[3] == part}] for part in SCRIPTS}
    return re.sub(r"\n{3,}", "\n\n", ENV.get_template("report.md.j2").render(
        whole=whole, **runs, unreadable=unreadable, ablation=found, seeds=sorted({r.m["seed"] for r in every}),
        datasets={run.name: run.m for run in every}, missing={part: {
            "names": names, "pronoun": "it" if len(names) == 1 else "them", "command": " --dataset ".join(
                [SCRIPTS[part], *names][:1 + (len(names) == 1)])} for part, names in missing.items()},
        authors=authors.read_text("utf-8").strip() if authors.is_file() else None,
        day=newest and f"{date.fromtimestamp(newest):%d %B %Y}",
        p1=runs["part1"] and summary(runs["part1"]), p2=runs["part2"] and summary(runs["part2"]),
        architecture={part: architecture(runs[part]) for part in SCRIPTS if runs[part]},
        examples={run.name: {j: examples(run, j) for j in ("detector", "discriminator")} for run in runs["part1"]},
        constants={name: value for name, value in globals().items() if name.isupper()})).lstrip()


def write_run_report(folder, part):
    """A run's own report.md: its part of the report for its dataset alone."""
    text = report_markdown(folder, {"part1": [], "part2": [], part: [Run(folder, part)]})
    (Path(folder) / "report.md").write_text(text, "utf-8")


def write_report(out_root, quiet=False):
    """Rebuild OUT/report.md and OUT/report.pdf from every run under OUT (atomically)."""
    root, markdown = Path(out_root), report_markdown(out_root)
    with tempfile.TemporaryDirectory(dir=root, prefix=".report-") as staging:
        (Path(staging) / "report.md").write_text(markdown, encoding="utf-8")
        pages = PdfReport(root).render(markdown, Path(staging) / "report.pdf")
        for name in ("report.md", "report.pdf"):  # the report changes only when both are done
            (Path(staging) / name).replace(root / name)
    if not quiet:
        print(f"report: {root / 'report.pdf'} ({pages} pages) and {root / 'report.md'}")


class PdfReport(FPDF):
    """An A4 PDF of the report's Markdown in matplotlib's DejaVu fonts, figures at their size."""

    TEXT, TABLE, SMALLEST = 9, 8, 7  # points: text, tables at most and at least
    STYLES = {**{f"h{level}": TextStyle(font_style="B", font_size_pt=size, color=0, t_margin=3,
                                        b_margin=0.6) for level, size in ((1, 15), (2, 13), (3, 11))},
              "p": TextStyle(t_margin=0.01, b_margin=2), "code": TextStyle(font_family="DejaVuSansMono")}

    def __init__(self, folder):
        super().__init__(format="A4")
        self.folder, self.figures = Path(folder), 0
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        for style, suffix in (("", ""), ("B", "-Bold"), ("I", "-Oblique"), ("BI", "-BoldOblique")):
            for family in ("DejaVuSans", "DejaVuSansMono"):
                self.add_font(family, style, fonts / f"{family}{suffix}.ttf")
        self.set_margins(16, 13, 16)
        self.set_auto_page_break(True, margin=13)

    def footer(self):
        self.set_y(-11)
        self.set_font("DejaVuSans", "", 8)
        self.cell(0, 5, str(self.page_no()), align="C")

    def render(self, markdown, path):
        """Write the PDF to path; its page count. Text goes through fpdf2's HTML writer."""
        self.add_page()
        tokens = mistletoe.Document(markdown).children
        with mistletoe.HTMLRenderer() as html:
            for token, after in zip(tokens, [*tokens[1:], None]):
                kind = type(token).__name__
                if kind == "Table":
                    self.table_block([[plain(cell.children) for cell in row.children]
                                      for row in [token.header, *token.children]])
                elif images(token):
                    self.figure(images(token))
                else:  # a heading keeps its next block's start (a whole figure) on its page
                    if kind == "Heading" and self.will_page_break(12 + (max(
                            (self.placed(images(after))[0][2] for _ in [0] if images(after)),
                            default=30))):
                        self.add_page()
                    self.set_font("DejaVuSans", "", self.TEXT)
                    self.write_html(html.render(token).strip(), font_family="DejaVuSans",
                                    tag_styles=self.STYLES, li_prefix_color=0)
        self.output(str(path))
        return self.pages_count

    def table_block(self, rows, padding=2.2):
        """At the largest size from TABLE down to SMALLEST that keeps cells on one line, else at
        SMALLEST with cells wrapped between words, columns shared by their widest words."""
        rows = [[cell.replace(" ± ", "\u00a0±\u00a0") for cell in row] for row in rows]

        def widest(size, split):  # per column: its widest cell (split: widest word), head in bold
            def wide(cells, style):
                self.set_font("DejaVuSans", style, size)
                return np.array([max(self.get_string_width(word) for cell in column for word in (
                    cell.split(" ") if split else [cell])) for column in zip(*cells)])
            return padding + np.maximum(wide(rows[:1], "B"), wide(rows[1:] or rows[:1], ""))
        size = next((size for size in np.arange(self.TABLE, self.SMALLEST - 0.1, -0.5)
                     if widest(size, False).sum() <= self.epw), self.SMALLEST)
        wanted, least = widest(size, False), widest(size, True)
        spare = max(self.epw - least.sum(), 0) / max((wanted - least).sum(), 1e-9)
        widths = wanted if wanted.sum() <= self.epw else least + min(spare, 1) * (wanted - least)
        self.set_font("DejaVuSans", "", size)
        with self.table(col_widths=list(widths), width=min(widths.sum(), self.epw), align="LEFT",
                        text_align="LEFT", line_height=size * 0.45, padding=0.8) as table:
            for row in rows:
                table.row(row)
        self.ln(2.5)

    def placed(self, found):
        """(path, width, height) of each image that exists, at its size or the page's width."""
        sizes = []
        for path in (self.folder / image.src for image in found):
            if path.is_file():
                with PIL.Image.open(path) as picture:
                    width = min(self.epw, 0.72 * picture.width / picture.info.get("dpi", (110,))[0] * 25.4)
                    sizes.append((path, width, width * picture.height / picture.width))
        return sizes or [(None, 0, 0)]

    def figure(self, found, gap=4):
        """Figures side by side where they fit, under one numbered caption naming the datasets."""
        self.figures += 1
        placed = [one for one in self.placed(found) if one[0]]
        shrink = min(1, (self.epw - gap * (len(placed) - 1)) / max(sum(p[1] for p in placed), 1))
        together = shrink >= 0.7
        placed = [(path, w * shrink, h * shrink) for path, w, h in placed] if together else placed
        for row in ([placed] if together else [[one] for one in placed]) if placed else []:
            height = max(height for _, _, height in row)
            if self.will_page_break(height + 12):
                self.add_page()
            x, top = (self.w - sum(w for _, w, _ in row) - gap * (len(row) - 1)) / 2, self.y
            for path, width, _ in row:
                self.image(str(path), x=x, y=top, w=width)
                x += width + gap
            self.set_y(top + height + 1)
        names, captions = zip(*(plain(image.children).split(": ", 1) for image in found))
        order = "" if len(found) == 1 else "left to right: " if together else "top to bottom: "
        gone = [image.src for image in found if not (self.folder / image.src).is_file()]
        self.set_font("DejaVuSans", "I", 8)
        self.multi_cell(0, 3.8, f"Figure {self.figures}. {captions[0]} ({order}{', '.join(names)})."
                        + (f" Not found: {', '.join(gone)}." if gone else ""), align="C",
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(2.5)


def images(token):
    """The images of a Markdown block (a paragraph of figures), else []."""
    return [child for child in getattr(token, "children", None) or []
            if type(child).__name__ == "Image"]


def plain(spans):
    """The text of Markdown spans without their formatting."""
    return "".join(span.content if type(span).__name__ == "RawText"
                   else " " if type(span).__name__ == "LineBreak"
                   else plain(getattr(span, "children", None) or []) for span in spans)
