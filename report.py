"""OUT/report.md, OUT/report.pdf and each run's report.md from the runs under OUT: the words and
the tables' rows live in report.md.j2, the numbers and verdicts they show are computed here."""

import json
import re
import string
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
SHOWN = 4  # the most differences shown of an example row of a wide dataset
EXAMPLE_ROWS = 2  # example rows per judge and verdict in the body
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
TELLS = 0.95  # a realism AUC at least this high: samples told from real rows "almost always"
HARD = 0.6  # a two-sample AUC below this: synthetic rows are hard to tell from real ones
AS_UNIFORM = 0.01  # a realism AUC within this of uniform rows' is no better than theirs
FEW = 0.05  # at most this share of the samples scored above every real test row: "few"
NEAR_CEILING = 0.02  # a mean score within this of the highest real test score is "close to" it
ABLATION_MEASURES = {  # (label, formula over a run's metrics, +1: higher is better, 0: a count)
    "part1": [("two-sample AUC", "c2st_auc", -1), ("column shapes", "column_shapes", 1),
              ("converged", "converged", 0)],
    "part2": [("mean |C − Y|", "mae", -1), ("class agreement", "class_agreement", 1),
              ("least spread", "diversity_min_bin", 1), ("realism AUC", "realism_c2st_auc", -1),
              ("lead over uniform", "extraction_agreement - uniform_baseline_agreement", 1),
              ("converged", "converged", 0)]}


def num(value, digits=3):
    return f"{value:.{digits}f}".replace("-", "−")


def joined(items):
    """a, b and c"""
    *rest, last = items
    return f"{', '.join(rest)} and {last}" if rest else last


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


def table(rows):
    """Records or a frame as a Markdown table without padding, its bars escaped."""
    frame = pd.DataFrame(rows).fillna("").astype(str)
    cells = [[text.replace("|", "\\|") for text in map(str, row)]
             for row in [frame.columns, *frame.to_numpy()]]
    lines = ["|" + "".join(f" {text} |" if text else " |" for text in row) for row in cells]
    return "\n".join([lines[0], "|" + ":---|" * frame.shape[1], *lines[1:]])


class Cells(string.Formatter):
    """str.format for table cells: None as "—", a number's minus sign as "−"."""

    def format_field(self, value, spec):
        text = "—" if value is None else format(value, spec)
        return text.replace("-", "−") if isinstance(value, (int, float)) else text


def per(runs, spec):
    """Each run's facts by str.format spec, with its dataset when there are several."""
    said = [Cells().vformat(spec, (), run.f) for run in runs]
    return joined([f"{text} ({run.name})" for text, run in zip(said, runs)]) if len(runs) > 1 \
        else said[0]


def where(said):
    """The datasets of {dataset: true or false} that hold true."""
    return [name for name, true in said.items() if true]


def grid(runs, rows):
    """A table with a column per run and a row per {label: str.format of the run's facts}."""
    return table({"": list(rows), **{run.name: [Cells().vformat(spec, (), run.f)
                                                for spec in rows.values()] for run in runs}})


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), trim_blocks=True,
                         lstrip_blocks=True, undefined=jinja2.StrictUndefined)
ENV.filters.update(joined=joined, span=span, each=each, table=table, grid=grid, per=per,
                   pct=lambda value, digits=0: f"{100 * value:.{digits}f}%", commas="{:,}".format,
                   where=where, which=lambda said: "both datasets"
                   if len(said) == 2 and all(said.values()) else joined(where(said)))


class Run:
    """A finished run: `m`, its metrics.json, and `f`, those with what the report derives."""

    def __init__(self, folder, part, found=None):
        self.folder, self.part, self.name = Path(folder), part, Path(folder).parent.name
        self.m = json.loads((self.folder / "metrics.json").read_text("utf-8"))
        if missing := {"seed", "rows", "classes", "class_column", "settings"} - set(self.m):
            raise KeyError(min(missing))
        self.f = self.m | (part1_facts if part == "part1" else part2_facts)(self, found or {})

    def chosen(self, label, judge):  # the rows of fooled.csv or not_fooled.csv a judge chose
        rows = pd.read_csv(self.folder / f"{label}.csv")
        return rows[rows["chosen_by"] == judge]


