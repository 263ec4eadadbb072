"""The tool graph: an edge A -> B when A's output can feed B's input, or A then B is one
coherent workflow.

All-pairs judging does not scale (6,000 tools are 18 million ordered pairs), so the stage
works in three steps, each recorded in the log:

1. **Embed** every tool in scope (:mod:`firefly.embed`) and open the vector index
   (:mod:`firefly.vectors`).
2. **Candidates** (``edge-candidates``): each tool's ``k`` nearest tools by vector, plus its
   ``per_server`` nearest tools of the same server (tools of one server tend to share a
   workflow even when their texts differ), plus schema matches (an output property named
   like a required input of another tool). Pairs are unordered.
3. **Judge** (``edge-judged``): a judge decides which directions of a candidate pair are
   edges. The default :class:`RulesJudge` is a deterministic scorer over signals of the pair
   (the roles the tools' verbs imply, whether what B needs is what A talks about, shared
   parameters, same server, similarity). :class:`LLMJudge` asks an OpenAI-compatible model,
   in batches; a reply it cannot use is a ``judge-failed`` event and those pairs stay
   unjudged. A pair is judged once per judge and schema version: a re-run judges nothing twice.

Scope: by default only callable tools (catalog tools cannot be explored); with
``include_catalog`` every live tool.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import networkx as nx
import numpy as np

from .embed import Embedder, EmbedReport, HashedEmbedder, Param, embed_tools, schema_params, words
from .events import EdgeCandidates, EdgeJudged, JudgeFailed, Neighbour
from .llm import LLM
from .store import Store
from .vectors import ToolIndex

GENERATOR = "knn-server-schema-v1"
Progress = Callable[[str, int, int], None]
ToolKey = tuple[str, str]  # (server, name)

# -- tools as the judges see them ----------------------------------------------------------

VERBS: dict[str, str] = {}
for _role, _verbs in {
    "discover": "list search find browse lookup log status tree scan explore discover ls enumerate filter recent history top trending query",
    "read": "get read show describe open fetch view retrieve info download diff export check inspect count calculate compute"
    " convert analyze analyse summarize summarise extract evaluate validate parse preview load translate detect resolve"
    " estimate compare verify test render format",
    "create": "create add new insert write upload post make generate register init initialize put save append send publish"
    " schedule start run execute launch build deploy clone fork invite book submit record import",
    "update": "update edit modify set move rename patch replace checkout merge commit push pull sync apply assign change enable"
    " disable approve close complete mark tag stop transfer switch",
    "delete": "delete remove drop clear destroy unregister purge erase revoke uninstall archive reset cancel kill unstage",
}.items():
    for _verb in _verbs.split():
        VERBS[_verb] = _role

# verb pairs that are one step of a well-known workflow: A's verb, then B's (stage then commit)
FOLLOWS = frozenset({("add", "commit"), ("stage", "commit"), ("commit", "push"), ("fetch", "merge"), ("pull", "merge"),
                     ("build", "deploy"), ("upload", "publish")})

# words that name a thing as often as an action (a commit, a log, a query): they count as
# objects when they appear in a tool's name or description
NOUNS_TOO = frozenset(
    "log status tree history query commit record tag post book build archive schedule test format check diff info"
    " count export import filter view top trending recent message".split()
)
ACTIONS = frozenset(VERBS) - NOUNS_TOO

# output property names that wrap any result (MCP structured content): they say nothing about
# what the output is, so a match on them is no evidence of data flow
GENERIC_OUTPUTS = frozenset({"content", "result", "results", "text", "data", "message", "output", "response", "value", "success"})

# How plausible "a tool of role X, then a tool of role Y" is as a workflow step.
TRANSITION: dict[str, dict[str, float]] = {
    "discover": {"discover": 0.3, "read": 0.9, "create": 0.5, "update": 0.8, "delete": 0.8},
    "read": {"discover": 0.3, "read": 0.4, "create": 0.6, "update": 0.7, "delete": 0.4},
    "create": {"discover": 0.8, "read": 0.8, "create": 0.6, "update": 0.7, "delete": 0.5},
    "update": {"discover": 0.7, "read": 0.8, "create": 0.3, "update": 0.6, "delete": 0.3},
    "delete": {"discover": 0.6, "read": 0.3, "create": 0.3, "update": 0.2, "delete": 0.1},
}


@dataclass(frozen=True)
class Tool:
    """A tool with the features the judges use."""

    server: str
    name: str
    schema_hash: str
    description: str
    callable: bool
    params: tuple[Param, ...]
    outputs: tuple[Param, ...]
    role: str
    verb: str | None  # the first verb of its name (its role comes from it when there is one)
    objects: frozenset[str]  # what the tool is about: its name's words, less verbs and server
    produces: frozenset[str]  # words of what it says it does and returns
    needs: frozenset[str]  # words of its required inputs (names) and objects
    needs_context: frozenset[str]  # words of its description and required inputs' descriptions
    required: frozenset[str]  # required top-level parameter names, normalised
    output_names: frozenset[str]  # output property names, normalised, generic wrappers left out
    things: frozenset[str]  # the kinds of things it handles: its objects and output names' words


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def make_tool(server: str, name: str, schema_hash: str, description: str | None, input_schema: Any,
              output_schema: Any, annotations: Any, callable_: bool = True) -> Tool:
    description = (description or "")[:1500]
    params = tuple(schema_params(input_schema))
    outputs = tuple(schema_params(output_schema, depth=2))
    server_words = set(words(server.rsplit("/", 1)[-1]))
    name_words = [w for w in words(name) if w not in server_words] or words(name)
    desc_words = words(description)
    verb = next((w for w in name_words if w in VERBS), None)
    role = VERBS[verb] if verb else None
    if role is None:
        role = next((VERBS[w] for w in desc_words[:3] if w in VERBS), None)
    if role is None:
        hints = annotations if isinstance(annotations, dict) else {}
        role = "read" if hints.get("readOnlyHint") else "update" if hints.get("destructiveHint") else "read"
    objects = frozenset(w for w in name_words if w not in ACTIONS)
    top = [p for p in params if "." not in p.path]
    required = [p for p in top if p.required]
    output_words = {w for p in outputs for w in words(p.name)}
    return Tool(
        server=server,
        name=name,
        schema_hash=schema_hash,
        description=description,
        callable=callable_,
        params=params,
        outputs=outputs,
        role=role,
        verb=verb,
        objects=objects,
        produces=frozenset((objects | set(desc_words) | output_words) - ACTIONS),
        needs=frozenset({w for p in required for w in words(p.name)} | objects),
        needs_context=frozenset((set(desc_words) | {w for p in required for w in words(p.description)}) - ACTIONS),
        required=frozenset(_norm(p.name) for p in required),
        output_names=frozenset(_norm(p.name) for p in outputs) - GENERIC_OUTPUTS,
        things=frozenset(objects | {w for p in outputs if _norm(p.name) not in GENERIC_OUTPUTS for w in words(p.name)}),
    )


_json = msgspec.json.Decoder()


def load_tools(store: Store, *, include_catalog: bool = False) -> dict[ToolKey, Tool]:
    """Live tools in scope with their judge features."""
    store.catch_up()
    rows = store.conn.execute(
        "SELECT server, name, schema_hash, description, input_schema, output_schema, annotations, callable FROM tools"
        " WHERE removed = 0" + ("" if include_catalog else " AND callable = 1") + " ORDER BY server, name"
    )
    return {
        (server, name): make_tool(server, name, h, d, _json.decode(i), _json.decode(o) if o else None, _json.decode(a), bool(c))
        for server, name, h, d, i, o, a, c in rows
    }


# -- candidates --------------------------------------------------------------------------------


@dataclass
class CandidateReport:
    tools: int = 0
    pairs: int = 0  # unordered candidate pairs in scope after this step
    events: int = 0  # edge-candidates events written (tools whose candidates changed)


def find_candidates(
    store: Store,
    index: ToolIndex,
    *,
    include_catalog: bool = False,
    k: int = 10,
    per_server: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> CandidateReport:
    """Record each in-scope tool's candidate partners (vector neighbours, nearest tools of its
    server, schema matches). A tool whose candidates did not change writes nothing."""
    scope = [e for e in index.entries if include_catalog or e.callable]
    allowed = {e.key for e in scope}
    report = CandidateReport(tools=len(scope))
    found: dict[int, dict[int, tuple[float, set[str]]]] = defaultdict(dict)

    def propose(a: int, b: int, sim: float, via: str) -> None:
        for x, y in ((a, b), (b, a)):  # symmetric: each tool's event lists the pair
            best, vias = found[x].get(y, (sim, set()))
            found[x][y] = (max(best, sim), vias | {via})

    keys = [e.key for e in scope]
    for start in range(0, len(keys), 2048):
        chunk = keys[start : start + 2048]
        for key, near in index.neighbours(chunk, k, allowed=allowed).items():
            for other, sim in near:
                propose(key, other, sim, "vector")
        if progress:
            progress(min(start + 2048, len(keys)), len(keys) * 2)
    by_server: dict[str, list[int]] = defaultdict(list)
    for e in scope:
        by_server[e.server].append(e.key)
    for members in by_server.values():
        if len(members) < 2:
            continue
        rows = [index.row_of[m] for m in members]
        sims = index.vectors[rows] @ index.vectors[rows].T
        np.fill_diagonal(sims, -np.inf)
        take = min(per_server, len(members) - 1)
        for i, member in enumerate(members):
            for j in np.argsort(-sims[i], kind="stable")[:take]:
                propose(member, members[j], round(float(sims[i][j]), 4), "server")
    for a, b in schema_matches(store, scope):
        propose(a, b, round(float(index.vectors[index.row_of[a]] @ index.vectors[index.row_of[b]]), 4), "schema")
    if progress:
        progress(len(keys) * 2, len(keys) * 2)

    entry = {e.key: e for e in scope}
    events = []
    for key in keys:
        tool = entry[key]
        near = sorted(found.get(key, {}).items(), key=lambda kv: (-kv[1][0], entry[kv[0]].server, entry[kv[0]].name))
        events.append(
            EdgeCandidates(
                server=tool.server,
                name=tool.name,
                schema_hash=tool.schema_hash,
                model=index.model,
                generator=GENERATOR,
                params={"k": k, "per_server": per_server},
                neighbours=[Neighbour(server=entry[o].server, name=entry[o].name, similarity=sim, via=sorted(v)) for o, (sim, v) in near],
            )
        )
    head = store.head()
    for start in range(0, len(events), 2000):
        with store.transaction():
            store.append_many(events[start : start + 2000])
    report.events = store.head() - head
    store.catch_up()
    report.pairs = len(pending_pairs(store, None, include_catalog=include_catalog, all_pairs=True))
    return report


SCHEMA_FANOUT = 50  # a property name output (or required) by more tools than this says nothing


def schema_matches(store: Store, scope: Sequence[Any]) -> list[tuple[int, int]]:
    """Pairs (a, b) of index keys where a's output schema has a property named like one of
    b's required inputs (normalised, generic wrappers and very common names left out)."""
    keys = {(e.server, e.name): e.key for e in scope}
    producers: dict[str, list[int]] = defaultdict(list)
    for server, name, output in store.conn.execute("SELECT server, name, output_schema FROM tools WHERE output_schema IS NOT NULL AND removed = 0"):
        if (server, name) in keys:
            for out in {_norm(p.name) for p in schema_params(_json.decode(output), depth=2)} - GENERIC_OUTPUTS:
                producers[out].append(keys[(server, name)])
    if not producers:
        return []
    consumers: dict[str, list[int]] = defaultdict(list)
    for server, name, schema in store.conn.execute("SELECT server, name, input_schema FROM tools WHERE removed = 0"):
        if (server, name) in keys:
            for p in schema_params(_json.decode(schema), depth=0):
                if p.required and _norm(p.name) in producers:
                    consumers[_norm(p.name)].append(keys[(server, name)])
    return sorted(
        (a, b)
        for field_name, takers in consumers.items()
        if len(takers) <= SCHEMA_FANOUT and len(producers[field_name]) <= SCHEMA_FANOUT
        for a in producers[field_name]
        for b in takers
        if a != b
    )


