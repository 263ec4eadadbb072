"""Questions that read as English and labels worth checking: an effect's reply asked "what does
the reply give as ...", a label that is no noun phrase asked by its name, the rows of a query
called rows, hops never by a far place in a long listing, no "the pdf path of the path given
by", no fact of the run's machine (a shell's OSTYPE) and no empty structure as a label."""

from __future__ import annotations

import json
from typing import Any

from firefly.explore.policy import ToolRef
from firefly.synth.facts import is_dull, is_machine_fact, spelled_out
from firefly.synth.model import Candidate, Exploration, Step
from firefly.synth.offline import OfflineSynthesizer, asked_name, noun_like
from firefly.synth.phrasing import generic_scope


def ref(description: str, props: dict[str, Any] | None = None, name: str = "t") -> ToolRef:
    return ToolRef("s", name, description, {"type": "object", "properties": props or {}})


def step(n: int, tool: str, args: dict[str, Any], result: Any, read_only: bool = True,
         fed: list[dict[str, Any]] | None = None) -> Step:
    return Step(n, "s", tool, args, [{"type": "text", "text": json.dumps(result)}], None, True, read_only, fed or [],
                "initial")


def questions(steps: list[Step], tools: list[ToolRef]) -> list[Candidate]:
    x = Exploration("x1", "d1", steps, tools={("s", t.name): t for t in tools})
    found, _ = OfflineSynthesizer().candidates(x)
    return found


def test_a_label_that_is_no_noun_phrase_is_asked_by_its_name():
    assert noun_like("output size in bytes") and noun_like("rows affected") and noun_like("pseudo r squared")
    assert noun_like("speed") and noun_like("number of notes checked")
    assert not noun_like("succeeded") and not noun_like("is valid") and not noun_like("?")
    assert not noun_like("applies to") and not noun_like('"what is in it" field')
    assert asked_name('"what is in it" field') == "what is in it" and asked_name("applies to") == "applies to"
    tool = ref("Check the archive box.", name="check_box")
    asked = [c.question for c in questions([step(0, "check_box", {}, {"archived": "box 14", "shelf": "B"})], [tool])
             if c.template.startswith("single")]
    assert any('the value of "archived"' in q or 'give for "archived"' in q for q in asked), asked
    assert not any("the archived" in q for q in asked), asked


def test_an_effects_reply_is_asked_what_it_gives_and_sizes_read_in_bytes():
    assert spelled_out("output size bytes") == "output size in bytes"
    assert spelled_out("total bytes") == "total bytes"  # a total is no measure of bytes
    tool = ToolRef("s", "compress_pdf", "Compress a PDF file.", {"type": "object", "properties": {
        "input_path": {"type": "string"}}}, {"readOnlyHint": False, "destructiveHint": True})
    e = step(0, "compress_pdf", {"input_path": "/w/a.pdf"}, {"output_size_bytes": 1702, "pages_kept": 4},
             read_only=False)
    asked = [c.question for c in questions([e], [tool]) if c.template.startswith("effect:")]
    assert asked, asked
    assert all("In the reply, what is the" not in q and "of the reply?" not in q for q in asked), asked
    assert any("the reply give as the output size in bytes?" in q or "What output size in bytes does the reply" in q
               for q in asked), asked


def test_the_rows_of_a_query_are_rows_whatever_the_tool_is_called():
    tool = ref("Execute SQL queries on the sqlite database", {"sql": {"type": "string"}}, name="execute_sql")
    rows = [{"day": "2024-01-05", "qty": 2}, {"day": "2024-01-17", "qty": 5}, {"day": "2024-03-03", "qty": 1}]
    asked = [c.question for c in questions([step(0, "execute_sql", {"sql": "SELECT * FROM orders"},
                                                 {"success": True, "data": {"rows": rows}})], [tool])]
    assert asked and not any("the sql " in q or " sqls" in q or "every sql" in q for q in asked), asked
    assert any(" row" in q for q in asked), asked