def examples(run, judge, wide):
    """A judge's example rows against their nearest real records (wide: the differences only)."""
    rows = []
    for label in ("fooled", "not_fooled"):
        for index, (_, row) in enumerate(run.chosen(label, judge).head(EXAMPLE_ROWS).iterrows()):
            pairs = {c: (row[c], row[f"nearest_real_{c}"]) for c in row.index
                     if f"nearest_real_{c}" in row.index}
            cells = {c: f"{a} → {b}" if a != b else f"{a}" for c, (a, b) in pairs.items()}
            if wide:  # its first SHOWN differences, and how many more
                differ = [f"{c} {a} → {b}" for c, (a, b) in pairs.items() if a != b]
                cells = {"where it differs from its nearest real record": "; ".join(
                    differ[:SHOWN]) + (f" (+{len(differ) - SHOWN} more)" if differ[SHOWN:] else "")
                    or "nowhere"}
            rows.append({"row": f"{label.replace('_', ' ')} {index + 1}", "score": num(
                row[f"{judge}_score"]), "distance": num(row["distance"], 2), **cells})
    return table(rows)


def traits(run, judge):
    """What the 10 rows a judge found most convincing and the 10 it found least have in common:
    a class most of them share, and the attribute whose ranges lie furthest apart."""
    fooled, other = groups = [run.chosen(label, judge) for label in ("fooled", "not_fooled")]
    both, said = pd.concat(groups), []
    apart = {c: max(other[c].min() - fooled[c].max(), fooled[c].min() - other[c].max())
             / (both[c].std() or np.inf)
             for c in both.select_dtypes("number") if f"nearest_real_{c}" in both}
    top = max(apart, key=apart.get, default=None)
    for rows in groups:
        kind = rows[run.m["class_column"]].value_counts()
        shared = len(kind) and kind.iloc[0] >= SHARED * len(rows)
        words = [f"{kind.iloc[0]} of {len(rows)} `{kind.index[0]}`" if shared
                 else "of either class"]
        if apart.get(top, 0) > 0:
            words.append(f"{top} {span(rows[top], None if rows[top].dtype.kind == 'i' else 1)}")
        said.append(", ".join(words))
    return said if said != ["of either class"] * 2 else None


def over_seeds(found, part, name, measure):
    """A design's count on a dataset over the ablation's seeds: lowest–highest, or how many
    seeds converged."""
    values = found.get(part, {}).get("design", {}).get(name, {}).get(measure, pd.Series())
    if not len(values := values.dropna().astype(int)):
        return "not in the ablation"
    return f"{sum(values)} of {len(values)}" if measure == "converged" else span(values)


def part1_facts(run, found):
    """Part 1's example tables, the numbers its tables show beyond metrics.json, its verdicts."""
    m, share = run.m, run.m["discriminator_lead_share"]
    leader, lead = "discriminator" if share >= 0.5 else "generator", max(share, 1 - share)
    wide = m["numeric_attributes"] + m["nominal_attributes"] + 1 > WIDE
    judges = {"detector": "two-sample classifier", "discriminator": "discriminator"}
    return {"examples": "\n\n".join(f"*{run.name}, the {who}:*\n\n{examples(run, judge, wide)}"
                                      for judge, who in judges.items()),
            "traits": [(who, *said) for judge, who in judges.items() if (said := traits(
                run, judge))], "wide": wide, "leader": leader, "lead": lead,
            **{f"{key}seeds": f" ({over_seeds(found, 'part1', run.name, f'{key}passed_of_100')})"
               if "part1" in found else "" for key in ("detector_", "")},
            **{f"{key}span": span([m[f"{key}score_min_of_100"], m[f"{key}score_max_of_100"]],
                                  digits) for key, digits in (("detector_", 2), ("", 3))},
            "converged_seeds": f"{'yes' if m['converged'] else 'no'} "
            f"({over_seeds(found, 'part1', run.name, 'converged')})",
            "change_share": m["lead_changes"] / m["epochs_run"],
            "gap_of_ln2": abs(m["mean_loss_gap"]) / np.log(2),
            **{key: value for judge in ("", "detector_") for key, value in likeness(m, judge)},
            "flat": "too flat for its side of 0.5 to mean much"
            if m["score_max_of_100"] - m["score_min_of_100"] < FLAT else "wide enough to sort rows",
            "back_and_forth": "yes" if m["lead_changes"] > BACK_AND_FORTH * m["epochs_run"]
            else "no", "consistent": f"yes, the {leader}" if lead >= CONSISTENT else "no",
            "ended": "converged" if m["converged"] else "reached the cap",
            "hard": "hard to tell from real ones" if m["c2st_auc"] < HARD
            else "told from real ones more often"}


