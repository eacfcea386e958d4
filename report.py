"""OUT/report.md, OUT/report.pdf and each run's report.md from the runs under OUT: the words
live in report.md.j2; the numbers and verdicts they need are computed here."""

import json
import tempfile
from datetime import date
from functools import cached_property
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
EXAMPLES = 3  # example rows per judge and verdict in the body
NEAR = 0.1  # fooled rows within this share of real rows' own nearest distance lie "as close"
FLAT = 0.05  # a discriminator whose scores of 100 samples span less than this is flat
CONSISTENT = 0.9  # a side that leads in this share of the epochs leads consistently
BACK_AND_FORTH = 0.05  # lead changes in more than this share of the epochs: back and forth
LEAST_SPREAD = 0.3  # a C range whose rows spread less than this (of real rows') collapsed
# the ablation's measures: (label, short name, formula over a run's metrics, +1: higher is better)
ABLATION_MEASURES = {
    "part1": [("c2st AUC", "c2st", "c2st_auc", -1), ("column shapes", "shapes", "column_shapes", 1),
              ("pair trends", "pairs", "pair_trends", 1),
              ("TSTR − TRTR", "TSTR", "tstr_accuracy - trtr_accuracy", 1)],
    "part2": [("mean |C − Y|", "|C − Y|", "mae", -1),
              ("class agreement", "agreement", "class_agreement", 1),
              ("least spread", "spread", "diversity_min_bin", 1),
              ("realism AUC", "realism", "realism_c2st_auc", -1),
              ("student lead", "lead", "extraction_agreement - uniform_baseline_agreement", 1)]}


class Run:
    """One finished run: its metrics `m`, CSVs, and `f`, the numbers and verdicts it needs."""

    def __init__(self, folder, part):
        self.folder, self.part, self.name = Path(folder), part, Path(folder).parent.name

    @cached_property
    def m(self):
        return json.loads((self.folder / "metrics.json").read_text("utf-8"))

    def csv(self, file):
        return pd.read_csv(self.folder / file)

    @cached_property
    def f(self):
        return (part1_facts if self.part == "part1" else part2_facts)(self)


def markdown_table(frame):
    """A frame as a Markdown table; floats with at most three decimals."""
    def text(value):
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.3f}".rstrip("0").rstrip(".")
        return str(value).replace("|", "\\|")
    rows = [frame.columns, ["---"] * frame.shape[1], *frame.itertuples(index=False)]
    return "\n".join("| " + " | ".join(text(value) for value in row) + " |" for row in rows)


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), trim_blocks=True,
                         lstrip_blocks=True, undefined=jinja2.StrictUndefined)
ENV.filters.update(num=lambda value, digits=3: f"{value:.{digits}f}".replace("-", "−"),
                   signed=lambda value, digits=3: f"{value:+.{digits}f}".replace("-", "−"),
                   pct=lambda value, digits=0: f"{100 * value:.{digits}f}%",
                   count=lambda value: f"{int(value):,}", table=lambda frame: markdown_table(
                       frame.rename(columns=lambda name: name.replace("_", " "))),
                   joined=lambda items: " and ".join([", ".join(items[:-1]), items[-1]][
                       len(items) < 2:]))  # a, b and c


def examples(table, judge, wide):
    """A judge's example rows against their nearest real records (wide: the differences only)."""
    rows = []
    for label, chosen in table.groupby("label", sort=False):
        chosen = chosen[chosen["chosen_by"] == judge].head(EXAMPLES).reset_index(drop=True)
        columns = [c for c in chosen.columns if f"nearest_real_{c}" in chosen.columns]
        for index, row in chosen.iterrows():
            own, real = row[columns], row[[f"nearest_real_{c}" for c in columns]].set_axis(columns)
            head = {"row": f"{label} {index + 1}", "score": f"{row[f'{judge}_score']:.3f}",
                    "distance": f"{row['distance']:.2f}"}
            rows.append({**head, "where it differs from its nearest real record": "; ".join(
                f"{c} {own[c]} → {real[c]}" for c in columns if own[c] != real[c]) or "nowhere"}
                        if wide else {**head, **{c: f"{own[c]} → {real[c]}" if own[c] != real[c]
                                                 else f"{own[c]}" for c in columns}})
    return markdown_table(pd.DataFrame(rows).fillna(""))


