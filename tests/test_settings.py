"""The settings stay documented: every field has a description and a row in the README."""

from __future__ import annotations

from pathlib import Path

from studychat.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_has_a_description_and_a_readme_row() -> None:
    undocumented = [
        name
        for name, field in Settings.model_fields.items()
        if not field.description or f"`STUDYCHAT_{name.upper()}`" not in README
    ]
    assert not undocumented, f"document these settings in README.md: {undocumented}"


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("STUDYCHAT_PORT", "8123")
    monkeypatch.setenv("STUDYCHAT_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.port == 8123
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_changes_need_a_token_off_loopback() -> None:
    assert Settings(host="127.0.0.1").changes_allowed_without_token
    assert not Settings(host="0.0.0.0").changes_allowed_without_token
    assert not Settings(host="127.0.0.1", admin_token="secret").changes_allowed_without_token
