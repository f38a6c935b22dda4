"""Config loading: defaults < TOML < MINIAWS_* env < overrides; the shipped example loads."""
from __future__ import annotations

from pathlib import Path

import pytest

from miniaws.cli import build_config, parse_args
from miniaws.config import Config, ConfigError, Credential, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_example_loads_with_every_setting() -> None:
    config = load_config(ROOT / "conf" / "miniaws.toml", env={})
    defaults = Config()
    # the example documents the defaults; only the sample credential differs
    assert config.replace(credentials=()) == defaults
    assert config.credentials == (Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),)
    text = (ROOT / "conf" / "miniaws.toml").read_text()
    for name in Config.__dataclass_fields__:
        assert name in text, f"conf/miniaws.toml does not document {name}"


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text('[miniaws]\nport = 1111\nregion = "eu-west-1"\nlog_level = "debug"\n')
    env = {"MINIAWS_PORT": "2222", "MINIAWS_EPHEMERAL": "true"}
    config = load_config(file, env=env, overrides={"port": 3333})
    assert (config.port, config.region, config.log_level, config.ephemeral) == (3333, "eu-west-1", "debug", True)
    assert load_config(file, env=env).port == 2222
    assert load_config(file, env={}).port == 1111


def test_cli_flags_map_to_config() -> None:
    args = parse_args(["--port", "0", "--ephemeral", "--auth", "enforce", "--credentials", "A:B,C:D",
                       "--account-id", "123456789012", "--host", "127.0.0.2"])
    config = build_config(args)
    assert config.port == 0 and config.ephemeral and config.auth == "enforce"
    assert config.credentials == (Credential("A", "B"), Credential("C", "D"))
    assert config.account_id == "123456789012" and config.host == "127.0.0.2"


@pytest.mark.parametrize("env", [
    {"MINIAWS_PORT": "http"}, {"MINIAWS_PORT": "70000"}, {"MINIAWS_AUTH": "maybe"},
    {"MINIAWS_ACCOUNT_ID": "12"}, {"MINIAWS_CREDENTIALS": "no-colon"}, {"MINIAWS_TIME_SCALE": "0"},
    {"MINIAWS_DURABILITY": "sometimes"},
])
def test_bad_values_name_their_source(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(env=env)
    assert next(iter(env)) in str(err.value)


def test_durability_from_flag_and_environment() -> None:
    assert Config().durability == "fsync"
    assert build_config(parse_args(["--durability", "process"])).durability == "process"
    assert load_config(env={"MINIAWS_DURABILITY": "process"}).durability == "process"


def test_unknown_setting_in_file(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text("[miniaws]\nprot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(file, env={})


def test_secure_default_host() -> None:
    assert Config().host == "127.0.0.1"


def test_a_failed_start_leaves_garbage_collection_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """main() turns cyclic GC off for start-up; every way out must turn it back on (tests call main in-process)."""
    import gc

    from miniaws.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    assert gc.isenabled()
    assert main(["--config", str(bad)]) == 2
    assert gc.isenabled()
    assert "no_such_setting" in capsys.readouterr().err
