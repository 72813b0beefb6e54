"""``valiqor serve --monitor``: MonitorConfig's fields as flags, VALIQOR_MONITOR_* for the rest."""

from __future__ import annotations

import pytest

from valiqor_trace import MonitorConfig
from valiqor_trace.analyzer.cli._serve import monitor_config
from valiqor_trace.cli import build_cli, main


def _monitor(argv: list[str], environ: dict[str, str]) -> MonitorConfig | None:
    return monitor_config(build_cli().parser.parse_args(["serve", *argv]), environ)


def test_flags_set_fields_and_the_environment_fills_the_others() -> None:
    env = {"VALIQOR_MONITOR_WEBHOOK_URL": "https://hooks.example.com/T0/secret", "VALIQOR_MONITOR_SAMPLE_RATE": "0.9",
           "VALIQOR_MONITOR_ALERT_COOLDOWN_S": "60"}
    config = _monitor(["--monitor-sample-rate", "0.25", "--no-monitor-always-on-error", "--monitor-grace-period-s",
                       "2", "--monitor-span-names", "chat *,execute_tool *", "--monitor-max-per-minute", "none"], env)
    assert config is not None
    assert (config.sample_rate, config.always_on_error, config.grace_period_s) == (0.25, False, 2.0)
    assert config.span_names == ("chat *", "execute_tool *") and config.max_per_minute is None
    assert config.webhook_url == "https://hooks.example.com/T0/secret" and config.alert_cooldown_s == 60.0


def test_monitoring_is_off_unless_asked_for() -> None:
    assert _monitor([], {}) is None
    assert _monitor([], {"VALIQOR_MONITOR_SAMPLE_RATE": "0.5"}) is None
    assert _monitor([], {"VALIQOR_MONITOR": "1"}) == MonitorConfig()
    assert _monitor(["--monitor"], {}) == MonitorConfig()
    assert _monitor(["--monitor-judge"], {}) == MonitorConfig(judge=True)


def test_the_webhook_url_is_no_flag() -> None:  # a command line is visible to every user in `ps`
    with pytest.raises(SystemExit):
        build_cli().parser.parse_args(["serve", "--monitor-webhook-url", "https://hooks.example.com/x"])


def test_a_bad_value_names_the_field_and_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "1", "--monitor-sample-rate", "2"]) == 1
    err = capsys.readouterr().err
    assert "MonitorConfig(sample_rate=2.0)" in err and "VALIQOR_MONITOR_" in err
