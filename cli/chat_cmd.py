"""`distill chat` and `distill ask`: questions over the ingested documents and the graph.

Both print the checked answer with its verdicts and the cited snippets. `chat` keeps
a conversation (resumable with --thread); `ask` answers once, for scripts (--json
prints the typed response object).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from distill.cli.state import State

if TYPE_CHECKING:
    from rich.console import Console

    from distill.agent.chat import Agent, ChatResponse
    from distill.config import Config

CHAT_HELP = """\
Ask about the reviews in plain language; "add this review: …" or "ingest FILE" shows
what it would write, and "yes" writes it. Commands:
  /sources   the evidence behind the last answer (snippets with document ids and spans)
  /graph     what the knowledge graph holds
  /tools     the tools the agent can call
  /reset     forget this conversation
  /help      this text;  /quit (or Ctrl-D) to leave
"""

Thread = Annotated[
    str, typer.Option("--thread", "-t", help="conversation name; the same name resumes it")
]
PolicyOption = Annotated[
    str | None,
    typer.Option(
        "--policy",
        help="unsupported claims: flag (mark them), remove (drop them) or refuse "
        "(default: the config's `guardrail`)",
    ),
]


def chat(ctx: typer.Context, thread: Thread = "default", policy: PolicyOption = None) -> None:
    """Chat with the agent over your documents and the knowledge graph.

    Every answer cites its sources and is fact-checked before you see it. After
    `distill demo` it works on the demo reviews out of the box; try "Which phone has
    the worst battery reviews?" or "What do people say about the Nebula X2 camera?".
    """
    from distill.cli import console

    agent = _agent(ctx.obj, policy)
    console.print(CHAT_HELP, style="dim", highlight=False)
    past = agent.history(thread)
    if past:
        console.print(f"[dim]resuming thread {thread!r} ({len(past) // 2} earlier turns)[/]")
    last: ChatResponse | None = None
    while True:
        try:
            message = console.input("[bold cyan]you ›[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if not message:
            continue
        if message.startswith("/"):
            if not _command(message, agent, thread, last, console):
                break
            continue
        last = _ask(agent, message, thread, console) or last
    agent.close()


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="the question, in quotes")],
    thread: Annotated[
        str | None,
        typer.Option(
            "--thread", "-t", help="continue this conversation (default: a fresh one per call)"
        ),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="print the response object as JSON, nothing else")
    ] = False,
    policy: PolicyOption = None,
) -> None:
    """Answer one question (for scripts); --json prints answer, citations, verdicts,
    tool calls and seconds as one JSON object. Each call is a fresh conversation unless
    --thread names one, so one script's questions never leak into the next answer.
    A write ("add this review: …", "ingest FILE") is only shown; to confirm it, ask
    with --thread NAME and then `distill ask --thread NAME yes`."""
    import uuid

    from distill.cli import console

    thread = thread or f"ask-{uuid.uuid4().hex[:12]}"
    agent = _agent(ctx.obj, policy, quiet=json_)
    try:
        if json_:
            print(agent.chat(question, thread).model_dump_json(indent=2))
        else:
            _ask(agent, question, thread, console, raise_errors=True)
    finally:
        agent.close()


# the pieces


def _agent(state: State, policy: str | None, *, quiet: bool = False) -> Agent:
    from distill.agent.chat import Agent
    from distill.cli import errors
    from distill.errors import ConfigError

    if policy not in (None, "flag", "remove", "refuse"):
        raise ConfigError(f"--policy must be flag, remove or refuse; got {policy!r}")
    config = chat_config(state.config, log=None if quiet else errors.print)
    return Agent(config, policy=policy)  # type: ignore[arg-type]


def chat_config(config: Config, log: Any = None) -> Config:
    """The configured graph; when nothing was ingested there yet, the demo's (if built)."""
    from distill.demo.run import WORKDIR as DEMO_WORKDIR
    from distill.demo.run import demo_config

    graph_missing = not Path(config.graph.path).exists()
    demo_graph = DEMO_WORKDIR / f"graph-{config.graph.store}"
    if graph_missing and demo_graph.exists():
        if log:
            log(
                f"[dim]no graph at {config.graph.path}; using the demo's ({demo_graph}). "
                "Ingest your own documents with `distill ingest`.[/]",
                highlight=False,
            )
        return demo_config(config, DEMO_WORKDIR)
    return config


