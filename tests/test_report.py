"""The combined report, OUT/report.md and OUT/report.pdf, from the tiny run of both parts."""

import json
import re
import shutil

import pytest

import common

QUESTIONS = ["3a", "3b", "3c", "4a", "4b", "4c", "4d"]
DATASETS = ["diabetes", "german_credit"]


def test_report_holds_every_question_dataset_number_and_figure(tiny_runs):
    report = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    for question in QUESTIONS:
        assert re.search(rf"^### {question}\. ", report, re.MULTILINE), question
    for part in ("part1", "part2"):
        for name in DATASETS:
            assert f"#### {name}" in report
            metrics = json.loads((tiny_runs.out / name / part / "metrics.json").read_text())
            key, digits = ("c2st_auc", 3) if part == "part1" else ("mae", 4)
            assert f"{metrics[key]:.{digits}f}" in report
            for figure in (tiny_runs.out / name / part).glob("*.png"):
                assert f"]({name}/{part}/{figure.name})" in report
    named = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(named) == 12 and all((tiny_runs.out / path).is_file() for path in named)
    assert "Not run yet" not in report
    for part in ("part1", "part2"):
        assert common.readme_block("method", part) in report
    assert "### What each part of the method buys" in report
    for part in ("part1", "part2"):
        assert common.readme_block("ablation", part) in report


def test_pdf_is_valid_with_a_page_per_part_at_least(tiny_runs):
    pdf = (tiny_runs.out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert 2 <= pages <= 20  # both parts, with their ablation tables
    assert pdf.count(b"/Subtype /Image") >= 12


def test_report_after_one_part_says_what_is_missing(tiny_runs):
    report = tiny_runs.report_after_part1
    assert "### 3a. " in report and "### 4a. " not in report
    assert ("Not run yet for diabetes, german_credit: `python part2_bbgan.py` adds them."
            in report)


def test_report_names_the_command_for_the_one_run_missing(tiny_runs, tmp_path):
    shutil.copytree(tiny_runs.out, tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "german_credit" / "part2")
    report = common.combined_report(tmp_path / "out")
    assert ("Not run yet for german_credit: `python part2_bbgan.py --dataset german_credit` "
            "adds it.") in report
    assert "#### diabetes" in report.split("## Part 2")[1]


def test_report_text_is_the_same_for_the_same_runs(tiny_runs, tmp_path):
    assert common.combined_report(tiny_runs.out) == (tiny_runs.out / "report.md").read_text(
        encoding="utf-8")


def test_markdown_table_formats_numbers_and_escapes_bars():
    import pandas as pd
    table = common.markdown_table(pd.DataFrame({"|a|": [0.12345, 2.0], "b": ["x|y", "z"]}))
    assert table.splitlines() == [r"| \|a\| | b |", "| --- | --- |", r"| 0.123 | x\|y |",
                                  "| 2 | z |"]


@pytest.mark.parametrize("part", ["part1", "part2"])
def test_method_comes_from_the_readme(part):
    method = common.readme_block("method", part)
    assert "<!--" not in method and len(method) > 200
    assert common.readme_block("method", "part3") is None