# -- judging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A candidate pair in canonical order ((server, name) of ``a`` sorts first)."""

    a: Tool
    b: Tool
    similarity: float
    via: tuple[str, ...]

    @property
    def ids(self) -> list[str]:
        return [self.a.server, self.a.name, self.b.server, self.b.name]


@dataclass(frozen=True)
class Verdict:
    direction: str  # a->b, b->a, both, none
    score_ab: float
    score_ba: float
    reason: str


def pending_pairs(store: Store, judge: str | None, *, include_catalog: bool = False, all_pairs: bool = False) -> list[tuple[Any, ...]]:
    """Candidate pairs in scope without a verdict from ``judge`` for the tools' current
    schemas (``all_pairs``: every candidate pair in scope), in canonical order."""
    scope = "" if include_catalog else " AND ta.callable = 1 AND tb.callable = 1"
    unjudged = "" if all_pairs else (
        " AND NOT EXISTS (SELECT 1 FROM edge_verdicts v WHERE v.a_server = c.a_server AND v.a_name = c.a_name"
        " AND v.b_server = c.b_server AND v.b_name = c.b_name AND v.judge = ? AND v.a_hash = ta.schema_hash"
        " AND v.b_hash = tb.schema_hash)"
    )
    return store.conn.execute(
        "SELECT c.a_server, c.a_name, c.b_server, c.b_name, c.similarity, c.via FROM edge_candidates c"
        " JOIN tools ta ON ta.server = c.a_server AND ta.name = c.a_name AND ta.removed = 0"
        " JOIN tools tb ON tb.server = c.b_server AND tb.name = c.b_name AND tb.removed = 0"
        f" WHERE 1 = 1{scope}{unjudged} ORDER BY c.a_server, c.a_name, c.b_server, c.b_name",
        () if all_pairs else (judge,),
    ).fetchall()