def likeness(m, judge):
    """3a's verdicts on the rows that fooled a judge ("": the discriminator, "detector_"): are
    they similar to real rows, as close to a real record as real rows are, closer than the rest?"""
    real, (near, gap, low, high) = m["real_nearest_distance"], (m[f"{judge}{key}"] for key in (
        "mean_distance_fooled", "distance_gap", "distance_gap_low", "distance_gap_high"))
    yield f"{judge}similar", "No" if near is None or near > (1 + NEAR) * real else "Yes"
    yield f"{judge}likeness", "—" if near is None else ("closer", "as close", "farther")[
        sum(near > (1 + s) * real for s in (-NEAR, NEAR))]
    yield f"{judge}closer", "too few rows on one side" if gap is None else \
        "closer" if low > 0 else "farther" if high < 0 else "no closer"


def interval(*rows):
    """The 95% interval's half-width of a mean |C − Y|, or of the difference of two."""
    return Z95 * np.sqrt(np.nansum([row["mae_sd"] ** 2 / row["count"] for row in rows]))


def alike(bins, end):
    """The ranges of C whose mean |C − Y| is the lowest (best) or highest (worst) or within the
    95% interval of its difference from it."""
    edge = bins.loc[bins["mae"].idxmin() if end == "best" else bins["mae"].idxmax()]
    return [name for name, row in bins.iterrows()
            if abs(row["mae"] - edge["mae"]) <= interval(row, edge)]


