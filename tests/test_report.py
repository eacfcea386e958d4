"""The report, OUT/report.md and OUT/report.pdf, from the tiny run of both parts."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd

import report
from conftest import AUTHORS

QUESTIONS = ["3a", "3b", "3c", "4a", "4b", "4c", "4d"]
DATASETS = ["diabetes", "german_credit"]
ROOT = Path(__file__).resolve().parents[1]


def test_report_is_an_assignment_report(tiny_runs):
    text = (tiny_runs.out / "report.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {report.TITLE}\n") and f"**Authors:** {AUTHORS}" in text
    for question in QUESTIONS:  # each question opens with its direct answer
        assert re.search(rf"^### {question}\. .*\n\n\*\*Answer\.\*\* ", text, re.MULTILINE)
    for heading in ("### Method", "### Architecture and hyper-parameters", "## Conclusions",
                    "## Appendix", "### Measures", "### Wide tables"):
        assert heading in text
    assert text.count("### Method") == 2 and "Not run yet" not in text
    body, appendix = text.split("## Appendix")
    assert "| discriminator score |" in appendix  # german_credit's 20 attributes are wide
    for part, key, digits in (("part1", "c2st_auc", 3), ("part2", "mae", 4)):
        for name in DATASETS:
            metrics = json.loads((tiny_runs.out / name / part / "metrics.json").read_text())
            assert f"{metrics[key]:.{digits}f} on {name}" in body
            for network in metrics["architecture"]:
                assert f"{network['trainable parameters']:,}" in body
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(figures) == 12 and all((tiny_runs.out / path).is_file() for path in figures)
    assert {path.split("/", 1)[0] for path in figures} == set(DATASETS)


def test_pdf_is_valid_and_within_the_page_budget(tiny_runs):
    pdf = (tiny_runs.out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert 4 <= len(re.findall(rb"/Type\s*/Page\b", pdf)) <= 14
    assert pdf.count(b"/Subtype /Image") >= 12


def test_authors_are_kept_by_later_runs_and_asked_for_until_set(tiny_runs, tmp_path):
    assert f"**Authors:** {AUTHORS}" in tiny_runs.report_after_part1  # set by Part 1's run
    shutil.copytree(tiny_runs.out, tmp_path / "out")
    (tmp_path / "out" / "authors.txt").unlink()
    assert "run either script once with `--authors" in report.report_markdown(
        tmp_path / "out", DATASETS)


def test_report_after_one_part_says_what_is_missing(tiny_runs):
    text = tiny_runs.report_after_part1
    assert "### 3a. " in text and "### 4a. " not in text
    assert ("Not run yet for diabetes, german_credit: `python part2_bbgan.py` adds them."
            in text)


def test_report_names_the_command_for_the_one_run_missing(tiny_runs, tmp_path):
    shutil.copytree(tiny_runs.out, tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "german_credit" / "part2")
    text = report.report_markdown(tmp_path / "out", DATASETS)
    assert ("Not run yet for german_credit: `python part2_bbgan.py --dataset german_credit` "
            "adds it.") in text
    part2 = text.split("## Part 2")[1].split("## Conclusions")[0]
    assert "german_credit" not in part2.replace("--dataset german_credit", "").replace(
        "Not run yet for german_credit", "")


def test_report_text_is_the_same_for_the_same_runs(tiny_runs):
    assert report.report_markdown(tiny_runs.out, DATASETS) == (
        tiny_runs.out / "report.md").read_text(encoding="utf-8")


def test_markdown_table_formats_numbers_and_escapes_bars():
    table = report.markdown_table(pd.DataFrame({"|a|": [0.12345, 2.0], "b": ["x|y", "z"]}))
    assert table.splitlines() == [r"| \|a\| | b |", "| --- | --- |", r"| 0.123 | x\|y |",
                                  "| 2 | z |"]


def test_ablation_names_what_moved_beyond_the_spread():
    rows = pd.DataFrame(
        [("part2", "default", "the design", "d", "mae", "lower", 0.010, 0.001),
         ("part2", "A = 0", "no critic", "d", "mae", "lower", 0.020, 0.002),
         ("part2", "B = 0", "no penalty", "d", "mae", "lower", 0.011, 0.002)],
        columns=["part", "setting", "change", "dataset", "measure", "better", "mean", "sd"])
    first, second = report.ablation_verdicts(rows)
    assert first == "- *A = 0* (no critic) — worse beyond the spread: mae on d 0.0100 → 0.0200."
    assert second == "- *B = 0* (no penalty) — no measure worse beyond the spread."


def test_the_shipped_ablation_is_in_the_appendix_with_a_verdict_per_change(tiny_runs):
    appendix = (tiny_runs.out / "report.md").read_text(encoding="utf-8").split("## Appendix")[1]
    shipped = pd.read_csv(report.ABLATION)
    assert set(shipped["part"]) == {"part1", "part2"} and not shipped.isna().any().any()
    for part, rows in shipped.groupby("part"):
        settings = list(dict.fromkeys(rows["setting"]))
        assert f"| {settings[0]} |" in appendix  # the first row is the default design
        for setting in settings[1:]:
            assert f"- *{setting}* (" in appendix


def test_no_development_history_in_what_users_read(tiny_runs):
    history = re.compile(r"\bissues? \d+|\b(earlier|previous|this|last) rounds?\b|"
                         r"earlier designs?|\bcommit [0-9a-f]{7}", re.IGNORECASE)
    texts = [(tiny_runs.out / "report.md").read_text(encoding="utf-8"),
             *(path.read_text(encoding="utf-8") for path in [ROOT / "README.md",
                                                              *ROOT.glob("*.py")])]
    for text in texts:
        assert not history.search(text), history.search(text).group(0)