def feeds(a: Tool, b: Tool) -> list[tuple[str, str]]:
    """(output, input) pairs where an output of ``a`` names the end of a required input of
    ``b`` that qualifies it (``timezone`` -> ``source_timezone``); short names (``name``,
    ``path``, ``id``) say too little and are left out."""
    return sorted((o, r) for o in a.output_names if len(o) >= 6 for r in b.required if r != o and r.endswith(o))


DUPLICATE = 0.95  # similarity above which two tools of different servers are copies of one tool


class RulesJudge:
    """The deterministic default: scores each direction of a pair from its signals and
    accepts a direction scoring at least ``threshold``."""

    name = "rules-v2"
    batch_size = 5000

    def __init__(self, threshold: float = 0.6):
        self.threshold = threshold

    def score(self, a: Tool, b: Tool, similarity: float) -> tuple[float, list[str]]:
        """How much A -> B looks like a workflow edge, in [0, 1], with the reasons."""
        reasons = []
        if (a.verb, b.verb) in FOLLOWS:
            transition = 1.0
            reasons.append(f"{a.verb} then {b.verb}")
        else:
            transition = TRANSITION[a.role][b.role]
            reasons.append(f"{a.role}->{b.role}")
        fed = feeds(a, b)
        if a.output_names & b.required:
            flow = 1.0
            reasons.append(f"{a.name} outputs {', '.join(sorted(a.output_names & b.required))}")
        elif fed:
            flow = 0.9  # a qualified input: timezone -> source_timezone
            reasons.append(f"{a.name} outputs {', '.join(f'{o} (for {r})' for o, r in fed[:3])}")
        else:
            core = b.needs & a.produces  # what B needs, A is about
            context = b.needs_context & a.produces  # what B's description talks about, A is about
            things = a.things & b.things  # both deal with the same kind of thing
            flow = 0.5 * (len(core) / len(b.needs) if b.needs else 0.0) + 0.3 * min(1.0, len(context) / 2) + 0.2 * bool(things)
            if core or context:
                reasons.append(f"{b.name} needs {', '.join(sorted(core or context)[:4])}, which {a.name} is about")
        same_server = a.server == b.server
        shared = a.required & b.required if same_server else frozenset()
        entry = same_server and a.role == "discover" and not a.required  # lists what the server has
        if shared:
            reasons.append(f"shared {', '.join(sorted(shared)[:3])}")
        elif entry:
            reasons.append(f"{a.name} needs no input: a first step on {a.server}")
        if same_server:
            reasons.append("same server")
        sim = min(1.0, max(0.0, (similarity - 0.1) / 0.5))
        total = 0.35 * transition + 0.3 * flow + 0.15 * same_server + 0.1 * bool(shared or entry) + 0.1 * sim
        return round(total, 4), reasons

    def verdict(self, pair: Pair) -> Verdict:
        if pair.a.server != pair.b.server and (_norm(pair.a.name) == _norm(pair.b.name) or pair.similarity >= DUPLICATE):
            return Verdict("none", 0.0, 0.0, f"{pair.a.name} and {pair.b.name}: the same tool on two servers (similarity {pair.similarity:.2f})")
        forward, why_f = self.score(pair.a, pair.b, pair.similarity)
        backward, why_b = self.score(pair.b, pair.a, pair.similarity)
        ok_f, ok_b = forward >= self.threshold, backward >= self.threshold
        direction = "both" if ok_f and ok_b else "a->b" if ok_f else "b->a" if ok_b else "none"
        ab = f"{pair.a.name} -> {pair.b.name} {forward:.2f}: " + "; ".join(why_f)
        ba = f"{pair.b.name} -> {pair.a.name} {backward:.2f}: " + "; ".join(why_b)
        first, second = (ba, ab) if direction == "b->a" or (direction == "none" and backward > forward) else (ab, ba)
        return Verdict(direction, forward, backward, f"{first} | {second} | similarity {pair.similarity:.2f}")

    def judge_batch(self, store: Store, pairs: Sequence[Pair]) -> tuple[list[tuple[Pair, Verdict, str | None]], list[JudgeFailed]]:
        return [(p, self.verdict(p), None) for p in pairs], []