def part1_facts(run):
    m, share, real = run.m, run.m["discriminator_lead_share"], run.m["real_nearest_distance"]
    wide = m["numeric_attributes"] + m["nominal_attributes"] + 1 > WIDE
    table = pd.concat([run.csv(f"{label}.csv").assign(label=label.replace("_", " "))
                       for label in ("fooled", "not_fooled")])
    judges = {}
    for judge, key in (("discriminator", ""), ("detector", "detector_")):
        gap, low, high = (m[f"{key}distance_gap{end}"] for end in ("", "_low", "_high"))
        chosen = {label: rows[m["class_column"]] for label, rows in table[
            table["chosen_by"] == judge].groupby("label", sort=False)}
        shown = table[(table["label"] == "fooled") & (table["chosen_by"] == judge)].head(EXAMPLES)
        one_class = [rows.iloc[0] for rows in chosen.values() if rows.nunique() == 1]
        judges[judge] = {
            "fooled": m[f"{key}fooled_count"], "not_fooled": m[f"{key}not_fooled_count"],
            "gap": gap, "low": low, "high": high, "table": examples(table, judge, wide),
            "verdict": "empty" if gap is None else "closer" if low > 0 else "farther"
            if high < 0 else "unclear",
            "share": gap and gap / m[f"{key}mean_distance_not_fooled"],
            "near": (near := m[f"{key}mean_distance_fooled"]), "likeness": near and (
                "closer", "as close", "farther")[sum(near > (1 + s) * real for s in (-NEAR, NEAR))],
            "far_shown": int((shown["distance"] > (1 + NEAR) * real).sum()),
            "by_class": len(one_class) == 2 and one_class[0] != one_class[1] and (
                *one_class, len(chosen["fooled"]), len(chosen["not fooled"])),
            "farthest_shown": shown["distance"].max() if len(shown) else None}
    return {"wide": wide, "judges": judges,
            "flat": m["score_max_of_100"] - m["score_min_of_100"] < FLAT,
            "leader": "discriminator" if share >= 0.5 else "generator",
            "lead_share": max(share, 1 - share), "consistent": max(share, 1 - share) >= CONSISTENT,
            "back_and_forth": m["lead_changes"] > BACK_AND_FORTH * m["epochs_run"],
            "gap_share_of_ln2": abs(m["mean_loss_gap"]) / np.log(2.0)}


def bins_overview(runs):
    """Per range of C, then per class asked for, each dataset's |C − Y| and Y as mean (sd)."""
    table = {"C": [*runs[0].csv("confidence_bins.csv")["bin"], "C ≥ 0.5", "C < 0.5"]}
    for run in runs:
        rows = pd.concat([run.csv("confidence_bins.csv"), pd.DataFrame(
            [run.m["by_class"][side] for side in ("positive", "negative")])])
        for label, mean, sd, digits in (("|C − Y|", "mae", "mae_sd", 3), (
                "Y", "mean_blackbox_confidence", "blackbox_confidence_sd", 2)):
            table[f"{run.name}: {label}"] = [f"{a:.{digits}f} ({b:.{digits}f})"
                                             for a, b in rows[[mean, sd]].to_numpy()]
    return markdown_table(pd.DataFrame(table))


def part2_facts(run):
    m, bins, by = run.m, run.csv("confidence_bins.csv"), run.m["by_class"]
    pos, neg = (np.array([by[side]["mae"], -by[side]["class_agreement"]])
                for side in ("positive", "negative"))
    desired = run.csv("generated_1000.csv")["desired_confidence"]
    filled = bins[bins["count"] > 0].set_index("bin")
    lead = m["extraction_agreement"] - m["uniform_baseline_agreement"]
    peak, noise = float(m["y_peak_bin"].split("-")[0]), 2 * m["uniform_baseline_spread"]
    return {"best": filled.loc[filled["mae"].idxmin()], "worst": filled.loc[filled["mae"].idxmax()],
            "unanswered": int((~desired.between(m["answered_min"], m["answered_max"])).sum()),
            "beyond_test": int((desired > m["box"]["test_confidence"]["max"]).sum()),
            "peak": "top" if peak >= m["reachable_max"] - 0.1 else "bottom" if peak < 0.1
            else "middle", "lead": lead,
            "teaches": "more" if lead > noise else "less" if lead < -noise else "as much",
            "negative": "another class" if m["box"]["one_vs_rest"] else f"`{m['classes'][0]}`",
            "least_agreeing": filled.loc[filled["class_agreement"].idxmin()],
            "better_class": "positive" if (pos < neg).all() else "negative" if (neg < pos).all()
            else "mixed",  # a smaller error and a higher agreement
            "no_realer": m["realism_c2st_auc"] >= m["uniform_c2st_auc"],
            "collapsed": m["diversity_min_bin"] < LEAST_SPREAD or m["unique_rows"] < 990}


