"""`tutorial verify`'s reports for CI: JUnit XML and JSON, as text made from the results.

JUnit: one `<testsuite>` per chapter and one `<testcase>` per step (`classname` the
chapter's slug, `name` the step's tag or name). A failure is a `<failure>` (its exit code
or timeout, with the tail of its output), a setup or checkout problem an `<error>`, a step
without tests or not run a `<skipped>`. A cached step is a passing test case with the
property `cached=true` (its `time` is that of the run that passed).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from .verify import (
    CACHED,
    ERROR,
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    TIMED_OUT,
    StepResult,
    VerifyResult,
    describe,
)

REPORT_VERSION = 1

# Characters XML 1.0 cannot hold, even escaped; test output may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def junit_xml(result: VerifyResult) -> str:
    """The results as a JUnit XML document."""
    suites = ET.Element("testsuites", name="tutorial verify")
    chapters: dict[str, list[StepResult]] = {}
    for r in result.results:
        chapters.setdefault(r.step.chapter_slug, []).append(r)
    for slug, results in chapters.items():
        first = results[0].step
        suite = ET.SubElement(suites, "testsuite", name=f"Chapter {first.chapter}: "
                              f"{first.chapter_title}")
        for r in results:
            _testcase(suite, slug, r)
        _counts(suite, results)
    _counts(suites, list(result.results))
    suites.set("time", _seconds(result.seconds))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _testcase(suite: ET.Element, slug: str, r: StepResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=slug, name=r.step.label,
                         time=_seconds(r.seconds))
    props = {"status": r.status, "cached": str(r.status == CACHED).lower()}
    if r.command is not None:
        props["command"] = r.command
    if r.tree is not None:
        props["tree"] = r.tree
    if r.log is not None:
        props["log"] = str(r.log)
    properties = ET.SubElement(case, "properties")
    for name, value in props.items():
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    if r.status in (FAILED, TIMED_OUT):
        kind = "timeout" if r.status == TIMED_OUT else "exit-code"
        failure = ET.SubElement(case, "failure", type=kind, message=_xml_text(describe(r)))
        failure.text = _xml_text(r.tail)
    elif r.status == ERROR:
        error = ET.SubElement(case, "error", type="setup", message=_xml_text(r.reason))
        error.text = _xml_text(r.tail)
    elif r.status in (SKIPPED, NOT_RUN):
        ET.SubElement(case, "skipped", message=_xml_text(r.reason or r.status))
    elif r.status == CACHED:
        out = ET.SubElement(case, "system-out")
        out.text = "cached: this tree passed this command before; not run again"


def _counts(element: ET.Element, results: list[StepResult]) -> None:
    def n(*statuses: str) -> str:
        return str(sum(r.status in statuses for r in results))

    element.set("tests", str(len(results)))
    element.set("failures", n(FAILED, TIMED_OUT))
    element.set("errors", n(ERROR))
    element.set("skipped", n(SKIPPED, NOT_RUN))
    element.set("time", _seconds(sum(r.seconds for r in results if r.status != CACHED)))


def to_json(result: VerifyResult) -> dict[str, Any]:
    """The results as a JSON-ready object."""
    return {
        "version": REPORT_VERSION,
        "repo": str(result.repo),
        "command": result.command,
        "jobs": result.jobs,
        "seconds": round(result.seconds, 3),
        "ok": result.ok,
        "counts": {"steps": len(result.results), "ran": result.ran,
                   "passed": result.count(PASSED), "failed": result.count(FAILED, TIMED_OUT),
                   "errors": result.count(ERROR), "cached": result.count(CACHED),
                   "skipped": result.count(SKIPPED), "not_run": result.count(NOT_RUN),
                   "setups": result.setups},
        "steps": [{
            "step": r.step.label, "tag": r.step.tag, "name": r.step.name,
            "chapter": r.step.chapter, "status": r.status, "cached": r.status == CACHED,
            "command": r.command, "tree": r.tree, "exit_code": r.exit_code,
            "seconds": round(r.seconds, 3), "log": str(r.log) if r.log else None,
            "reason": r.reason or None, "tail": r.tail or None,
        } for r in result.results],
    }


def json_report(result: VerifyResult) -> str:
    return json.dumps(to_json(result), indent=2) + "\n"
