import os
import stat

import pytest

from survey_node import config as config_mod
from survey_node.errors import ConfigError


def test_defaults_when_no_file(tmp_path):
    cfg = config_mod.load(tmp_path)
    assert cfg.web.port == 8080
    assert cfg.web.default_language == "th"


def test_file_values_are_read(tmp_path):
    (tmp_path / "config.toml").write_text('[web]\nport = 9001\n[node]\nname = "North"\n')
    cfg = config_mod.load(tmp_path)
    assert cfg.web.port == 9001 and cfg.node.name == "North"


def test_unknown_key_is_an_error_naming_it(tmp_path):
    (tmp_path / "config.toml").write_text("[web]\nprot = 9001\n")
    with pytest.raises(ConfigError, match=r"web\.prot"):
        config_mod.load(tmp_path)


def test_unknown_section_is_an_error_naming_it(tmp_path):
    (tmp_path / "config.toml").write_text("[wbe]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"\[wbe\]"):
        config_mod.load(tmp_path)


def test_wrong_type_is_an_error(tmp_path):
    (tmp_path / "config.toml").write_text('[web]\nport = "eighty"\n')
    with pytest.raises(ConfigError, match=r"web\.port"):
        config_mod.load(tmp_path)


def test_env_overrides_file_and_is_coerced(tmp_path):
    (tmp_path / "config.toml").write_text("[web]\nport = 9001\n")
    cfg = config_mod.load(tmp_path, env={"SURVEY_NODE_WEB__PORT": "9100",
                                         "SURVEY_NODE_WEB__SECURE_COOKIES": "true"})
    assert cfg.web.port == 9100 and cfg.web.secure_cookies is True


def test_env_with_unknown_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"web\.nope"):
        config_mod.load(tmp_path, env={"SURVEY_NODE_WEB__NOPE": "1"})


def test_choice_is_enforced(tmp_path):
    with pytest.raises(ConfigError, match="default_language"):
        config_mod.load(tmp_path, env={"SURVEY_NODE_WEB__DEFAULT_LANGUAGE": "fr"})


def test_every_setting_has_help_text():
    for section, cls in config_mod.sections().items():
        for field in config_mod.dataclasses.fields(cls):
            assert field.metadata.get("help", "").strip(), f"{section}.{field.name} has no help"


def test_secrets_are_0600_and_credentials_directory_wins(tmp_path, monkeypatch):
    cfg = config_mod.load(tmp_path)
    made = config_mod.ensure_secrets(cfg)
    assert set(made) == set(config_mod.SECRET_NAMES)
    for name in made:
        mode = stat.S_IMODE(os.stat(cfg.secrets_dir / name).st_mode)
        assert mode == 0o600
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "registry_token").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert cfg.secret("registry_token") == "from-systemd"
    assert cfg.secret("flask_secret_key") != "from-systemd"


def test_missing_data_dir_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("SURVEY_NODE_DATA", raising=False)
    with pytest.raises(ConfigError, match="--data-dir"):
        config_mod.load(None)