def ablation(root):
    """Per part, OUT/ablation.csv (else data/ablation.csv) as means ± sd and what moved."""
    path = next((path for path in (Path(root) / "ablation.csv", HERE / "data" / "ablation.csv")
                 if path.is_file()), None)
    rows, tables = pd.read_csv(path) if path else pd.DataFrame(columns=["part"]), {}
    for part, group in rows.groupby("part"):  # part1, then part2
        measures, labels = ABLATION_MEASURES[part], [m[0] for m in ABLATION_MEASURES[part]]
        runs = group.pivot_table(
            "value", ["change", "setting", "dataset", "seed"], "measure", sort=False).reset_index()
        runs[labels] = np.column_stack([runs.eval(formula) for _, _, formula, _ in measures])
        stats = runs.groupby(["change", "setting", "dataset"], sort=False)[labels].agg(
            ["mean", "std"])
        design = stats.xs("default", level="setting").droplevel("change")
        lines, previous, found = [], None, {"changes": {}, "means": {}, "sds": {}}
        for (change, setting, dataset), row in stats.iterrows():
            base, moved = design.loc[dataset], {"worse": [], "better": []}
            found["changes"][setting] = change
            for kind, into in (("mean", "means"), ("std", "sds")):
                found[into].setdefault(setting, {})[dataset] = row.xs(kind, level=1).to_dict()
            for label, short, _, better in measures:
                shift = better * (row[label, "mean"] - base[label, "mean"])
                if setting != "default" and abs(shift) > row[label, "std"] + base[label, "std"]:
                    moved["better" if shift > 0 else "worse"].append(short)
            verdict = "; ".join(f"{way}: {', '.join(names)}" for way, names in moved.items()
                                if names) or "nothing"
            lines.append({"change": "" if setting == previous else setting, "dataset": dataset,
                          **{label: f"{row[label, 'mean']:.3f} ± {row[label, 'std']:.3f}"
                             for label in labels},
                          "beyond the spread": "—" if setting == "default" else verdict})
            previous = setting
        tables[part] = {"table": markdown_table(pd.DataFrame(lines)),
                        "seeds": int(runs["seed"].nunique()), **found}
    return tables


def report_markdown(root, runs=None):
    """The whole report in Markdown, or given runs ({part: [Run]}), their part of it alone."""
    whole, root = runs is None, Path(root)
    runs = runs or {part: sorted((Run(path.parent, part) for path in root.glob(
        f"*/{part}/metrics.json")), key=lambda run: (run.name not in DATASETS, run.name))
        for part in SCRIPTS}  # the finished runs, the assignment's datasets (a-z) first
    every, authors = runs["part1"] + runs["part2"], root / "authors.txt"
    newest = max((run.folder.stat().st_mtime for run in every), default=None)
    return ENV.get_template("report.md.j2").render(
        whole=whole, **runs, scripts=SCRIPTS, datasets={run.name: run.m for run in every},
        missing={part: [name for name in DATASETS if name not in {r.name for r in runs[part]}]
                 for part in SCRIPTS},
        authors=authors.read_text("utf-8").strip() if authors.is_file() else None,
        day=newest and f"{date.fromtimestamp(newest):%d %B %Y}",
        ablation=ablation(root) if whole else {},
        architecture={part: architecture(runs[part]) for part in SCRIPTS if runs[part]},
        bins_overview=bins_overview(runs["part2"]) if runs["part2"] else "",
        constants={name: value for name, value in globals().items() if name.isupper()})


