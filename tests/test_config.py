from pathlib import Path

import pytest

from distill.config import Config, load_config
from distill.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "distill.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load_config(environ={})
    assert loaded.config == Config()
    assert loaded.config.llm.provider == "local"
    assert all(source == "default" for _, _, source in loaded.rows())


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[llm]\nprovider = "ollama"\ntemperature = 0.5\n[tasks.ner]\nbackend = "prompt"\n'
    )
    loaded = load_config(
        path,
        environ={"DISTILL_LLM__TEMPERATURE": "0.7", "DISTILL_TASKS__NER__MODEL": "models/ner"},
        overrides=["llm.max_tokens=64"],
        backends=["ner=trained"],
    )
    config = loaded.config
    assert config.llm.provider == "ollama"
    assert config.llm.temperature == 0.7
    assert config.llm.max_tokens == 64
    assert config.task("ner").backend == "trained"
    assert config.task("ner").model == "models/ner"
    assert loaded.source_of("llm.provider") == str(path)
    assert loaded.source_of("llm.temperature") == "env DISTILL_LLM__TEMPERATURE"
    assert loaded.source_of("llm.max_tokens") == "--set llm.max_tokens=64"
    assert loaded.source_of("tasks.ner.backend") == "--backend ner=trained"
    assert loaded.source_of("llm.n_ctx") == "default"


def test_backend_all_sets_every_registered_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(backends=["all=prompt"], environ={}).config
    for task in ("ner", "linker", "sentiment", "factcheck"):
        assert config.task(task).backend == "prompt"


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, '[llm]\nprovidr = "local"\n')
    with pytest.raises(ConfigError, match="unknown key 'llm.providr'.*did you mean 'provider'"):
        load_config(path, environ={})


def test_unknown_key_inside_a_task(tmp_path: Path) -> None:
    path = write(tmp_path, '[tasks.ner]\nbackedn = "prompt"\n')
    with pytest.raises(ConfigError, match="did you mean 'backend'"):
        load_config(path, environ={})


def test_unknown_section_and_env_source_named() -> None:
    with pytest.raises(ConfigError, match="env DISTILL_LMM__PROVIDER.*did you mean 'llm'"):
        load_config(None, environ={"DISTILL_LMM__PROVIDER": "x"})


def test_wrong_type_names_key_and_source(tmp_path: Path) -> None:
    path = write(tmp_path, "[llm]\nmax_tokens = -3\n")
    with pytest.raises(ConfigError, match=r"llm.max_tokens = -3 from .*distill.toml"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [("[llm\nprovider=1", "not valid TOML"), (b"\xff\xfe[llm]", "not valid UTF-8")],
)
def test_malformed_file(tmp_path: Path, text: str | bytes, message: str) -> None:
    path = tmp_path / "distill.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_missing_explicit_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/no/such/distill.toml", environ={})


@pytest.mark.parametrize("flag", ["llm.provider", "=x"])
def test_bad_set_flag(flag: str) -> None:
    with pytest.raises(ConfigError, match="expects KEY=VALUE"):
        load_config(None, overrides=[flag], environ={})


def test_env_values_parse_as_json_or_text() -> None:
    config = load_config(
        None,
        environ={"DISTILL_TASKS__NER__LABELS": '["PER", "ORG"]', "DISTILL_LLM__CACHE": "false"},
    ).config
    assert config.task("ner").labels == ["PER", "ORG"]
    assert config.llm.cache is False


def test_with_task_changes_one_task_and_checks_it() -> None:
    from pydantic import ValidationError

    from distill.config import TaskConfig

    config = Config(tasks={"ner": TaskConfig(backend="trained", labels=["PRODUCT"])})
    changed = config.with_task("ner", labels=["DISH"])
    assert changed.task("ner").labels == ["DISH"] and changed.task("ner").backend == "trained"
    assert config.task("ner").labels == ["PRODUCT"]  # the original is untouched
    assert config.with_task("sentiment", model="m").task("sentiment").model == "m"
    with pytest.raises(ValidationError):
        config.with_task("ner", labels="DISH,INGREDIENT")  # checked like the file's settings
