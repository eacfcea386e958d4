"""The report (OUT/report.md, OUT/report.pdf and each run's report.md) from real tiny runs."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import part1_gan
import part2_bbgan
import report
from conftest import AUTHORS, small_arff

QUESTIONS = ["3a", "3b", "3c", "4a", "4b", "4c", "4d"]
DATASETS = ["diabetes", "german_credit"]
ROOT = Path(__file__).resolve().parents[1]


def test_report_answers_each_question_for_each_dataset(tiny_runs):
    text = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# ") and f"**Authors:** {AUTHORS}" in text
    for question in QUESTIONS:  # each question opens with a direct answer per dataset
        section = re.search(rf"^### {question}\. .*?(?=^##)", text, re.MULTILINE | re.DOTALL)
        answers = re.findall(r"^\*\*Answer for (\w+)\.\*\* ", section.group(0), re.MULTILINE)
        assert answers == DATASETS, question
    for heading in ("### Method", "### Architecture and hyper-parameters", "## Conclusions",
                    "## Appendix", "### Ablation", "### Measures"):
        assert heading in text
    lines = text.splitlines()  # answers, figures and tables are blocks of their own: the
    for before, line in zip(lines, lines[1:]):  # PDF typesets a block as a whole
        if line.startswith(("**", "![")) or line.startswith("|") and not before.startswith("|"):
            assert before == "", line[:60]
    assert "Not run yet" not in text and not re.search(r"\bon diabetes and\b", text)
    body = text.split("## Appendix")[0]
    for part, key, digits in (("part1", "c2st_auc", 3), ("part2", "mae", 3)):
        for name in DATASETS:
            metrics = json.loads((tiny_runs.out / name / part / "metrics.json").read_text())
            assert f"{metrics[key]:.{digits}f}" in body
            assert f"epoch {metrics['epoch_used']}" in body
            for network in metrics["architecture"]:
                assert f"{network['trainable parameters']:,}" in body
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(figures) == 12 and all((tiny_runs.out / path).is_file() for path in figures)


def test_pdf_is_valid_with_every_figure(tiny_runs):
    pdf = (tiny_runs.out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert 4 <= len(re.findall(rb"/Type\s*/Page\b", pdf)) <= 14
    assert pdf.count(b"/Subtype /Image") >= 12


def test_a_users_file_alone_gets_a_report_that_names_only_it(write_arff, tmp_path):
    path = write_arff(small_arff(rows=60), "shop.arff")
    for script in (part1_gan, part2_bbgan):
        script.main(["--dataset", str(path), "--epochs", "1", "--out", str(tmp_path), "--quiet"])
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Not run yet for diabetes and german_credit: `python part1_gan.py` adds them." in text
    for question in QUESTIONS:
        assert re.search(rf"^### {question}\. .*\n\n\*\*Answer for shop\.\*\* ", text,
                         re.MULTILINE), question
    body = text.split("## Appendix")[0]  # the appendix shows the shipped ablation
    mentions = body.replace("Not run yet for diabetes and german_credit", "")
    assert "diabetes" not in mentions and "german_credit" not in mentions
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
    part2 = text.split("## Part 2")[1].split("## Conclusions")[0]
    assert "**Answer for german_credit.**" not in part2


def test_report_text_is_the_same_for_the_same_runs(tiny_runs):
    assert report.report_markdown(tiny_runs.out) == (
        tiny_runs.out / "report.md").read_text(encoding="utf-8")


def test_markdown_table_formats_numbers_and_escapes_bars():
    table = report.markdown_table(pd.DataFrame({"|a|": [0.12345, 2.0], "b": ["x|y", "z"]}))
    assert table.splitlines() == [r"| \|a\| | b |", "| --- | --- |", r"| 0.123 | x\|y |",
                                  "| 2 | z |"]


def ablation_rows(change, setting, mae, seeds=3):
    return [("part2", change, setting, "d", seed, key, value) for seed in range(seeds)
            for key, value in (("mae", mae + 0.001 * seed), ("class_agreement", 0.97),
                               ("diversity_min_bin", 0.5), ("realism_c2st_auc", 0.9),
                               ("extraction_agreement", 0.8), ("uniform_baseline_agreement", 0.7))]


def test_ablation_names_what_moved_beyond_the_spread(tmp_path):
    rows = (ablation_rows("the design above", "default", 0.03)
            + ablation_rows("no discriminator", "ADVERSARIAL_WEIGHT=0", 0.06)
            + ablation_rows("no critic", "CRITIC_WEIGHT=0", 0.0305))
    pd.DataFrame(rows, columns=["part", "change", "setting", "dataset", "seed", "measure",
                                "value"]).to_csv(tmp_path / "ablation.csv", index=False)
    found = report.ablation(tmp_path)
    assert set(found) == {"part2"} and found["part2"]["seeds"] == 3
    lines = found["part2"]["table"].splitlines()
    assert lines[2].startswith("| default | d | 0.031 ± 0.001 |")
    assert lines[3].endswith("| worse: \\|C − Y\\| |") and lines[4].endswith("| nothing |")


def test_the_shipped_ablation_is_in_the_appendix(tiny_runs):
    appendix = (tiny_runs.out / "report.md").read_text(encoding="utf-8").split("## Appendix")[1]
    shipped = pd.read_csv(ROOT / "data" / "ablation.csv")
    assert set(shipped["part"]) == {"part1", "part2"} and not shipped.isna().any().any()
    assert set(shipped["seed"]) == {0, 1, 2}
    for script in (part1_gan, part2_bbgan):
        part = script.__name__.split("_")[0]
        assert set(shipped.loc[shipped["part"] == part, "setting"]) == {
            "default", *script.ABLATION.values()}
        for change, setting in script.ABLATION.items():
            assert f"| {setting} |" in appendix and f"`{setting}`: {change}" in appendix


@pytest.mark.parametrize("path", ["README.md", "report.md.j2", "*.py", "outputs/report.md"])
def test_no_development_history_in_what_users_read(tiny_runs, path):
    history = re.compile(r"\bissues? \d+|\b(earlier|previous|this|last) rounds?\b|"
                         r"earlier designs?|\bcommit [0-9a-f]{7}|\bused to\b", re.IGNORECASE)
    files = [tiny_runs.out / "report.md"] if path.startswith("outputs") else ROOT.glob(path)
    for file in files:
        found = history.search(file.read_text(encoding="utf-8"))
        assert not found, f"{file.name}: {found.group(0)}"