def part2_facts(run, found):
    """Part 2's numbers its tables show beyond metrics.json, and its verdicts."""
    m, by, fixed = run.m, run.m["by_class"], run.m["collapse_at_fixed_c"]
    top = m["box"]["test_confidence"]
    bins, features, losses, generated = (pd.read_csv(run.folder / f"{name}.csv") for name in (
        "confidence_bins", "features", "losses", "generated_1000"))
    filled, g_loss = bins[bins["count"] > 0].set_index("bin"), losses["g_loss"][: m["epoch_used"]]
    nominal = features[pd.to_numeric(features["real (training rows)"], errors="coerce").isna()]
    near = (abs(nominal["likeness generated"] - nominal["likeness uniform"]) <= NEAR_UNIFORM).sum()
    lead = m["extraction_agreement"] - m["uniform_baseline_agreement"]
    noise, gap = 2 * m["uniform_baseline_spread"], by["positive"]["mae"] - by["negative"]["mae"]
    width = interval(by["positive"], by["negative"])
    agree, ceiling = {side: by[side]["class_agreement"] for side in by}, top["max"]
    top_y = filled["mean_blackbox_confidence"].iloc[-1]
    majority = max(side["count"] for side in m["box"]["test_confidence_by_class"].values()) / m[
        "box"]["test_rows"]
    over = int((generated["blackbox_confidence"] > ceiling).sum())
    side_ci = {side: Z95 * np.sqrt(a * (1 - a) / by[side]["count"]) for side, a in agree.items()}
    agree_width = np.sqrt(sum(width ** 2 for width in side_ci.values()))

    def ahead(lead, width):  # the class asked for that leads by more than the 95% half-width
        return (f"C ≥ 0.5 (`{m['box']['positive_class']}`)" if lead > width else
                f"C < 0.5 (`{m['box']['negative_class']}`)" if lead < -width else "neither class")
    return {"ci": {side: interval(by[side]) for side in by}, "side_ci": side_ci, "gap": gap,
            "width": width, "top_y": top_y, "top_bin": filled.index[-1],
            "bins": {"|C − Y| ± 95%": run.name, **{row["bin"]: "—" if not row["count"] else
                                                  f"{num(row['mae'])} ±{num(interval(row))}"
                                                  for _, row in bins.iterrows()}},
            "fixed_spread": min(p["spread"] for p in fixed),
            "fixed_distinct": min(p["distinct_rows"] for p in fixed),
            "attributes": m["numeric_attributes"] + m["nominal_attributes"],
            "lead": lead, "noise": noise, "g_low": g_loss.min(), "g_kept": g_loss.iloc[-1],
            "converged_seeds": f"{'yes' if m['converged'] else 'no'} "
            f"({over_seeds(found, 'part2', run.name, 'converged')})",
            **{end: joined(names) if len(names := alike(filled, end)) < 4 else "no single range"
               for end in ("best", "worst")},
            "better": ahead(-gap, width),
            "surer": ahead(agree["positive"] - agree["negative"], agree_width),
            "over": over, "agreement": 100 * m["class_agreement"],
            "majority": majority, "beats": "beats" if m["box"]["accuracy"] > majority
            else "does not beat", "levels": "close to" if abs(top_y - ceiling) <= NEAR_CEILING
            else f"{abs(top_y - ceiling):.2f} {'above' if top_y > ceiling else 'below'}",
            "beyond": "few" if over <= FEW * len(generated) else "many",
            "collapsed": "yes" if min(m["diversity_min_bin"], *(p["spread"] for p in fixed))
            < LEAST_SPREAD or any(p["distinct_rows"] < DISTINCT * p["draws"] for p in fixed)
            else "no",
            "realism": "almost always" if m["realism_c2st_auc"] >= TELLS else "often, not always",
            "versus_uniform": "no more realistic" if m["realism_c2st_auc"]
            > m["uniform_c2st_auc"] - AS_UNIFORM else "more realistic",
            "near_uniform": near * 2 > len(nominal) > 0 and (near, len(nominal)),
            "rising": g_loss.iloc[-1] - g_loss.min() > RISE, "teaches": "more often"
            if lead > noise else "less often" if lead < -noise else "as often"}


def ablation(root):
    """Per part, OUT/ablation.csv (else data/ablation.csv) as a table of means ± sd (↑ ↓: better
    or worse than the design beyond both sds), the design's rows per dataset, seeds and changes."""
    paths = [path for path in (Path(root) / "ablation.csv", HERE / "data" / "ablation.csv")
             if path.is_file()]
    found = {}
    for part, group in pd.read_csv(paths[0]).groupby("part") if paths else []:
        runs = group.pivot_table("value", ["change", "setting", "dataset", "seed"], "measure",
                                 sort=False).reset_index()
        measures = {label: (runs.eval(formula), better) for label, formula, better
                    in ABLATION_MEASURES[part] if set(re.findall(r"\w+", formula)) <= set(runs)}
        stats = runs.assign(**{label: values for label, (values, _) in measures.items()}).groupby(
            ["setting", "dataset"], sort=False)[list(measures)].agg(["mean", "std", "sum", "size"])
        lines = []
        for (setting, dataset), row in stats.iterrows():
            base = stats.loc[("default", dataset)]
            cells = {f"Part {part[-1]}: change": "" if lines and lines[-1][0] == setting
                     else setting,
                     "dataset": dataset}
            for label, (_, better) in measures.items():
                mean, sd, total, size = row[label]
                shift = better * (mean - base[label]["mean"])
                arrow = "" if setting == "default" or abs(shift) <= sd + base[label]["std"] \
                    or num(mean) == num(base[label]["mean"]) else "↑" if shift > 0 else "↓"
                cells[label] = f"{num(mean)}±{num(sd)}{arrow}" if better else \
                    f"{int(total)} of {int(size)}"
            lines.append((setting, cells))
        design = runs[runs["setting"].eq("default")]
        spread = stats[("least spread", "mean")] if "least spread" in measures else pd.Series()
        collapsing = list(dict.fromkeys(setting for (setting, _), value in spread.items()
                                        if value < LEAST_SPREAD and setting != "default"))
        found[part] = {"table": table([cells for _, cells in lines]), "collapsing": collapsing,
                       "design": dict(list(design.groupby("dataset", sort=False))),
                       "seeds": sorted(runs["seed"].astype(int).unique()),
                       "changes": {setting: change for setting, change in zip(
                           runs["setting"], runs["change"]) if setting != "default"}}
    return found


