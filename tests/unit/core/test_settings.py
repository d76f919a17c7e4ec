"""Settings are one typed structure (cattrs): environment strings and TOML values become typed
fields, and every bad or unknown value is named with the place it came from."""

from __future__ import annotations

import pytest

from dealercrm.config import Settings, SettingsError, load_settings, secret_problems
from dealercrm.entrypoints.cli import main


def test_environment_strings_become_typed_fields():
    env = {"DEALERCRM_PORT": "9100", "DEALERCRM_LOG_JSON": "off", "DEALERCRM_PRINCIPAL_CACHE_SECONDS": "2.5",
           "DEALERCRM_CORS_ORIGINS": "https://a.example, https://b.example", "DEALERCRM_SQLITE_SYNCHRONOUS": "normal"}

    settings = load_settings(env)

    assert settings.port == 9100
    assert settings.log_json is False
    assert settings.principal_cache_seconds == 2.5
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.sqlite_synchronous == "NORMAL"


def test_an_empty_variable_counts_as_unset():
    settings = load_settings({"DEALERCRM_PORT": "", "DEALERCRM_SMS_SIGN_NAME": ""})

    assert settings.port == Settings().port
    assert settings.sms_sign_name == "dealercrm"


def test_the_file_is_read_and_the_environment_and_code_win_over_it(tmp_path):
    file = tmp_path / "crm.toml"
    file.write_text('port = 9200\nsms_sign_name = "某某专用车"\nlog_level = "WARNING"\n'
                    'gate_verification_keys = ["old.pub", "older.pub"]\n', encoding="utf-8")

    settings = load_settings({"DEALERCRM_CONFIG_FILE": str(file), "DEALERCRM_LOG_LEVEL": "ERROR"}, port=9300)

    assert settings.sms_sign_name == "某某专用车"
    assert settings.gate_verification_keys == ("old.pub", "older.pub")
    assert settings.log_level == "ERROR"
    assert settings.port == 9300


def test_the_file_may_hold_its_settings_under_a_dealercrm_table(tmp_path):
    file = tmp_path / "crm.toml"
    file.write_text('[dealercrm]\nsmtp_host = "mail.example.com"\nsmtp_port = 465\nsmtp_security = "ssl"\n',
                    encoding="utf-8")

    settings = load_settings({}, config_file=file)

    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("mail.example.com", 465, "ssl")


def test_every_bad_value_is_reported_at_once_naming_its_variable():
    env = {"DEALERCRM_PORT": "eighty", "DEALERCRM_SMTP_SECURITY": "tls", "DEALERCRM_LOG_JSON": "maybe",
           "DEALERCRM_TOKEN_TTL_MINUTES": "1.5"}

    with pytest.raises(SettingsError) as refused:
        load_settings(env)

    problems = dict(refused.value.problems)
    assert set(problems) == {"DEALERCRM_PORT", "DEALERCRM_SMTP_SECURITY", "DEALERCRM_LOG_JSON",
                             "DEALERCRM_TOKEN_TTL_MINUTES"}
    assert problems["DEALERCRM_SMTP_SECURITY"] == "expected one of starttls, ssl, none, got 'tls'"
    assert "DEALERCRM_PORT: expected a whole number, got 'eighty'" in str(refused.value)


def test_a_value_out_of_range_names_its_setting_and_the_range():
    with pytest.raises(SettingsError) as refused:
        load_settings({"DEALERCRM_FORECAST_DEADLINE_DAY": "30"})

    assert refused.value.problems == [("DEALERCRM_FORECAST_DEADLINE_DAY", "must be 1–28, got 30")]


def test_a_bad_value_in_the_file_names_the_file_and_the_key(tmp_path):
    file = tmp_path / "crm.toml"
    file.write_text('smtp_port = "twenty-five"\nsmtp_hots = "mail"\n', encoding="utf-8")

    with pytest.raises(SettingsError) as refused:
        load_settings({}, config_file=file)

    assert refused.value.problems == [("crm.toml: smtp_hots", "unknown setting")]


def test_a_wrongly_typed_file_value_names_the_file_and_the_key(tmp_path):
    file = tmp_path / "crm.toml"
    file.write_text("log_json = 3\n", encoding="utf-8")

    with pytest.raises(SettingsError) as refused:
        load_settings({}, config_file=file)

    assert refused.value.problems == [("crm.toml: log_json", "expected true/false (1/0, yes/no, on/off), got 3")]


def test_an_unknown_override_from_code_is_refused():
    with pytest.raises(SettingsError) as refused:
        load_settings({}, databse_url="sqlite://")

    assert refused.value.problems == [("databse_url=", "unknown setting")]


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError) as refused:
        load_settings({"DEALERCRM_CONFIG_FILE": str(tmp_path / "nope.toml")})

    assert refused.value.problems[0][0] == "DEALERCRM_CONFIG_FILE"
    assert "nope.toml" in refused.value.problems[0][1]


def test_each_setting_is_defined_once_and_readable_from_the_environment():
    for name in ("sms_sign_name", "forecast_deadline_day", "kiosk_event_retention_days"):
        env = {f"DEALERCRM_{name.upper()}": "7"}

        settings = load_settings(env)

        assert str(getattr(settings, name)) == "7"


def test_the_command_line_names_each_bad_setting_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("DEALERCRM_PORT", "eighty")
    monkeypatch.setenv("DEALERCRM_LOG_JSON", "maybe")

    code = main(["db", "current"])

    err = capsys.readouterr().err
    assert code == 2
    assert "DEALERCRM_PORT: expected a whole number, got 'eighty'" in err
    assert "DEALERCRM_LOG_JSON: expected true/false" in err


def test_unset_secrets_are_generated_once_per_settings_and_reported():
    settings = load_settings({"DEALERCRM_SESSION_SECRET": "s" * 40})

    assert len(settings.jwt_secret) >= 32
    assert settings.generated_secrets == ("jwt_secret",)
    assert secret_problems(settings)[0][0] == "DEALERCRM_JWT_SECRET"
    assert "DEALERCRM_SESSION_SECRET" not in dict(secret_problems(settings))


def test_generated_secrets_is_not_a_setting():
    with pytest.raises(SettingsError):
        load_settings({}, generated_secrets=())


def test_the_metrics_folder_comes_from_the_variable_prometheus_client_reads():
    settings = load_settings({"PROMETHEUS_MULTIPROC_DIR": "/run/dealercrm-metrics",
                              "DEALERCRM_PROMETHEUS_MULTIPROC_DIR": "/elsewhere"})

    assert settings.prometheus_multiproc_dir == "/run/dealercrm-metrics"