def _ask(
    agent: Agent, message: str, thread: str, console: Console, raise_errors: bool = False
) -> ChatResponse | None:
    from distill.agent.chat import ChatResponse
    from distill.errors import DistillError

    response = None
    try:
        with console.status("[dim]thinking …[/]", spinner="dots") as status:
            for event in agent.stream(message, thread):
                if isinstance(event, ChatResponse):
                    response = event
                else:
                    console.print(f"[dim]  {event.node}: {event.detail}[/]", highlight=False)
                    status.update(f"[dim]{_next_step(event.node)} …[/]")
    except DistillError as exc:
        if raise_errors:
            raise
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return None
    assert response is not None
    print_response(response, console)
    return response


def _next_step(node: str) -> str:
    return {
        "plan": "running tools",
        "act": "drafting the answer",
        "draft": "fact-checking",
    }.get(node, "answering")


def print_response(response: ChatResponse, console: Console) -> None:
    """The answer, one line per sentence with its verdict, then the cited snippets."""
    from rich.markup import escape

    console.print()
    if response.refused or (response.policy == "remove" and response.removed):
        console.print(f"[bold]{escape(response.answer)}[/]")
    for sentence in response.sentences:
        if response.policy != "flag" and not sentence.kept:
            continue
        verdict = sentence.verdict
        if response.refused:
            break
        if verdict is None:
            mark = "[dim]·[/]"
        elif verdict.label == "supported":
            mark = f"[green]✓ supported {verdict.confidence:.2f}[/]"
        else:
            label = verdict.label.replace("_", " ")
            mark = f"[yellow]⚠ {label} {verdict.confidence:.2f}[/]"
        cites = "".join(f"[{n}]" for n in sentence.citations)
        console.print(f"{escape(sentence.text)} [cyan]{escape(cites)}[/]  {mark}", highlight=False)
    print_sources(response, console, cited_only=True)
    seconds = response.seconds.get("total", 0.0)
    tools = ", ".join(
        f"{t.name}{' (router)' if t.by == 'router' else ''}" for t in response.tool_calls
    )
    console.print(f"[dim]{seconds:.1f} s · tools: {tools or 'none'} · policy {response.policy}[/]")
    console.print()


def print_sources(response: ChatResponse, console: Console, *, cited_only: bool = False) -> None:
    from rich.markup import escape

    items = response.citations if cited_only else response.evidence
    for item in items:
        where = ", ".join(
            f"{s.doc_id}:{s.char_start}-{s.char_end}" if s.char_start is not None else s.doc_id
            for s in item.sources
        )
        if cited_only and item.kind == "graph" and len(item.sources) > 1:
            # a count: the answer cites what it shows; /sources lists every document
            where = f"counted in {len(item.sources)} documents (/sources lists them)"
        kind = "graph" if item.kind == "graph" else item.kind
        text = item.text if len(item.text) <= 240 else item.text[:237] + "…"
        console.print(
            f"  [cyan][{item.number}][/] [dim]{kind} {escape(where)}[/]\n      {escape(text)}",
            highlight=False,
        )


def _command(
    message: str, agent: Agent, thread: str, last: ChatResponse | None, console: Console
) -> bool:
    """Run a slash command; False means leave the chat."""
    command = message.split()[0].lower()
    if command in ("/quit", "/exit", "/q"):
        return False
    if command == "/help":
        console.print(CHAT_HELP, style="dim", highlight=False)
    elif command == "/sources":
        if last is None:
            console.print("[dim]no answer yet[/]")
        else:
            print_sources(last, console)
    elif command == "/tools":
        for definition in agent.toolbox.definitions():
            function = definition["function"]
            console.print(f"[bold]{function['name']}[/]: {function['description']}")
    elif command == "/graph":
        _print_graph(agent, console)
    elif command == "/reset":
        agent.reset(thread)
        console.print(f"[dim]thread {thread!r} forgotten[/]")
    else:
        console.print(f"[yellow]unknown command {command}[/]; /help lists them")
    return True


def _print_graph(agent: Agent, console: Console) -> None:
    with agent.graph_store() as store:
        stats = store.stats()
        top = store.products(limit=8)
    nodes = ", ".join(f"{n} {label}" for label, n in sorted(stats.nodes.items()))
    console.print(f"[bold]graph[/] {stats.location} ({stats.store}): {nodes}")
    console.print(f"index: {agent.config.index.path}")
    for product in top:
        console.print(
            f"  {product.name or product.id}: {product.mentions} mentions, "
            f"{product.opinions} opinions in {product.documents} documents"
        )