class _LlmVerdict(msgspec.Struct):
    id: int
    direction: str
    reason: str = ""
    confidence: float | None = None


class _LlmVerdicts(msgspec.Struct):
    verdicts: list[_LlmVerdict]


_verdicts_decoder = msgspec.json.Decoder(_LlmVerdicts)
_DIRECTIONS = {"a->b": "a->b", "b->a": "b->a", "both": "both", "none": "none", "a→b": "a->b", "b→a": "b->a"}

JUDGE_PROMPT = """You build a graph of tools for generating realistic multi-step tasks.
For each numbered pair of tools A and B, decide which workflow edges exist:
an edge A -> B exists when A's output can feed B's input, or when calling A and then B is one
coherent task a user would want (for example: list files, then read one of them).
Answer "a->b", "b->a", "both" or "none".

Reply with only a JSON object, no prose:
{"verdicts": [{"id": 1, "direction": "a->b", "reason": "one short sentence"}, ...]}
with exactly one verdict per pair."""


def describe_tool(tool: Tool, limit: int = 300) -> str:
    params = [p for p in tool.params if "." not in p.path][:10]
    inputs = ", ".join(f"{p.name}{' (required)' if p.required else ''}" + (f": {p.description[:80]}" if p.description else "") for p in params)
    text = f"{tool.server}/{tool.name}: {tool.description[:limit] or '(no description)'}"
    text += f"\n   inputs: {inputs or 'none'}"
    if tool.outputs:
        text += f"\n   outputs: {', '.join(p.name for p in tool.outputs[:10])}"
    return text


