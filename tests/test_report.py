"""The report (OUT/report.md, OUT/report.pdf and each run's report.md) from real tiny runs."""

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import part1_gan
import part2_bbgan
import report
from conftest import AUTHORS, small_arff

QUESTIONS = ["3a", "3b", "3c", "4a", "4b and 4c", "4d"]
DATASETS = ["diabetes", "german_credit"]
ROOT = Path(__file__).resolve().parents[1]


def section(text, question):
    return re.search(rf"^### {question}\. .*?(?=^##)", text, re.MULTILINE | re.DOTALL).group(0)


def test_each_question_is_answered_once_with_a_table_of_both_datasets(tiny_runs):
    text = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# ") and f"**Authors:** {AUTHORS}" in text
    for question in QUESTIONS:
        found = section(text, question)
        assert found.count("**Answer.**") == 1 and "**Answer for" not in found, question
        assert "| | diabetes | german_credit |" in found or "diabetes: |C" in found, question
    for heading in ("### Method", "### Architecture and hyper-parameters", "## Conclusions",
                    "## Appendix", "### Ablation", "### Measures"):
        assert heading in text
    body = text.split("## Appendix")[0]
    for name in DATASETS:
        for part, key in (("part1", "c2st_auc"), ("part2", "mae")):
            metrics = json.loads((tiny_runs.out / name / part / "metrics.json").read_text())
            assert f"{metrics[key]:.3f}" in body
            for network in metrics["architecture"]:
                assert f"{network['trainable parameters']:,}" in body
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)  # scores_100.png: Part 1's to write
    assert len(figures) == 14 and all((tiny_runs.out / path).is_file() for path in figures
                                      if not path.endswith("scores_100.png"))
    assert "confidence_bins.csv" in text and "| 0.0-0.1 |" not in text.split("## Appendix")[1]


def test_thresholds_are_stated_where_they_decide(tiny_runs):
    text = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    losses = section(text, "3c")
    for threshold in (report.CONSISTENT, report.BACK_AND_FORTH):
        assert f"{100 * threshold:.0f}%" in losses
    assert re.search(r"Back and forth: (yes|no)[^.]*; a consistent leader: (yes|no)", losses)


