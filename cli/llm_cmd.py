"""`distill llm ping`: one real round-trip to the configured model, with latency and speed."""

from __future__ import annotations

import time

import typer

from distill.cli.state import State

app = typer.Typer(help="Talk to the configured LLM.", no_args_is_help=True)

PING_PROMPT = "Reply with one short sentence confirming you are ready."


@app.command("ping")
def ping(
    ctx: typer.Context,
    prompt: str = typer.Option(PING_PROMPT, help="what to send"),
) -> None:
    """Send one prompt, bypassing the response cache; print reply, latency and tokens/second."""
    from rich.markup import escape

    from distill.cli import console
    from distill.llm import chat_model, explain

    state: State = ctx.obj
    config = state.config.llm.model_copy(update={"cache": False})
    started = time.perf_counter()
    model = chat_model(config)
    if hasattr(model, "llama"):
        model.llama()  # load the local model now, so its time is not counted as latency
    loaded = time.perf_counter()
    try:
        reply = model.invoke(prompt)
    except Exception as exc:
        raise explain(exc, config) from exc
    latency = time.perf_counter() - loaded
    usage = reply.usage_metadata or {}
    tokens = usage.get("output_tokens", 0)
    name = getattr(model, "_identifying_params", {}).get("model", config.model)
    console.print(f"[bold]{config.provider}[/] {escape(str(name))}")
    if config.provider == "local":
        from distill.llm.runtime import active_variant, build_info

        flags = build_info()["flags"]
        console.print(f"llama.cpp CPU variant: {active_variant()}; built with {flags}")
    console.print(f"reply: {escape(reply.text.strip())}", highlight=False)
    console.print(
        f"load {loaded - started:.2f} s · latency {latency:.2f} s · "
        f"{tokens} tokens · {tokens / latency if latency else 0:.1f} tokens/s"
    )