#: the reply budget per pair of a judge request: a verdict is about 30 tokens; without a
#: bound a weak model rambles until the context is full (minutes on a CPU server)
REPLY_TOKENS_PER_PAIR = 60


class LLMJudge:
    """Asks an OpenAI-compatible model about the pairs the rules cannot decide, ``batch_size``
    pairs per request and up to ``concurrency`` requests at once. A pair the rules score far
    from their threshold in both directions (``margin``) is decided by them and recorded as
    this judge's verdict with the rules' reasons (no request). A reply that is not the JSON
    asked for is a ``judge-failed`` event; with ``retries`` the batch is asked again (a new
    attempt). Every exchange is recorded and reused on re-runs."""

    batch_size = 20

    def __init__(self, llm: LLM, *, batch_size: int = 20, retries: int = 1, max_failures: int = 3,
                 concurrency: int = 1, rules: RulesJudge | None = None, margin: float | None = 0.15):
        llm.config.require("the LLM judge")
        self.llm = llm
        self.batch_size = batch_size
        self.retries = retries
        self.max_failures = max_failures  # consecutive endpoint failures before giving up
        self.concurrency = max(1, concurrency)
        self.rules = rules or RulesJudge()
        self.margin = margin
        self.name = f"llm:{llm.config.model}"
        self.failures_in_a_row = 0

    def messages(self, pairs: Sequence[Pair]) -> list[dict[str, str]]:
        body = "\n\n".join(f"Pair {i}\nA: {describe_tool(p.a)}\nB: {describe_tool(p.b)}" for i, p in enumerate(pairs, 1))
        return [{"role": "system", "content": JUDGE_PROMPT}, {"role": "user", "content": body}]

    def decided_by_rules(self, pair: Pair) -> Verdict | None:
        """The rules' verdict when it is clear (each direction at least ``margin`` away from
        their threshold), else None: the model is asked. ``margin`` None: the model is asked
        about every pair."""
        if self.margin is None:
            return None
        verdict = self.rules.verdict(pair)
        threshold = self.rules.threshold
        if all(abs(score - threshold) >= self.margin for score in (verdict.score_ab, verdict.score_ba)):
            return Verdict(verdict.direction, verdict.score_ab, verdict.score_ba, f"decided by {self.rules.name}: {verdict.reason}")
        return None

    def judge_batch(self, store: Store, pairs: Sequence[Pair]) -> tuple[list[tuple[Pair, Verdict, str | None]], list[JudgeFailed]]:
        out: list[tuple[list[tuple[Pair, Verdict, str | None]], list[JudgeFailed]]] = []
        self.judge_all(store, pairs, lambda judged, failures, count: out.append((judged, failures)))
        return [j for judged, _ in out for j in judged], [f for _, failures in out for f in failures]

    def judge_all(self, store: Store, pairs: Sequence[Pair],
                  commit: Callable[[list[tuple[Pair, Verdict, str | None]], list[JudgeFailed], int], None]) -> None:
        """Judge ``pairs``: the clear ones by the rules (one commit), the rest by the model,
        ``commit(judged, failures, pairs_done)`` after each request. Raises
        :class:`JudgeUnavailable` when the endpoint failed ``max_failures`` times in a row."""
        decided, asked = [], []
        for pair in pairs:
            verdict = self.decided_by_rules(pair)
            if verdict is None:
                asked.append(pair)
            else:
                decided.append((pair, verdict, None))
        if decided:
            commit(decided, [], len(decided))
        # each batch with the turns that follow the question: after an unusable reply, that reply
        # and what was wrong with it (asked again as it was, a model at temperature 0 says the same)
        batches: list[tuple[list[Pair], list[dict[str, str]]]] = [
            (list(asked[i : i + self.batch_size]), []) for i in range(0, len(asked), self.batch_size)]
        for attempt in range(self.retries + 1):
            if not batches:
                return
            again: list[tuple[list[Pair], list[dict[str, str]]]] = []
            stopped = False

            def arrived(index: int, result: Any, batches: list[tuple[list[Pair], list[dict[str, str]]]] = batches,
                        attempt: int = attempt) -> bool:
                nonlocal stopped
                batch, turns = batches[index]
                judged, failures, retry = self._read(result, batch, attempt)
                if retry:
                    again.append((batch, turns + self.correction(result, failures, len(batch))))
                final_failure = attempt == self.retries or not retry
                commit(judged, failures, len(batch) if final_failure else len(judged))
                if self.failures_in_a_row >= self.max_failures:
                    stopped = True
                    return False
                return True

            self.llm.chat_many(store, "judge-edges", [(self.messages(b) + turns, attempt) for b, turns in batches],
                               concurrency=self.concurrency, on_result=arrived, temperature=0,
                               max_tokens=REPLY_TOKENS_PER_PAIR * self.batch_size + 64)
            if stopped:
                raise JudgeUnavailable(f"{self.name}: the endpoint failed {self.failures_in_a_row} times in a row; stopped judging")
            batches = again

    @staticmethod
    def correction(result: Any, failures: list[JudgeFailed], n: int) -> list[dict[str, str]]:
        """The unusable reply, then what was wrong with it: the next attempt's last two turns."""
        said = (result.reply.content if result.reply else None) or "(an empty reply)"
        problem = failures[0].message if failures else "it gave no verdict"
        return [{"role": "assistant", "content": said},
                {"role": "user", "content": f"That reply could not be used: {problem}. Answer again with only the JSON"
                                            f" object asked for, one verdict for each pair, ids 1 to {n}."}]

    def _read(self, result: Any, pairs: list[Pair], attempt: int) -> tuple[list[tuple[Pair, Verdict, str | None]], list[JudgeFailed], bool]:
        """One reply's verdicts, the judge-failed event (if any) and whether to ask again."""
        if not result.ok:
            self.failures_in_a_row += 1
            return [], [], False  # the llm-failed event is the error; the pairs stay unjudged
        self.failures_in_a_row = 0
        verdicts, problem = parse_verdicts(result.reply.content if result.reply else None, len(pairs))
        judged = [(pairs[i - 1], v, result.request_hash) for i, v in sorted(verdicts.items())]
        missing = [p for i, p in enumerate(pairs, 1) if i not in verdicts]
        if not missing:
            return judged, [], False
        failure = JudgeFailed(
            judge=self.name,
            request_hash=result.request_hash,
            attempt=attempt,
            pairs=[p.ids for p in missing],
            message=problem or f"the reply gave no verdict for {len(missing)} of {len(pairs)} pairs",
        )
        # a partial answer is kept and the rest stays unjudged; nothing usable: ask again
        return judged, [failure], not judged and attempt < self.retries