def test_pdf_is_valid_with_its_figures_and_no_tiny_tables(tiny_runs):
    pdf = (tiny_runs.out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert 4 <= len(re.findall(rb"/Type\s*/Page\b", pdf)) <= 10
    assert pdf.count(b"/Subtype /Image") >= 12  # scores_100.png: Part 1 to write
    wide = pd.DataFrame({f"column {i}": ["a long cell of words " * 3] for i in range(9)})
    pdf_report = report.PdfReport(tiny_runs.out)
    pdf_report.add_page()
    pdf_report.table_block([list(wide.columns), *wide.to_numpy().tolist()])
    assert pdf_report.font_size_pt >= report.PdfReport.SMALLEST


def test_the_appendix_starts_a_page(tiny_runs, tmp_path):
    markdown = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    assert "\n---\n## Appendix" in markdown
    texts = ("Body.\n\n---\n## Appendix\n", "Body.\n\n## Appendix\n")  # a rule: a new page
    pages = [report.PdfReport(tiny_runs.out).render(text, tmp_path / f"{index}.pdf")
             for index, text in enumerate(texts)]
    assert pages == [2, 1]


def test_an_unreadable_run_is_named_and_left_out(tiny_runs, tmp_path):
    out = tmp_path / "outputs"
    shutil.copytree(tiny_runs.out, out)
    stale = out / "german_credit" / "part1" / "metrics.json"
    metrics = json.loads(stale.read_text())
    del metrics["lead_changes"]
    stale.write_text(json.dumps(metrics))
    damaged = out / "diabetes" / "part2" / "metrics.json"
    damaged.write_text(damaged.read_text()[:200])
    report.write_report(out, quiet=True)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert ("outputs/german_credit/part1: unreadable (no 'lead_changes'); run "
            "`python part1_gan.py --dataset german_credit` again") in text
    assert re.search(r"outputs/diabetes/part2: unreadable \([^)]+\); run `python part2_bbgan.py "
                     r"--dataset diabetes` again", text)
    assert "**Answer for diabetes.**" in section(text, "3a")  # built from the rest
    assert "**Answer for german_credit.**" in section(text, "4a") and "Not run yet" not in text
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_the_template_reads_as_prose():
    template = (ROOT / "report.md.j2").read_text(encoding="utf-8")
    lines = template.splitlines()
    assert len(lines) <= 150 and max(map(len, lines)) <= 400
    blocks = re.findall(r"{%-?\s*(\w+)(.*?)-?%}", template, re.DOTALL)
    assert len(blocks) <= 60
    comparison = re.compile(r"[<>]=?|==|!=|\blength\b")
    for keyword, body in blocks:
        assert keyword not in ("if", "elif") or not comparison.search(body), body
    for inline in re.findall(r"{{(.*?)}}", template, re.DOTALL):
        assert " if " not in inline or not comparison.search(inline), inline


def test_each_and_span_name_datasets_only_where_they_differ():
    assert report.each({"diabetes": "no", "german_credit": "no"}) == "no"
    assert report.each({"a": "yes", "b": "no", "c": "yes"}) == "yes on a and c, no on b"
    assert report.span([44, 44]) == "44" and report.span([47, 84]) == "47–84"
    assert report.span([0.0015, 0.0049], 4) == "0.0015–0.0049"


def test_a_range_is_best_only_beyond_the_interval_of_the_difference():
    bins = pd.DataFrame({"mae": [0.061, 0.059, 0.124], "mae_sd": [0.045] * 3, "count": [108] * 3},
                        index=["0.1-0.2", "0.7-0.8", "0.9-1.0"])
    assert report.alike(bins, "best") == ["0.1-0.2", "0.7-0.8"]  # inside the noise: alike
    assert report.alike(bins, "worst") == ["0.9-1.0"]


def test_traits_name_the_class_and_the_attribute_the_rows_share():
    def rows(kind, ages):
        return pd.DataFrame({"chosen_by": "detector", "age": ages, "nearest_real_age": ages,
                             "mass": [30.0] * 10, "nearest_real_mass": [30.0] * 10, "class": kind})
    groups = {"fooled": rows(["neg"] * 9 + ["pos"], list(range(21, 31))),
              "not_fooled": rows(["pos"] * 5 + ["neg"] * 5, list(range(36, 46)))}
    run = SimpleNamespace(m={"class_column": "class"}, chosen=lambda label, judge: groups[label])
    assert report.traits(run, "detector") == ["9 of 10 `neg`, age 21–30",
                                               "of either class, age 36–45"]
    groups["not_fooled"] = rows(["pos"] * 5 + ["neg"] * 5, list(range(25, 35)))  # overlapping
    assert report.traits(run, "detector") == ["9 of 10 `neg`", "of either class"]


def test_table_escapes_bars_without_padding():
    table = report.table(pd.DataFrame({"|a|": ["x|y", "longer text"], "b": [1, 2]}))
    assert table.splitlines() == [r"| \|a\| | b |", "|:---|:---|", r"| x\|y | 1 |",
                                  "| longer text | 2 |"]


def ablation_rows(change, setting, mae, seeds=3, converged=1):
    return [("part2", change, setting, "d", seed, key, value) for seed in range(seeds)
            for key, value in (("mae", mae + 0.001 * seed), ("class_agreement", 0.97),
                               ("diversity_min_bin", 0.5), ("realism_c2st_auc", 0.9),
                               ("extraction_agreement", 0.8), ("uniform_baseline_agreement", 0.7),
                               ("converged", converged * (seed > 0)))]


def test_ablation_marks_what_moved_beyond_the_spread(tmp_path):
    rows = (ablation_rows("the design above", "default", 0.03)
            + ablation_rows("no discriminator", "ADVERSARIAL_WEIGHT=0", 0.06)
            + ablation_rows("no critic", "CRITIC_WEIGHT=0", 0.0305, converged=0))
    pd.DataFrame(rows, columns=["part", "change", "setting", "dataset", "seed", "measure",
                                "value"]).to_csv(tmp_path / "ablation.csv", index=False)
    found = report.ablation(tmp_path)
    assert set(found) == {"part2"} and found["part2"]["seeds"] == [0, 1, 2]
    lines = found["part2"]["table"].splitlines()
    assert lines[2].startswith("| default | d | 0.031±0.001 |") and "| 2 of 3 |" in lines[2]
    assert "| 0.061±0.001↓ |" in lines[3] and "↓" not in lines[4] and "| 0 of 3 |" in lines[4]
    assert report.over_seeds(found, "part2", "d", "converged") == "2 of 3"


def test_the_shipped_ablation_is_in_the_appendix(tiny_runs):
    text = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    appendix = text.split("## Appendix")[1]
    shipped = pd.read_csv(ROOT / "data" / "ablation.csv")
    assert set(shipped["part"]) == {"part1", "part2"} and not shipped.isna().any().any()
    for script in (part1_gan, part2_bbgan):
        part = script.__name__.split("_")[0]
        assert set(shipped.loc[shipped["part"] == part, "setting"]) == {
            "default", *script.ABLATION.values()}
        for change, setting in script.ABLATION.items():
            assert f"| {setting} |" in appendix and f"`{setting}`: {change}" in appendix
    design = shipped[(shipped["part"] == "part1") & (shipped["setting"] == "default")]
    for name in DATASETS:  # the body's convergence and 3b counts are the appendix's seeds
        rows = design[design["dataset"] == name].pivot_table("value", "seed", "measure")
        assert f"({int(rows['converged'].sum())} of {len(rows)})" in section(text, "3c")
        low, high = rows["detector_passed_of_100"].min(), rows["detector_passed_of_100"].max()
        assert (f"({low:.0f}–{high:.0f})" if low != high else f"({low:.0f})") in section(text, "3b")
    spread = shipped[(shipped["part"] == "part2") & (shipped["measure"] == "diversity_min_bin")]
    means = spread.groupby(["setting", "dataset"])["value"].mean()
    for setting in {setting for (setting, _), mean in means.items() if mean < report.LEAST_SPREAD}:
        assert f"With `{setting}`" in section(text, "4d")  # 4d names each collapsing change


def test_a_users_file_alone_gets_a_report_that_names_only_it(write_arff, tmp_path):
    path = write_arff(small_arff(rows=60), "shop.arff")
    for script in (part1_gan, part2_bbgan):
        script.main(["--dataset", str(path), "--epochs", "1", "--out", str(tmp_path), "--quiet"])
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Not run yet for diabetes and german_credit: `python part1_gan.py` adds them." in text
    for question in QUESTIONS:
        assert "**Answer for shop.**" in section(text, question), question
    body = text.split("## Appendix")[0].replace("Not run yet for diabetes and german_credit", "")
    assert "diabetes" not in body and "german_credit" not in body
    own = (tmp_path / "shop" / "part2" / "report.md").read_text(encoding="utf-8")
    assert own.startswith("## Part 2") and "**Answer for shop.**" in own
    assert "## Appendix" not in own and "Not run yet" not in own


def test_authors_are_kept_by_later_runs_and_asked_for_until_set(tiny_runs, tmp_path):
    assert f"**Authors:** {AUTHORS}" in tiny_runs.report_after_part1  # set by Part 1's run
    shutil.copytree(tiny_runs.out, tmp_path / "out")
    (tmp_path / "out" / "authors.txt").unlink()
    assert "run either script once with `--authors" in report.report_markdown(tmp_path / "out")


def test_report_after_one_part_says_what_is_missing(tiny_runs):
    text = tiny_runs.report_after_part1
    assert "### 3a. " in text and "### 4a. " not in text
    assert ("Not run yet for diabetes and german_credit: `python part2_bbgan.py` adds them."
            in text)


def test_report_names_the_command_for_the_one_run_missing(tiny_runs, tmp_path):
    shutil.copytree(tiny_runs.out, tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "german_credit" / "part2")
    text = report.report_markdown(tmp_path / "out")
    assert ("Not run yet for german_credit: `python part2_bbgan.py --dataset german_credit` "
            "adds it.") in text
    assert "german_credit" not in section(text, "4a")


def test_report_text_is_the_same_for_the_same_runs(tiny_runs):
    assert report.report_markdown(tiny_runs.out) == (
        tiny_runs.out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ["README.md", "report.md.j2", "*.py", "outputs/report.md"])
def test_no_development_history_in_what_users_read(tiny_runs, path):
    history = re.compile(r"\bissues? \d+|\b(earlier|previous|this|last) rounds?\b|"
                         r"earlier designs?|\bcommit [0-9a-f]{7}|\bused to\b", re.IGNORECASE)
    files = [tiny_runs.out / "report.md"] if path.startswith("outputs") else ROOT.glob(path)
    for file in files:
        found = history.search(file.read_text(encoding="utf-8"))
        assert not found, f"{file.name}: {found.group(0)}"


def test_a_range_of_c_with_one_sample_is_still_compared():
    bins = pd.DataFrame({"mae": [0.05, 0.2, 0.04], "mae_sd": [0.01, 0.02, float("nan")],
                         "count": [50, 40, 1]}, index=["0.0-0.1", "0.1-0.2", "0.2-0.3"])
    assert report.alike(bins, "best") == ["0.2-0.3"]
    assert report.alike(bins, "worst") == ["0.1-0.2"]
