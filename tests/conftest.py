"""Shared fixtures: the project root on sys.path, one tiny run of both parts, and small ARFF
files written on the fly."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
AUTHORS = "Ada Lovelace (012345678), Alan Turing (876543210)"


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Part 1 on both datasets (setting the authors), then Part 2 on both, 2 epochs each, into
    one outputs folder; the combined report as it stood after Part 1 alone is kept too."""
    import part1_gan
    import part2_bbgan

    out = tmp_path_factory.mktemp("outputs")
    part1 = part1_gan.main(["--epochs", "2", "--out", str(out), "--quiet",  # both datasets
                            "--authors", AUTHORS])
    report_after_part1 = (out / "report.md").read_text(encoding="utf-8")
    part2 = part2_bbgan.main(["--epochs", "2", "--out", str(out), "--quiet"])
    return SimpleNamespace(out=out, part1=part1, part2=part2,
                           report_after_part1=report_after_part1)


@pytest.fixture
def write_arff(tmp_path):
    """Write an ARFF text to tmp_path/NAME and return its path."""

    def write(text, name="custom.arff"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def small_arff(rows=40, classes=("no", "yes"), missing=False):
    """A well-formed ARFF with two numbers, one nominal feature and a nominal class."""
    lines = ["@relation small", "@attribute size numeric", "@attribute weight real",
             "@attribute colour {red, green, blue}",
             "@attribute class {" + ", ".join(classes) + "}", "@data"]
    for index in range(rows):
        size = "?" if missing and index == 0 else str(index % 7)
        colour = "?" if missing and index == 1 else ("red", "green", "blue")[index % 3]
        lines.append(f"{size},{index * 0.5 + 1.25},{colour},{classes[index % len(classes)]}")
    return "\n".join(lines) + "\n"