def test_facts_of_the_runs_machine_and_empty_structures_are_not_asked():
    assert is_machine_fact("OSTYPE") and is_machine_fact("APP_GID", "$.content[0].text#json=$.environmentVariables.APP_GID")
    assert is_machine_fact("X", "$.env.X") and not is_machine_fact("envelope", "$.envelope") and not is_machine_fact("size")
    # numbers about the server's own process: its memory, its uptime; not a text under such a key
    assert is_machine_fact("used_memory_peak", "$.used_memory_peak", "1.02M")
    assert is_machine_fact("used_memory_scripts_human", "", "200B")  # bytes written with a bare B
    assert is_machine_fact("memory_usage_mb", "$.data.memory_usage_mb", 0.0018) and is_machine_fact("uptimeInSeconds", "", 42)
    assert not is_machine_fact("memory", "$.memory", "Met Priya at the roastery") and not is_machine_fact("rows", "", 40)
    assert is_machine_fact("execution_time_ms", "", 1299) and is_machine_fact("process_id", "", 29637)
    assert not is_machine_fact("duration", "", 180) and not is_machine_fact("start_time", "", "09:00")
    assert is_machine_fact("analysis_time", "", 0.01) and is_machine_fact("processingDuration", "", 12)
    assert not is_machine_fact("cook_time", "", 30) and not is_machine_fact("lead time days", "", 14)
    # what the machine under the server is (Redis INFO): not the world's
    assert is_machine_fact("os", "", "Linux 6.1.0 x86_64") and is_machine_fact("arch_bits", "", 64)
    assert is_machine_fact("monotonic_clock", "", "POSIX clock_gettime") and is_machine_fact("executable", "", "/usr/bin/redis-server")
    assert not is_machine_fact("photos", "", 3) and not is_machine_fact("redis_mode", "", "standalone")
    assert is_dull("solutions", "set()") and is_dull("result", "EmptySet")
    assert is_dull("config", "{}") and is_dull("x", "[]") and is_dull("symbol", "?") and not is_dull("name", "alpha")
    shell = ref("Show all environment variables of the shell.", name="env")
    assert not questions([step(0, "env", {}, {"OSTYPE": "linux-gnu", "HOSTTYPE": "x86_64", "PWD": "/home/user"})],
                         [shell])
    info = ref("Show the configuration of the shell.", name="info")
    found = questions([step(0, "info", {}, {"version": "1.2.3", "limits": {"max_loops": 500},
                                            "environmentVariables": {"APP_GID": "Virtual GID of scripts",
                                                                     "APP_ROOT": "Real folder to mount"}})], [info])
    answers = [c.answer for c in found]
    assert "1.2.3" in answers and not any(isinstance(a, str) and ("GID" in a or "mount" in a) for a in answers), answers


def _hop(count: int, at: int) -> list[str]:
    lister = ref("List the files of a folder.", {"path": {"type": "string"}}, name="list_files")
    reader = ref("Read a file.", {"name": {"type": "string"}}, name="read_file")
    files = [{"name": f"f{i}.txt", "size": 10 * i + 1} for i in range(count)]
    fed = [{"argument": "/name", "step": 0, "path": f"$.content[0].text#json=$.files[{at}].name",
            "value": files[at]["name"]}]
    steps = [step(0, "list_files", {"path": "/w"}, {"files": files}),
             step(1, "read_file", {"name": files[at]["name"]}, {"title": "Spring menu", "owner": "Maya"}, fed=fed)]
    return [c.question for c in questions(steps, [lister, reader]) if c.kind == "multi-hop"]


def test_a_hop_names_an_item_by_its_place_only_near_the_top_of_a_short_listing():
    near = _hop(3, 1)
    assert near and all("second" in q for q in near), near
    assert not _hop(7, 4)  # "the fifth file listed in the folder": no one counts that far
    assert not _hop(3, 2) or all("third" in q for q in _hop(3, 2))


def test_a_value_given_by_a_call_is_named_for_the_argument_it_feeds_once():
    tool = ref("Report how locked-down a PDF is.", {"pdf_path": {"type": "string"}}, name="security")
    said = generic_scope("security", {"pdf_path": "/w/a.pdf"},
                         {"pdf_path": "the path given by the result of triaging a PDF"}, tool)
    assert said is not None and "the PDF path given by the result of triaging a PDF" in said, said
    assert "of the path given by" not in said


def test_a_header_that_asks_or_ends_in_a_preposition_is_quoted_once():
    reader = ref("Read a text file.", {"path": {"type": "string"}}, name="read_text")
    text = "| folder | What is in it | applies to |\n|---|---|---|\n| notes/ | meeting notes | all |\n" \
           "| config/ | shop settings | staff |\n| data/ | spreadsheets | nobody |\n"
    asked = [c.question for c in questions([Step(0, "s", "read_text", {"path": "/w/README.md"},
                                                 [{"type": "text", "text": text}], None, True, True, [], "initial")],
                                           [reader]) if c.template.startswith("lookup:")]
    assert asked, asked
    assert not any('""' in q or "what applies to does" in q or '" field' in q for q in asked), asked
    assert any('the value of "What is in it"' in q or 'the value of "what is in it"' in q for q in asked), asked


def test_an_item_keyed_by_a_number_is_the_item_whose_key_is_that_number():
    corners = {"count": 3, "corners": [{"x": 201.0, "y": 151.0}, {"x": 20.0, "y": 100.0}, {"x": 120.0, "y": 20.0}]}
    found = questions([step(0, "detect_corners", {"input_path": "/w/a.png"}, corners)],
                      [ref("Detect corners in an image.", {"input_path": {"type": "string"}}, name="detect_corners")])
    lookups = [c.question for c in found if c.template == "lookup:corner:y"]
    assert lookups and all(("whose x is 201?" in q or "with x 201 " in q) or "201" not in q for q in lookups), lookups
    assert not any('"201.0"' in c.question or "corner 201" in c.question for c in found)
    assert any("x values of all corners" in c.question for c in found)  # never "the xes"
