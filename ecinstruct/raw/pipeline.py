"""The whole raw build: detect sources, run the processors, assemble rows, report QC and overlap.

Raw-directory layout (one sub-folder per source; the first layout found wins, paper sources first)::

    <raw-dir>/
      mave/{train,val,test}/…/mave_positives.jsonl (+ mave_negatives.jsonl)   AVE  (or mave/mave_positives.jsonl)
      amazon2018/meta_<Category>.json.gz                                      PRP, SR
      amazon2018/<Category>.json.gz | <Category>_5.json.gz                    SA
      amazon2018/<Category>.csv  (item,user,rating,timestamp)                 SR
      amazon_google/{Amazon.csv,GoogleProducts.csv,Amzon_GoogleProducts_perfectMapping.csv}   PM
      esci/shopping_queries_dataset_{examples,products}.parquet               MPC, PSI, QPR
      amazonqa/{train,val,test}-qar.jsonl                                     AP, AG
    real subsets (the formats of ../shared/data/raw; variants of the tasks):
      ave_implicitave/*.tsv             AVE (implicit values, titles only)
      pm_amazon_google/{train,valid,test}.txt   PM (Magellan/ditto pairs, no description)
      sa_amazon2018_fashion/*.json      SA (one 5-core category, no OOD)
      sr_amazon2018_scientific/*.{text,item2index,test.inter}   SR (RecBole files, no OOD)
      ag_home_qa_pairs/*.txt            AG (QA pairs, no review snippets)

Categories are the paper's (IND Electronics, Home_and_Kitchen, Sports_and_Outdoors; OOD
Tools_and_Home_Improvement; AmazonQA: per task, see its raw.py); change them with ``dataclasses.replace``
on a processor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ecinstruct.assemble import assemble_rows
from ecinstruct.errors import SourceError
from ecinstruct.instructions import InstructionSet, load_instructions
from ecinstruct.raw import PROCESSORS, get_processor
from ecinstruct.raw.base import Examples, RawProcessor, Sizes
from ecinstruct.raw.decontam import THRESHOLD, DecontamReport, decontamination_report
from ecinstruct.raw.langid import get_detector
from ecinstruct.raw.parallel import Workers
from ecinstruct.raw.qc import QCReport
from ecinstruct.tasks import TASKS, get_task

logger = logging.getLogger(__name__)


@dataclass
class RawBuild:
    """Examples per task and split, with the QC and decontamination reports of the build."""

    sizes: Sizes
    seed: int
    examples: dict[str, Examples] = field(default_factory=dict)
    qc: QCReport = field(default_factory=QCReport)
    decontam: DecontamReport | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def rows(self, instructions: dict[str, InstructionSet] | None = None) -> Iterator[dict]:
        """Published-format rows of every setting (instruction assignment of :mod:`ecinstruct.assemble`)."""
        instructions = instructions or load_instructions()
        for code, examples in self.examples.items():
            yield from assemble_rows(get_task(code), examples, instructions[code], self.seed)

    def card_sections(self) -> dict[str, str]:
        built = ", ".join(self.examples) or "none"
        lines = [f"Built with `ecinstruct build-raw` from the raw sources (seed {self.seed}; sizes {self.sizes}).",
                 "", f"Tasks built: {built}.", "", "| task | source | layout | license |", "|---|---|---|---|"]
        for code in self.examples:
            p, qc = PROCESSORS[code], self.qc.tasks[code]
            lines.append(f"| {code} | {p.source.name} | {qc.layout} ({qc.fidelity}) | {p.source.license} |")
        if self.skipped:
            lines += ["", "Tasks not built (source files absent):", ""]
            lines += [f"* {code}: {why}" for code, why in self.skipped.items()]
        sections = {"Raw build": "\n".join(lines), "Quality control": self.qc.markdown()}
        if self.decontam is not None:
            sections["Decontamination"] = self.decontam.markdown()
        return sections


def available_tasks(raw_dir: str | Path) -> dict[str, str]:
    """Task code → the layout found under ``raw_dir``, for every task whose source is there."""
    found = {}
    for code, processor in PROCESSORS.items():
        hit = processor.detect(raw_dir)
        if hit is not None:
            found[code] = hit[0].name
    return found


def _select(raw_dir: Path, tasks: Iterable[str] | None) -> tuple[list[RawProcessor], dict[str, str]]:
    if not raw_dir.is_dir():
        raise SourceError(f"{raw_dir}: no such directory; pass --raw-dir, the folder holding the raw sources")
    if tasks:
        wanted = [get_processor(t) for t in tasks]
        missing = [p.missing_message(raw_dir) for p in wanted if p.detect(raw_dir) is None]
        if missing:
            raise SourceError("\n".join(missing))
        return [p for t in TASKS for p in wanted if p.code == t.code], {}
    chosen, skipped = [], {}
    for code, processor in PROCESSORS.items():
        if processor.detect(raw_dir) is None:
            skipped[code] = processor.missing_message(raw_dir)
            logger.warning("skipping %s", skipped[code])
        else:
            chosen.append(processor)
    if not chosen:
        raise SourceError(f"{raw_dir}: no raw source of any task found.\n" + "\n".join(skipped.values()))
    return chosen, skipped


def build_examples(raw_dir: str | Path, tasks: Iterable[str] | None = None, sizes: Sizes | None = None,
                  seed: int = 1, *, threshold: float = THRESHOLD, num_proc: int = 1,
                  language_detector: str | None = None) -> RawBuild:
    """Run the processors of ``tasks`` (default: every task whose source is present).

    ``num_proc`` worker processes run the per-record QC steps (the output does not depend on it);
    ``language_detector`` is ``"lingua"``, ``"heuristic"`` or ``None`` (lingua when installed).
    """
    raw_dir = Path(raw_dir)
    detector = get_detector(language_detector)
    processors, skipped = _select(raw_dir, tasks)
    build = RawBuild(sizes or Sizes(), seed, skipped=skipped)
    with Workers(num_proc) as workers:
        for processor in processors:
            logger.info("building %s", processor.code)
            qc = build.qc.for_task(processor.code)
            qc.workers, qc.detector = workers, detector
            build.examples[processor.code] = processor.build(raw_dir, build.sizes, seed, qc)
    build.decontam = decontamination_report(
        ({"task": code, "split": split, "input": s["input"]}
         for code, examples in build.examples.items() for split, rows in examples.items() for s in rows),
        threshold=threshold, by_design=by_design_notes())
    return build


def by_design_notes() -> dict[str, str]:
    """Tasks whose train/test near-duplicates are part of the task's definition, with why."""
    return {code: p.near_overlap_by_design for code, p in PROCESSORS.items() if p.near_overlap_by_design}


def published_decontamination(rows: Iterable[dict], threshold: float = THRESHOLD) -> DecontamReport:
    """The decontamination report of published(-format) rows, e.g. the Hub release."""
    return decontamination_report(rows, threshold=threshold, by_design=by_design_notes())