class JudgeUnavailable(Exception):
    """The judge's endpoint keeps failing: stop asking it in this run."""


def parse_verdicts(content: str | None, count: int) -> tuple[dict[int, Verdict], str | None]:
    """Verdicts by pair number from an LLM reply, and what was wrong with it (if anything)."""
    if not content or not content.strip():
        return {}, "the reply is empty"
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return {}, f"the reply is not JSON: {content[:120]!r}"
    try:
        parsed = _verdicts_decoder.decode(text[start : end + 1])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return {}, f"the reply is not the verdicts object asked for: {exc}"
    out: dict[int, Verdict] = {}
    bad = 0
    for v in parsed.verdicts:
        direction = _DIRECTIONS.get(v.direction.strip().lower().replace(" ", ""))
        if direction is None or not 1 <= v.id <= count or v.id in out:
            bad += 1
            continue
        confidence = v.confidence if v.confidence is not None and 0 <= v.confidence <= 1 else 1.0
        ab = confidence if direction in ("a->b", "both") else 0.0
        ba = confidence if direction in ("b->a", "both") else 0.0
        out[v.id] = Verdict(direction, round(ab, 4), round(ba, 4), v.reason.strip()[:500])
    problem = f"{bad} verdict(s) with an unknown id or direction" if bad else None
    return out, problem