def architecture(runs):
    """The networks and the constants of runs as Markdown tables (values that differ between
    datasets as "a / b"), and the constants in a line."""
    def values(entries):
        return " / ".join(dict.fromkeys(f"{v:,}" if type(v) is int else str(v) for v in entries))
    about = runs[0].m.get("settings_about", {})  # what each constant does
    constants = [(f"`{key}`", values(run.m["settings"][key] for run in runs), about.get(key, ""))
                 for key in runs[0].m["settings"]]
    half, networks = (len(constants) + 1) // 2, zip(*(run.m["architecture"] for run in runs))
    keys = [key for key in runs[0].m["architecture"][0] if key != "network"]
    return {"networks": table({" / ".join(run.name for run in runs): keys, **{
        versions[0]["network"]: [values(v[key] for v in versions) for key in keys]
        for versions in networks}}), "constants": table(pd.DataFrame([
            left + right for left, right in zip(constants[:half], [*constants[half:], ("",) * 3])],
            columns=["constant", "value", "what it does"] * 2)),
            "line": "; ".join(f"{key} {value}" for key, value, _ in constants) + "."}


def report_markdown(root, runs=None):
    """The whole report in Markdown, or given runs ({part: [Run]}), their part of it alone. A run
    folder whose metrics.json or CSVs cannot be read is named and left out."""
    whole, root, unreadable, found = runs is None, Path(root), [], {}
    folders = {part: sorted(root.glob(f"*/{part}/metrics.json"), key=lambda path: (
        path.parts[-3] not in DATASETS, path.parts[-3])) for part in SCRIPTS}
    if whole:
        found, runs = ablation(root), {part: [] for part in SCRIPTS}
        for part, path in ((part, path) for part, paths in folders.items() for path in paths):
            try:
                runs[part].append(Run(path.parent, part, found))
            except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
                unreadable.append((path.parent.relative_to(root.parent).as_posix(), (
                    f"no {error}" if isinstance(error, KeyError) else f"damaged at line "
                    f"{error.lineno}" if isinstance(error, json.JSONDecodeError) else str(error)),
                    f"{SCRIPTS[part]} --dataset {path.parts[-3]}"))
    every, authors = runs["part1"] + runs["part2"], root / "authors.txt"
    newest = max((run.folder.stat().st_mtime for run in every), default=None)
    missing = {part: [name for name in DATASETS if name not in {p.parts[-3] for p in paths}]
               for part, paths in folders.items()}
    return re.sub(r"\n{3,}", "\n\n", ENV.get_template("report.md.j2").render(
        whole=whole, **runs, unreadable=unreadable, ablation=found, seeds=sorted(
            {run.m["seed"] for run in every}), datasets={run.name: run.m for run in every},
        missing={part: {"names": names, "one": len(names) == 1} for part, names in missing.items()},
        authors=authors.read_text("utf-8").strip() if authors.is_file() else None,
        day=newest and f"{date.fromtimestamp(newest):%d %B %Y}", scripts=SCRIPTS,
        **{f"p{part[-1]}": runs[part] and {key: {run.name: run.f[key] for run in runs[part]}
                                          for key in runs[part][0].f} | {
            "answer": "Answer" if len(runs[part]) > 1 else f"Answer for {runs[part][0].name}"}
           for part in SCRIPTS},
        architecture={part: architecture(runs[part]) for part in SCRIPTS if runs[part]},
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

    def __init__(self, folder):
        super().__init__(format="A4")
        self.folder = Path(folder)
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
        styles = {f"h{level}": TextStyle(font_style="B", font_size_pt=size, color=0, t_margin=3,
                                         b_margin=0.6)
                  for level, size in ((1, 15), (2, 13), (3, 11))}
        styles |= {"p": TextStyle(t_margin=0.01, b_margin=2),
                   "code": TextStyle(font_family="DejaVuSansMono")}
        self.add_page()
        with mistletoe.HTMLRenderer() as html:
            for token in mistletoe.Document(markdown).children:
                images = [child for child in getattr(token, "children", None) or []
                          if type(child).__name__ == "Image"]
                if type(token).__name__ == "ThematicBreak":  # a rule in Markdown: a new page
                    self.add_page()
                elif type(token).__name__ == "Table":
                    self.table_block([[plain(cell.children) for cell in row.children]
                                      for row in [token.header, *token.children]])
                elif images:
                    self.figure(images)
                else:  # a heading keeps the start of what follows on its page
                    if type(token).__name__ == "Heading" and self.will_page_break(42):
                        self.add_page()
                    self.set_font("DejaVuSans", "", self.TEXT)
                    self.write_html(html.render(token).strip(), font_family="DejaVuSans",
                                    tag_styles=styles, li_prefix_color=0)
        self.output(str(path))
        return self.pages_count

    def table_block(self, rows, padding=2.2):
        """At the largest size from TABLE down to SMALLEST that keeps cells on one line, else at
        SMALLEST with cells wrapped between words, columns shared by their widest words."""
        rows = [[cell.replace(" ± ", "\u00a0±\u00a0") for cell in row] for row in rows]
        measured = []  # at 1 pt, each cell's width and its widest word's, the head in bold
        for index, row in enumerate(rows):
            self.set_font("DejaVuSans", "" if index else "B", 1)
            measured.append([(self.get_string_width(cell), max(
                map(self.get_string_width, cell.split(" ")))) for cell in row])
        cells, words = np.max(measured, axis=0).T
        fits = np.floor(2 * (self.epw - padding * len(cells)) / cells.sum()) / 2
        size = min(self.TABLE, max(self.SMALLEST, fits))
        cells, words = padding + size * cells, padding + size * words
        spare = max(self.epw - words.sum(), 0) / max((cells - words).sum(), 1e-9)
        widths = words + min(spare, 1) * (cells - words)
        self.set_font("DejaVuSans", "", size)

        def draw(pdf):
            with pdf.table(col_widths=list(widths), width=min(widths.sum(), self.epw),
                           align="LEFT", text_align="LEFT", line_height=size * 0.45,
                           padding=0.8) as table:
                for row in rows:
                    table.row(row)
        if self.will_page_break(3 * len(rows) * (size * 0.45 + 1.6)):  # near the foot: a table
            with self.offset_rendering() as trial:  # that would break starts a page (a trial
                draw(trial)  # copies the document: only here)
            if trial.page_break_triggered:
                self.add_page()
        draw(self)
        self.ln(2.5)

    def figure(self, images):
        """Images side by side at their size, shrunk to the page's width; their caption."""
        widths = {}
        for path in (self.folder / image.src for image in images):
            if path.is_file():
                with PIL.Image.open(path) as picture:
                    inches = picture.width / picture.info.get("dpi", (110,))[0]
                    widths[str(path)] = min(self.epw, 0.72 * inches * 25.4)
        if widths:
            with self.table(col_widths=list(widths.values()), first_row_as_headings=False,
                            width=min(self.epw, sum(widths.values()) + 4 * len(widths) - 4),
                            borders_layout="NONE", gutter_width=4, padding=0) as table:
                row = table.row()
                for path in widths:
                    row.cell(img=path, img_fill_width=True)
        names, captions = zip(*(plain(image.children).split(": ", 1) for image in images))
        gone = [image.src for image in images if str(self.folder / image.src) not in widths]
        self.set_font("DejaVuSans", "I", 8)
        self.multi_cell(0, 3.8, f"{captions[0]} ("
                        f"{'left to right: ' if len(images) > 1 else ''}{', '.join(names)})."
                        + (f" Not found: {', '.join(gone)}." if gone else ""), align="C",
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(2.5)


def plain(spans):
    """The text of Markdown spans without their formatting."""
    return "".join(span.content if type(span).__name__ == "RawText"
                   else " " if type(span).__name__ == "LineBreak"
                   else plain(getattr(span, "children", None) or []) for span in spans)
