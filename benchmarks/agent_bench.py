"""The chat agent on two question sets, with the embedded model; writes BENCHMARKS.md.

    python -m benchmarks.agent_bench [--set demo|nokia|both] [--limit N] [--policy remove]

- `demo`: the 37 questions of `examples/demo/questions.jsonl` over the demo graph and
  index (run `distill demo` first: graph, index, trained models incl. the fact-checker).
- `nokia`: the questions of `examples/nokia/questions.jsonl` over the real Nokia 6610
  reviews of Hu & Liu (KDD 2004), ingested here from the shared data folder (`--data`,
  default `$DISTILL_DATA` or /work/shared/data) into `.distill/nokia` with the GSMArena
  catalog as `[catalog]` and the shipped general models: what a user gets on their own
  data. The review text is never copied into the repository, only the questions and
  keys (written from the gold annotations).

Every question runs in a fresh thread with the LLM response cache off, so seconds are
real. Answers with their grading go to `benchmarks/.cache/agent_results_<set>.jsonl`;
the `## Chat agent` section of BENCHMARKS.md is rewritten from the latest run of each set.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from benchmarks.report import machine, write_section
from distill.agent.chat import Agent
from distill.agent.evaluation import (
    AgentEvaluation,
    QuestionResult,
    evaluate_agent,
    grade,
    load_questions,
    summarize,
)
from distill.config import CatalogColumns, CatalogConfig, Config, TaskConfig, load_config
from distill.demo.run import WORKDIR, demo_config
from distill.llm.models import DEFAULT_EMBEDDED_MODEL

CACHE = Path(__file__).parent / ".cache"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOKIA_WORKDIR = Path(".distill/nokia")
NOKIA_FILE = Path("phone_catalog_reviews/hu_liu_customer_reviews/Nokia 6610.txt")
GSMARENA = Path("phone_catalog_reviews/gsmarena_catalog/gsmarena_dataset.csv")
NOKIA_ID = "nokia-6610-phone"
"""The GSMArena row "Nokia 6610 phone", id made from its name: the reviews' subject."""
SETS = {
    "demo": EXAMPLES / "demo" / "questions.jsonl",
    "nokia": EXAMPLES / "nokia" / "questions.jsonl",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="which", default="both", choices=["demo", "nokia", "both"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--policy", default="remove", choices=["flag", "remove", "refuse"])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("DISTILL_DATA", "/work/shared/data"))
    )
    parser.add_argument("--note", default="", help="how loaded the machine was, for the report")
    parser.add_argument(
        "--regrade", action="store_true", help="re-grade the last runs' answers with the keys"
    )
    args = parser.parse_args()
    names = ["demo", "nokia"] if args.which == "both" else [args.which]
    for name in names:
        if args.regrade:  # the run's machine, date and load stay those it was measured on
            measured = (load(name) or (None, {}))[1]
            summary = regrade(name, args.policy)
            save(name, summary, args.note or measured.get("note", ""), measured.get("machine"))
        else:
            config = demo_agent_config() if name == "demo" else nokia_config(args.data)
            summary = run(name, config, args.policy, args.limit)
            save(name, summary, args.note)
        print(f"[{name}]\n{table(summary)}", flush=True)
    write_section("Chat agent", report())


def demo_agent_config() -> Config:
    config = demo_config(load_config(environ={}).config, WORKDIR)
    return config.model_copy(update={"llm": config.llm.model_copy(update={"cache": False})})


def nokia_config(data: Path) -> Config:
    """The Nokia 6610 reviews ingested with the GSMArena catalog, on every run: re-ingesting
    replaces each review's facts, so the graph always reflects the current models (a graph
    kept from an earlier run once measured the old sentiment model)."""
    from distill.corpora.huliu import reviews
    from distill.ingest.pipeline import ingest

    base = load_config(environ={}).config
    work = NOKIA_WORKDIR
    config = base.model_copy(
        update={
            "catalog": CatalogConfig(
                path=str(data / GSMARENA),
                columns=CatalogColumns(name="Model", release_date="Year"),
                brand_from_name=True,
            ),
            "graph": base.graph.model_copy(update={"path": str(work / "graph")}),
            "index": base.index.model_copy(update={"path": str(work / "index")}),
            "agent": base.agent.model_copy(update={"checkpoints": str(work / "chat.sqlite")}),
            "llm": base.llm.model_copy(update={"cache": False}),
            "tasks": {**base.tasks, **_checker(base)},
        }
    )
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    for number, review in enumerate(reviews(data / NOKIA_FILE), 1):
        text = " ".join([review.title, *(s.text for s in review.sentences)]).strip()
        meta = {"product": NOKIA_ID, "title": review.title}
        lines.append(json.dumps({"id": f"r{number:02d}", "text": text, "meta": meta}))
    source = work / "reviews.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest([source], config)
    print(f"ingested {report.written} Nokia reviews ({report.failures or 'no failures'})")
    return config


def _checker(base: Config) -> dict[str, TaskConfig]:
    """The guardrail's fact-checker: the configured one, else the shipped general one, else
    the demo's (trained on the demo's claims)."""
    from distill.plugins.factcheck.general import general_model_path

    demo = WORKDIR / "models" / "factcheck"
    if base.task("factcheck").model or general_model_path() or not demo.exists():
        return {}
    return {"factcheck": base.task("factcheck").model_copy(update={"model": str(demo)})}


def run(name: str, config: Config, policy: str, limit: int | None) -> AgentEvaluation:
    questions = load_questions(SETS[name])[:limit]
    with Agent(config, policy=policy) as agent:  # type: ignore[arg-type]
        return evaluate_agent(
            agent,
            questions,
            on_result=lambda r: print(
                f"{'✓' if r.correct else '✗'} {r.id} {r.seconds:5.1f}s {r.answer[:100]}", flush=True
            ),
        )


def save(name: str, summary: AgentEvaluation, note: str, measured_on: str | None = None) -> None:
    CACHE.mkdir(exist_ok=True)
    results = CACHE / f"agent_results_{name}.jsonl"
    results.write_text("\n".join(r.model_dump_json() for r in summary.results) + "\n")
    meta = {"policy": summary.policy, "machine": measured_on or machine(), "note": note}
    (CACHE / f"agent_run_{name}.json").write_text(json.dumps(meta))


def load(name: str) -> tuple[AgentEvaluation, dict[str, str]] | None:
    results = CACHE / f"agent_results_{name}.jsonl"
    if not results.is_file():
        return None
    meta = json.loads((CACHE / f"agent_run_{name}.json").read_text())
    rows = [QuestionResult.model_validate_json(line) for line in results.read_text().splitlines()]
    return summarize(rows, meta["policy"]), meta


def regrade(name: str, policy: str) -> AgentEvaluation:
    """Keyword questions re-graded from the saved answers (abstentions keep their grade:
    it needs the verdicts, which the saved results summarise but do not hold)."""
    questions = {q.id: q for q in load_questions(SETS[name])}
    loaded = load(name)
    if loaded is None:
        raise SystemExit(f"no saved run of {name}: run it first")
    results = loaded[0].results
    for result in results:
        question = questions[result.id]
        if not question.abstain:
            result.correct = grade(question, result.answer, [], shown_only=True)
            result.draft_correct = grade(question, result.draft, [], shown_only=False)
    return summarize(results, policy)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


ROWS = [
    ("answer accuracy, after the guardrail", lambda s: pct(s.answer_accuracy)),
    ("answer accuracy, the draft", lambda s: pct(s.draft_accuracy)),
    ("citation precision (cited docs among the expected)", lambda s: pct(s.citation_precision)),
    ("unsupported claims among those drafted", lambda s: pct(s.unsupported_before)),
    ("unsupported claims among those shown", lambda s: pct(s.unsupported_after)),
    ("hallucination, unanswerable + tempting, draft", lambda s: pct(s.hallucination_before)),
    ("hallucination, unanswerable + tempting, shown", lambda s: pct(s.hallucination_after)),
    ("seconds per answer, median (mean)",
     lambda s: f"{s.seconds_median:.1f} ({s.seconds_mean:.1f})"),
    ("answers with no language-model call", lambda s: pct(s.no_llm_share)),
    ("language-model calls per answer, mean", lambda s: f"{s.llm_calls_mean:.2f}"),
]  # fmt: skip


def table(*summaries: AgentEvaluation) -> str:
    return "\n".join(
        f"| {name} | " + " | ".join(value(s) for s in summaries) + " |" for name, value in ROWS
    )


def by_kind(summary: AgentEvaluation) -> str:
    return " · ".join(
        f"{kind} {pct(value)} (n={sum(r.kind == kind for r in summary.results)})"
        for kind, value in summary.by_kind.items()
    )


def misses(name: str, summary: AgentEvaluation) -> str:
    """The answers graded wrong. Quotes of reviews not written here (every set but the
    demo's) are elided: the shared data is not copied into the repository."""
    wrong = [r for r in summary.results if not r.correct]
    return "\n".join(
        f"- {name} {r.id} ({r.kind}): {r.question} → {_shown(name, r.answer)[:170]}" for r in wrong
    )


def _shown(name: str, answer: str) -> str:
    if name == "demo":
        return answer
    return re.sub(r'"([^"]*)"?', lambda m: m[0] if len(m[1].split()) <= 3 else '"…"', answer)


def report() -> str:
    runs = {name: load(name) for name in SETS}
    done = {name: run for name, run in runs.items() if run is not None}
    if not done:
        return "No run yet: `python -m benchmarks.agent_bench`."
    names = list(done)
    header = "| metric | " + " | ".join(
        f"{name} ({done[name][0].questions} questions)" for name in names
    )
    header += " |\n|---|" + "---|" * len(names)
    summaries = [done[name][0] for name in names]
    meta = done[names[0]][1]
    notes = "; ".join(
        f"{name}: {done[name][1]['note']}" for name in names if done[name][1].get("note")
    )
    kinds = "\n".join(f"- {name}: {by_kind(done[name][0])}" for name in names)
    wrong = "\n".join(misses(name, done[name][0]) for name in names) or "- none"
    return f"""\
`python -m benchmarks.agent_bench` (also `distill evaluate-agent [--questions FILE]`):
the chat agent with the embedded {DEFAULT_EMBEDDED_MODEL} (Q4_K_M, llama.cpp, CPU),
guardrail policy `{meta["policy"]}`, LLM cache off, every question in a fresh thread.

- **demo**: the questions of `examples/demo/questions.jsonl` over the demo graph and index
  (`distill demo`; its trained NER, linker, sentiment and fact-checker).
- **nokia**: `examples/nokia/questions.jsonl`, questions and keys written from the Hu & Liu
  gold annotations of the 40 real Nokia 6610 reviews (`Nokia 6610.txt` only), ingested with
  the GSMArena catalog as `[catalog]` and the shipped general models, no training: what a
  new user gets (the guardrail's checker included: the shipped general cross-encoder). The
  keys count opinions at the aspect level of the shipped sentiment model
  (`corpora/huliu.feature_aspect`).

Grading: an answer is correct when it contains the answer key's words, or, for questions
the data cannot answer, when it says so and shows no unverified fact. "Unsupported" is the
fact-checker's verdict (sentences stated from the graph's numbers or quoted verbatim are
supported by construction); hallucination is judged by the answer key, independently of
the checker. Machine: {meta["machine"]}.{f" Load: {notes}." if notes else ""}

{header}
{table(*summaries)}

By kind:
{kinds}

How to read it:

- **This run (2026-12-05, twenty-third session): more questions of review files we wrote,
  and weak neutral readings dropped.** Asked by hand of a camera file we wrote whose model
  code collides with GSMArena phones ("Pentax X5": 29 catalog names hold "X5"; none was
  linked), and of the DVD-player, MP3-player and mixed graphs of the last run: "How does the
  Pentax X5 compare with the Canon PowerShot?" let the model's "better than the Canon
  PowerShot, with more positive reviews and fewer negative reviews" through the checker
  (0.78; a comparison of tallies is now a tally no count states); "Is it better than my old
  Sony?" had the model copy three sentences of a review that names no Sony (a name the
  question compares with is now required of the reviews: "No review mentions "sony"", no
  model call); "Does the DVD player play burned discs?", asked of the player's file alone,
  searched unscoped, and the guard rejected the right answer for using "dvd" (the only graph
  product of its kind now answers to it, as it did among several); "the Lumix's flash" said
  no review mentions "lumix" (a graph-only product answers to its maker's name when that is
  no English word, no catalog brand and no other product's); "How many reviews mention the
  Nokia 6610's battery?" and "the camera's battery" counted the words "nokia 6610 s battery"
  and "camera battery" (0); "How does the Sonata compare to my old Rio?" required "rio" but
  read and quoted the best-ranked passages, none of them the review that names a Rio (a
  search that requires words now reads the reviews saying them); "What's the battery life
  like on the MX40?" was read as what people like (the idiom now asks how it is: the counts
  and quotes, no model call); "Is the battery better than the T610's?" summarised the T610
  alone and the model drafted that the Nokia's was better (a product named only after "than"
  is now compared with the product in question, from the graph); "Which reviews praise the
  battery?" of a camera whose battery has 0 positive and 2 negative opinions went to the
  model, which read the complaints and wrote that a review "praises the battery by stating
  that it dies after about 120 shots" (the checker passed it; praise or complaints asked of
  an aspect whose opinions are all of the other kind are now stated from the graph, with
  quotes); "Is it better than my old one?" now reads the reviews that compare with an old or
  previous one. "Which phones do reviewers compare it with?" went to the model, which named
  two of the 19 names the Nokia reviews hold (it is now the names beside the product in
  question, from the graph), and of the MP3 file that list was the player's own short names,
  "Mx40" (6 reviews) and "Sonata Mx40" (no longer); "How is the lcd?" of the camera went to
  the model ("lcd" now names the screen). The sentiment model's weak neutral readings are no
  longer opinions (*Aspect sentiment on real reviews*): 407 opinions on the Nokia file
  instead of 418. Rows: demo 86%, Nokia 92%, as before.
- **The run of 2026-12-05 (twenty-second session): products that are not phones, and other
  catalogs.** Asked by hand of review files we wrote in the Hu & Liu format about an MP3
  player (28 reviews), a DVD player and a camera, alone and in one graph with the Nokia 6610
  reviews, and of reviews of ours against a retailer's product table (Walmart-Amazon) as the
  catalog: "How is the picture quality?" of the DVD player said no review mentions "picture
  quality" and then summarised its "camera" ("X quality" is now the aspect itself, named in
  the question's words); quotes named the model's label ("criticises the keyboard" over "the
  remote feels cheap"; now the part the quoted sentence names); "Are the earbuds any good?"
  summarised the player (a category no known product belongs to names a part); "the MX40"
  resolved to an unlinked NER name, and the most-named product was "the Mx40" (a file's
  subject answers to its model without the maker, and unlinked short names of it count as
  it); "How many reviews mention freezing?" missed "freezes" (a counted or searched word
  finds its other forms); "after a few months" searched for "after" and "few" (spaCy's stop
  words are no topic); "Which products are reviewed?" went to the model, which named the
  product the reviews *name* most, and "How many reviews are there of each product?" gave
  the total (both now stated from the graph: the products with opinions, the reviews behind
  each); "the MP3 player" in a graph of four files' subjects named none (a subject's kind,
  when no other shares it, now names it); the model's "The reviews are overwhelmingly
  negative, with only one positive review" beside a count of 3 positive, 7 negative passed
  the checker on a quoted passage (a drafted tally of opinions whose numbers are not the
  graph's is now unsupported); with the retailer's catalog nothing linked ("Sony MDR-V6" of
  a 10-word title: a long title now answers to its name up to the model code, and "4 GB" is
  no model number), and "What do people say about the Voyager Pro?" (in no catalog form the
  reviews use) was answered about the one product with opinions (a product is what the
  reviews are about only when most reviews are behind it). Demo 86% and Nokia 92%, as
  before; Without a catalog, "How does it compare to the Motorola T720?" summarised the T720
  alone ("it" compared with a named product is now the product the reviews are about, one
  holding three quarters of the opinions). Nokia answers with no model call 80-84% over this
  session's six runs. The catalog change made "Nokia 6620" resolve (GSMArena's "Nokia 6620
  Symbian smartphone"), where n25 had answered that no such product is in the catalog; in
  one run the model then drafted a battery life for it from no passage (removed by the
  guard): a catalog product no review mentions is now answered "No review mentions the Nokia
  6620." with no model call. n06 and n19 fail as before.
- **The run of 2026-12-05 (twenty-first session): questions a new user asked of real
  reviews, routed.** Asked by hand of the Nokia 6610 reviews and of two review files we wrote in the
  Hu & Liu format about products outside the catalog (a camera, a DVD player), outside these
  sets: "Summarize what people dislike." and "… for someone who *wants* a camera?" searched
  the reviews for "summarize" and "wants" (verbs of asking and wanting now shape a question,
  as "think" does); "Which products have the most negative opinions?" named one product's
  worst aspect (a ranking with no aspect now ranks products over all their opinions, by the
  Wilson lower bound of their share of complaints or praise, so neither one rave nor the
  most reviewed product leads); "Which product is mentioned most often?", "How many reviews
  are there?", "pros and cons", "Tell me about the Nokia 6610." and "Should I buy it?" went
  to the model ("received 102 positive reviews out of 144 total reviews", none of three
  sentences supported) or to one side only, and "the most common complaint" searched for
  "common" (all now stated from the graph); "T-Mobile" was searched as "mobile"; "Does the
  Nokia 6610 support 5G?" summarised the customer-support aspect and the model called its 15
  positive, 23 negative opinions "overwhelming praise" (support as a verb now asks about a
  feature, and "5g" is a term: no review mentions it); "the screen and the keypad"
  summarised the screen only (aspects listed together are now summarised one after the
  other); "What do reviewers think of the Lumix Z5?", whose file's subject is "Lumix Z5
  camera" and in no catalog, answered that no review mentions "lumix" (a product only the
  graph knows now answers to its short forms, and the words of the summarised product's own
  name are no topic); "How is the picture quality?" went to a passage search (picture and
  image quality, lens, flash name the camera aspect now) where the model wrote "The picture
  quality is described as" and the checker accepted it (a drafted sentence ending on an
  article, conjunction, copula or comma is no claim now); "Which carriers do reviewers
  mention?" got "Reviewers mention Nokia 6610, Nokia 6610, …" three times, each supported (a
  sentence written again is shown once, one where a pair of words repeats three times or
  more is no claim); "And the screen?" after a battery question went to the model (a bare
  aspect follow-up is now summarised as the question before it); "Does the battery last
  long?" went to a passage search alone (the aspect's counts and quotes now lead, the model
  reads the passages after them). Without a catalog (the Nokia file ingested with no
  `distill.toml`): "Which product is mentioned most often?" named a product "in 0 reviews"
  (names no catalog entry links now count too); a ranking over the one product with opinions
  called it the worst (it now says it is the only one); "How many reviews mention the
  Motorola T720?" counted the words, 0, where the reviews write "motorolla t720" (a name is
  now found by its model number when each word before it is spelled close). "How is the
  battery?" quoted "we hardly ever have to charge them" as the battery's complaint: an
  opinion under 0.5 confidence is now counted but never quoted (on the Nokia reviews 11 of
  the 88 such opinions match the annotation of their sentence, against 185 of 338 above); on
  the demo q33 no longer quotes "it chokes when I try to edit photos on it" as a camera
  complaint (its answer still misses the key), and q26, whose comparing quote was under the
  floor, is now drafted by the model (right both times): answers with no model call 89% →
  86%, drafted claims unsupported 3% → 5%. n21 ("the Nokia 6610 or the Nokia 3650?") said
  only that no review has an opinion on the 3650, as it did with the code of the last stop
  (a run earlier this session gave Nokia 88%); a comparison where one product has no
  opinions now states what the other has over all aspects, as the one-aspect comparison
  already did (whose "the Nokia 6610 has 65 positive, 20 negative" now says "opinions on its
  sound", and is checked: a sentence going on to a fact after a semicolon is no abstention).
  Demo 86% and Nokia 92%, the figures of the last published run; n06 (12 reviews against the
  key's 13: review 14 writes "speakphone") and n19 (r31's Bluetooth sentence drafted as a
  statement and removed) fail as before.
- **The run of 2026-12-04 (ninth session): the sentiment model trained six epochs**
  (*Aspect sentiment on real reviews*: held-out SemEval-2014 restaurants dev 0.763 → 0.783)
  and a threshold no longer re-tuned on a handful of dev opinions (`distill demo`'s
  fine-tune keeps the general model's): demo 89% → 86%, Nokia 92%, unchanged. Lost on the
  demo: q02 names the Nebula X2 (6 positive camera opinions; the X2 Pro's camera reads 4
  positive, 4 negative) and q33 again quotes "it chokes when I try to edit photos on it" as
  a camera complaint (shown hallucination 10%, as three runs before); q10 is right.
  Before the threshold change the demo graph had 214 facts instead of 278 and the demo
  scored 84%. "Answers with no language-model call" 89% (76% before): more demo answers
  are stated from the graph's counts. Nothing else ran (load ~1).
- **The run of 2026-12-04 (seventh session): the guardrail knows which product a passage
  is about.** A drafted sentence using a word of the question that no evidence uses is
  never verified; a review says "the K5 Max" or "the phone" where the question says
  "Kestrel K5 Max" or "Nokia 6610", so faithful sentences naming the product in full
  were removed. Passages a tool found among a product's documents now carry that
  product (`Evidence.about`), and the names of products the evidence names or is about
  count as used. Demo 86% → 89% (q14, the K5 Max's size: "I could not verify an answer"
  before, the drafted answer now), Nokia 92%, unchanged (n19's draft, "the Nokia 6610's
  Bluetooth functionality would have made the phone even better", now reaches the
  cross-encoder, which rejects it: the review never names the phone; telling the
  checker "A review of the Nokia 6610:" before the passage made it accept that sentence,
  p 0.07 → 0.98, but also "The Nokia 6610 has excellent Bluetooth", 0.003 → 0.98, so
  the checker still reads the passage alone). And a drafted sentence saying the sources
  are silent on what a passage mentions (the last content word of "the reviews do not
  mention any software updates", beside "zero updates since launch") is now dropped as
  contradicted, where it was shown as a harmless abstention: q12's answer loses that
  false sentence, the only answer of either set that changed with it (q12 stays wrong
  by its key, which wants "no updates"). The same code
  before the change, rerun first on this machine: demo 86%, Nokia 92%, as below.
  Nothing else ran (load ~1).
- **The run of 2026-12-03 (sixth session): the same model with checkpoint averaging** (the
  one shipped at the end of the fifth session: the mean of the weights after epochs 2-4;
  the fifth session's run below measured the same recipe without averaging): demo 81% →
  86%, Nokia 92%, unchanged; no hallucination shown (10% before, q33). q02 names the X2
  Pro again and q33 finds no camera opinion to quote; q11 (the Aurex Pods 3's main
  complaint) is right again, and q10 (how is their sound) wrong: the draft says "warmer"
  from a review comparing the Pods 3 Pro with the Pods 3. The machine was loaded
  (a fresh clone's `make demo` and `make test` beside it), so its seconds are not
  comparable with the runs below.
- **The run of 2026-12-03 (fifth session): the shipped sentiment model rebuilt without the
  copies of dev sentences and the SemEval-2016 sentences 2014 train lacks** (*Aspect
  sentiment on real reviews*): demo 86% → 81%, Nokia 92%, unchanged. Two demo questions
  lost, both on the new model's readings of one sentence: q02 ("which phone's camera do
  reviewers praise the most") names the Nebula X2 (5 positive) because the X2 Pro's
  camera now reads 5 positive, 3 negative; q33 ("how good is the Lumen Tab 11's camera",
  a question the data cannot answer) quotes "it chokes when I try to edit photos on it"
  as a camera complaint, the demo's first shown hallucination in these runs. The Nebula
  X2's battery reads 1 positive, 7 negative (was 2 / 8).
- **The run of 2026-12-03 (third session): a new shipped sentiment model** (its top three
  layers fine-tuned, not one; *Aspect sentiment on real reviews*): demo 89% → 86%, Nokia
  92%, unchanged. On the demo one question was won and two lost, each on one sentence:
  q10 ("how is the sound on the Aurex Pods 3") is right now; q11 ("the main complaint
  about the Aurex Pods 3") quotes "Sound is better on the Pods 3 though" as a complaint
  (a comparison read as criticism), and q06 ("which laptop has the best speakers") ranks
  on one opinion each. The Nebula X2's battery, the demo's first question, reads 2
  positive, 8 negative (was 3 / 5). The run before (second session: the model the LLM
  taught camera, joined sentence pairs) had gone from 86% to 89%.
- **Most answers take no model call.** Aggregates (overall, liked, criticised, one
  product's aspect or a part of it, rankings, comparisons, counts, catalog attributes,
  plugin facts) are stated by code from the graph's counts plus verbatim quotes, in well
  under a second; "seconds, median" is theirs. Questions that need reading get one
  drafting call (no planning call: the router fixed the tools); only unrouted counting or
  listing questions add a planning call. An answer with one drafting call took 6–13 s on
  the 2 cores in this run (quiet machine, load about 0.5, the heavy-job lock held), and
  25–98 s in an earlier run the same day at load about 6 (three training jobs under
  `nice` beside the lock); the issue's 17.9 s median was from before most answers were
  stated.
- **The answers are as right as the graph.** A stated answer repeats the sentiment
  model's counts faithfully, errors included: on the demo a mislabelled sentence makes
  the Halden Slate 14 Flip "best for sound"; on the Nokia reviews carrier complaints
  (T-Mobile, AT&T customer service) are filed under the phone's `support` and lead "what
  do reviewers criticise". The quotes show the user what the counts rest on.
- **Citation precision** counts the documents an answer shows or relies on: the
  reviews it quotes, the passages the model read for a sentence that was kept, one
  document's facts (a plugin fact, a graph row), and documents the answer names
  ("(r04, r08, …)"). A count (of opinions or reviews) is not a reading of its documents,
  however many there are: they stay in the fact's sources (`/sources` lists them) and
  are not citations. Before this rule every document behind a cited count was one (nine
  opinions, nine citations): 77% (demo) and 76% (nokia); with it for counts over
  several documents only, 82% and 80%.
- **Hallucination shown**: a question restricted to what the graph does not record
  about a review (when it was written, its stars: "reviewed the most in 2025", "what star
  rating") is answered as such, with no count and no model call; before, a count was
  stated for the unrestricted question, or the model wrote "198 5-star reviews" from the
  opinion counts and the demo's lexical checker passed it,
  as every number was in the evidence. The guardrail now also refuses a drafted sentence
  that uses a word of the question no source uses ("5-star", "2025", a product no review
  names), or that only reads the opinion counts stated beside it ("generally liked
  better" from two opinions), and checks sentence by sentence what the model packed into
  one item. Before: 10% (demo) and 25% (nokia) shown. Only 14 questions are of these
  kinds (10 demo, 4 nokia): 0% is "none of them", not a rate. Answers to other questions
  can still carry a wrong drafted sentence the lexical checker passes (demo q23: "the V10
  has more positive reviews, but the V8 has more overall positive opinions"; a
  comparison's verdict re-cited to a passage that says half of it).
- **Citation precision, demo 92% (82% before this stop), Nokia 83% (80%).** What moved
  it: a count over one document's two opinions is a count too (above; q21, q25); too few
  opinions to compare two products aspect by aspect now quotes a review that weighs them
  against each other instead of letting the model draft (q23, q27: "get the 6 Plus");
  a drafted sentence that repeats a passage's words (two or more word trigrams, twice as
  many as the passage it cited) cites that passage, as small models write from the right
  passage and cite the wrong number (q11: r35/r47 → r22); an opinion in a sentence that
  names another brand and not the subject's maker is that brand's ("the s105 (samsung)
  has a beautiful big display" in a Nokia review; `plugins/sentiment/targets.py`); a
  counted word matches compounds written every way ("speaker phone" for
  "speakerphone": n06 counts 12 reviews, the key 13); reviews that name no product are
  counted from the graph and quoted (q07: the courier review r07, and r22, whose "Aurex
  Pod 3" the demo's NER missed). What is left: a sound opinion read neutral where the
  key has "warmer" (demo q10, earlier a Pods 3 Pro review read for the Pods 3), and on
  the Nokia reviews sentences the
  gold does not count (n04: "the motorolla phone have a horrible battery", a misspelled
  brand the NER does not find, filed as the 6610's; n03/n07: AT&T's customer service
  filed under the phone's support; n19: r31 does regret the missing Bluetooth, the key
  lists only r09).
- **Drafted sentences the checker wrongly removed.** The shipped lexical checker was
  trained where long answers were the made-up ones (HaluEval), and called a sentence
  copied from the review it cites "contradicted" (0.91: "The battery lasts about 5 days
  … up to 10 when i was making very few calls"). A drafted sentence whose word trigrams
  are 70% in one passage is now a restatement: supported, citing that passage (a negation
  or a changed number breaks the trigrams around it, so those still go to the checker).
  Faithful paraphrases ("does not get software updates" for "pushed zero updates", q12)
  still fail the lexical checker: that is the entailment model issue 14 asks for.
- What did not work: letting the model plan every question (slow, and it chose the
  aggregate tools poorly); stating "no review has an opinion on X" whenever the graph had
  none (the demo's sentiment model misses many; the reviews said it, so the model now
  reads them instead); counting any opinion in a sentence that names a part of an aspect
  (a battery opinion in "the battery lasts, but the speakerphone is quiet" counted for
  the speakerphone).

Answers graded wrong:
{wrong}
"""


if __name__ == "__main__":
    main()