@dataclass
class JudgeReport:
    judge: str = ""
    pending: int = 0
    judged: int = 0
    accepted: int = 0  # pairs with at least one accepted direction
    failed: int = 0  # pairs left unjudged
    stopped: str | None = None  # why judging stopped early


def pending_pair_list(store: Store, judge: str, *, include_catalog: bool = False) -> list[Pair]:
    """The candidate pairs ``judge`` has not judged for the tools' current schemas."""
    tools = load_tools(store, include_catalog=include_catalog)
    rows = pending_pairs(store, judge, include_catalog=include_catalog)
    return [Pair(tools[(r[0], r[1])], tools[(r[2], r[3])], r[4], tuple(_json.decode(r[5]))) for r in rows]


def judge_candidates(
    store: Store,
    judge: RulesJudge | LLMJudge,
    *,
    include_catalog: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> JudgeReport:
    """Judge every candidate pair in scope that ``judge`` has not judged for the tools'
    current schemas. Verdicts commit batch by batch."""
    pairs = pending_pair_list(store, judge.name, include_catalog=include_catalog)
    report = JudgeReport(judge=judge.name, pending=len(pairs))
    done = 0

    def commit(judged: list[tuple[Pair, Verdict, str | None]], failures: list[JudgeFailed], count: int) -> None:
        nonlocal done
        events: list[Any] = [
            EdgeJudged(
                a_server=p.a.server, a_name=p.a.name, a_hash=p.a.schema_hash,
                b_server=p.b.server, b_name=p.b.name, b_hash=p.b.schema_hash,
                judge=judge.name, direction=v.direction, score_ab=v.score_ab, score_ba=v.score_ba,  # type: ignore[arg-type]
                reason=v.reason,
                request_hash=request,
            )
            for p, v, request in judged
        ]
        with store.transaction():
            store.append_many([*events, *failures])
        report.judged += len(judged)
        report.accepted += sum(1 for _, v, _ in judged if v.direction != "none")
        report.failed += count - len(judged)
        done += count
        if progress:
            progress(min(done, len(pairs)), len(pairs))

    if isinstance(judge, LLMJudge):
        try:
            judge.judge_all(store, pairs, commit)
        except JudgeUnavailable as exc:
            report.stopped = str(exc)
            report.failed += len(pairs) - done
    else:
        for start in range(0, len(pairs), judge.batch_size):
            batch = pairs[start : start + judge.batch_size]
            judged, failures = judge.judge_batch(store, batch)
            commit(judged, failures, len(batch))
    store.catch_up()
    return report


# -- the stage ---------------------------------------------------------------------------------


@dataclass
class GraphReport:
    embed: EmbedReport
    index_rebuilt: bool
    indexed: int
    candidates: CandidateReport
    judge: JudgeReport
    stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            **self.embed.summary(),
            "indexed": self.indexed,
            "index_rebuilt": self.index_rebuilt,
            "candidate_pairs": self.candidates.pairs,
            "judge": self.judge.judge,
            "judged": self.judge.judged,
            "accepted_pairs": self.judge.accepted,
            "unjudged": self.judge.failed,
            "edges": self.stats.get("edges", 0),
        }