def architecture(runs):
    """The networks (a Markdown table) and constants of runs; values per dataset as "a / b"."""
    def values(entries):
        return " / ".join(dict.fromkeys(f"{v:,}" if type(v) is int else str(v) for v in entries))
    networks = list(zip(*(run.m["architecture"] for run in runs)))
    keys = [key for key in networks[0][0] if key != "network"]
    table = pd.DataFrame({"": keys, **{versions[0]["network"]: [
        values(version[key] for version in versions) for key in keys] for versions in networks}})
    return {"networks": markdown_table(table), "constants": {
        key: values(run.m["settings"][key] for run in runs) for key in runs[0].m["settings"]}}


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

    TEXT, TABLE = 9, 7
    STYLES = {**{f"h{level}": TextStyle(font_style="B", font_size_pt=size, color=0,
                                        t_margin=3, b_margin=0.6)
                 for level, size in ((1, 15), (2, 13), (3, 11))},
              "p": TextStyle(t_margin=0.01, b_margin=2),
              "code": TextStyle(font_family="DejaVuSansMono")}

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
        with mistletoe.HTMLRenderer() as html:
            for token in mistletoe.Document(markdown).children:
                children = getattr(token, "children", None) or []
                images = [child for child in children if type(child).__name__ == "Image"]
                if type(token).__name__ == "Table":
                    self.table_block([[plain(cell.children) for cell in row.children]
                                      for row in [token.header, *children]])
                elif images:
                    self.figure(images)
                else:  # a heading keeps room for what follows it
                    if type(token).__name__ == "Heading" and self.will_page_break(40):
                        self.add_page()
                    self.set_font("DejaVuSans", "", self.TEXT)
                    self.write_html(html.render(token).strip(), font_family="DejaVuSans",
                                    tag_styles=self.STYLES, li_prefix_color=0)
        self.output(str(path))
        return self.pages_count

    def table_block(self, rows, padding=2.2, one_line=5.5):
        """At the largest size keeping body cells on one line, else no word split, then wider."""
        rows = [[cell.replace(" ± ", "\u00a0±\u00a0").replace(" → ", "\u00a0→\u00a0")
                 for cell in row] for row in rows]  # no break beside ± and →
        sizes, (head, *body) = np.arange(self.TABLE, 4.9, -0.5), rows

        def widest(rows, style, split):  # per column: its widest cell (split: widest word)
            self.set_font("DejaVuSans", style, size)
            return np.array([max(self.get_string_width(word) for cell in column
                                 for word in (cell.split(" ") if split else [cell]))
                             for column in zip(*rows)])
        for size, whole in [*((size, True) for size in sizes if size >= one_line),
                            *((size, False) for size in sizes)]:
            least = padding + np.maximum(widest([head], "B", True), widest(body, "", not whole))
            if least.sum() <= self.epw:
                break
        wanted = padding + np.maximum(widest([head], "B", False), widest(body, "", False))
        spare = (self.epw - least.sum()) / max((wanted - least).sum(), 1e-9)
        widths = wanted if wanted.sum() <= self.epw else least + spare * (wanted - least)
        self.set_font("DejaVuSans", "", size)
        with self.table(col_widths=list(widths), width=min(widths.sum(), self.epw), align="LEFT",
                        text_align="LEFT", line_height=size * 0.45, padding=0.8) as table:
            for row in rows:
                table.row(row)
        self.ln(2.5)

    def figure(self, images, gap=4):
        """Figures side by side where they fit, under one numbered caption naming the datasets."""
        self.figures += 1
        placed = []
        for path in (self.folder / image.src for image in images):
            with PIL.Image.open(path) as picture:
                width = min(self.epw, picture.width / picture.info.get("dpi", (110,))[0] * 25.4)
                placed.append((path, width, width * picture.height / picture.width))
        together = sum(width for _, width, _ in placed) + gap * (len(placed) - 1) <= self.epw
        for row in [placed] if together else [[one] for one in placed]:
            height = max(height for _, _, height in row)
            if self.will_page_break(height + 12):
                self.add_page()
            x, top = (self.w - sum(w for _, w, _ in row) - gap * (len(row) - 1)) / 2, self.y
            for path, width, _ in row:
                self.image(str(path), x=x, y=top, w=width)
                x += width + gap
            self.set_y(top + height + 1)
        names, captions = zip(*(plain(image.children).split(": ", 1) for image in images))
        order = "" if len(images) == 1 else "left to right: " if together else "top to bottom: "
        self.set_font("DejaVuSans", "I", 8)
        self.multi_cell(0, 3.8, f"Figure {self.figures}. {captions[0]} ({order}"
                                f"{', '.join(names)}).", align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2.5)


def plain(spans):
    """The text of Markdown spans without their formatting."""
    return "".join(span.content if type(span).__name__ == "RawText"
                   else " " if type(span).__name__ == "LineBreak"
                   else plain(getattr(span, "children", None) or []) for span in spans)