def build_graph(
    store: Store,
    *,
    include_catalog: bool = False,
    embedder: Embedder | None = None,
    judge: RulesJudge | LLMJudge | None = None,
    k: int = 10,
    per_server: int = 8,
    progress: Progress | None = None,
) -> GraphReport:
    """Embed, index, find candidates and judge them: the whole graph stage (resumable)."""
    embedder = embedder or HashedEmbedder()
    judge = judge or RulesJudge()

    def step(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress else None

    embedded = embed_tools(store, embedder, include_catalog=include_catalog, progress=step("embed"))
    index = ToolIndex.open(store, embedder.name)
    candidates = find_candidates(store, index, include_catalog=include_catalog, k=k, per_server=per_server, progress=step("candidates"))
    judged = judge_candidates(store, judge, include_catalog=include_catalog, progress=step("judge"))
    stats = graph_stats(load_graph(store, include_catalog=include_catalog))
    return GraphReport(embedded, index.rebuilt, len(index), candidates, judged, stats)


# -- the graph ---------------------------------------------------------------------------------


def load_graph(store: Store, *, include_catalog: bool = False) -> nx.DiGraph:
    """The accepted edges between live tools in scope; every tool in scope is a node
    (``schema_hash``, ``callable`` attributes); edges carry ``score`` and ``judge``."""
    store.catch_up()
    graph = nx.DiGraph()
    where = "removed = 0" + ("" if include_catalog else " AND callable = 1")
    for server, name, h, c in store.conn.execute(f"SELECT server, name, schema_hash, callable FROM tools WHERE {where} ORDER BY server, name"):
        graph.add_node((server, name), schema_hash=h, callable=bool(c))
    for s_server, s_name, t_server, t_name, score, judge in store.conn.execute(
        "SELECT source_server, source_name, target_server, target_name, score, judge FROM edges"
        " ORDER BY source_server, source_name, target_server, target_name"
    ):
        source, target = (s_server, s_name), (t_server, t_name)
        if source in graph and target in graph:
            graph.add_edge(source, target, score=score, judge=judge)
    return graph


def graph_stats(graph: nx.DiGraph) -> dict[str, Any]:
    """Counts that say whether a graph is good for sampling workflows."""
    nodes = graph.number_of_nodes()
    edges = graph.number_of_edges()
    components = sorted((len(c) for c in nx.weakly_connected_components(graph)), reverse=True) if nodes else []
    isolated = sum(1 for n in graph if graph.degree(n) == 0)
    cross = sum(1 for u, v in graph.edges if u[0] != v[0])
    mutual = sum(1 for u, v in graph.edges if u < v and graph.has_edge(v, u))
    return {
        "tools": nodes,
        "edges": edges,
        "tools_with_edges": nodes - isolated,
        "isolated_tools": isolated,
        "components": sum(1 for c in components if c > 1),
        "largest_component": components[0] if components else 0,
        "mean_out_degree": round(edges / nodes, 2) if nodes else 0.0,
        "cross_server_edges": cross,
        "mutual_pairs": mutual,
        "servers_with_edges": len({n[0] for n in graph if graph.degree(n)}),
    }


def edge_rows(store: Store, *, tool: str | None = None, include_catalog: bool = False, limit: int | None = None) -> list[tuple[Any, ...]]:
    """Accepted edges (source, target, score, judge, reason), best first; ``tool`` filters
    to edges touching a tool named ``name`` or ``server/name``."""
    store.catch_up()
    params: list[Any] = []
    where = "ts.removed = 0 AND tt.removed = 0" + ("" if include_catalog else " AND ts.callable = 1 AND tt.callable = 1")
    if tool:
        where += " AND (e.source_name = ? OR e.target_name = ? OR e.source_server || '/' || e.source_name = ? OR e.target_server || '/' || e.target_name = ?)"
        params += [tool] * 4
    sql = (
        "SELECT e.source_server || '/' || e.source_name, e.target_server || '/' || e.target_name, e.score, e.judge, e.reason"
        " FROM edges e JOIN tools ts ON ts.server = e.source_server AND ts.name = e.source_name"
        " JOIN tools tt ON tt.server = e.target_server AND tt.name = e.target_name"
        f" WHERE {where} ORDER BY e.score DESC, e.source_server, e.source_name, e.target_server, e.target_name"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.conn.execute(sql, params).fetchall()

