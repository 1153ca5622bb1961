import pytest

from qtc_connections.auth import ApiKeyAuth, OAuthClientCredentials
from qtc_connections.errors import ConfigError, SecretReferenceError
from qtc_connections.settings import load_settings

CANARY = "CANARY-token-5d1c77"


def _write_profiles(tmp_path, text):
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return path


def test_flags_win_over_environment(tmp_path):
    settings = load_settings(
        flags={"hostname": "flag.eu.qlikcloud.com"},
        environ={"QTC_HOSTNAME": "env.eu.qlikcloud.com"},
        profile_path=tmp_path / "none.toml",
    )
    assert settings.hostname == "flag.eu.qlikcloud.com"
    assert settings.sources["hostname"] == "flag"


def test_environment_wins_over_profile(tmp_path):
    path = _write_profiles(
        tmp_path,
        '[profiles.default]\nhostname = "profile.eu.qlikcloud.com"\nspace = "P"\n',
    )
    settings = load_settings(
        environ={"QTC_HOSTNAME": "env.eu.qlikcloud.com"}, profile_path=path
    )
    assert settings.hostname == "env.eu.qlikcloud.com"
    assert settings.space == "P"
    assert settings.sources["space"] == "profile default"


def test_named_profile_selected_by_environment(tmp_path):
    path = _write_profiles(
        tmp_path,
        '[profiles.default]\nhostname = "a.eu.qlikcloud.com"\n'
        '[profiles.prod]\nhostname = "b.eu.qlikcloud.com"\ngateway_id = "gw-1"\n',
    )
    settings = load_settings(environ={"QTC_PROFILE": "prod"}, profile_path=path)
    assert settings.hostname == "b.eu.qlikcloud.com"
    assert settings.gateway_id == "gw-1"
    assert settings.profile == "prod"


def test_profile_token_reference_resolved(tmp_path):
    path = _write_profiles(tmp_path, '[profiles.default]\ntoken = "env:MY_KEY"\n')
    settings = load_settings(environ={"MY_KEY": CANARY}, profile_path=path)
    assert settings.token is not None
    assert settings.token.reveal() == CANARY
    assert CANARY not in repr(settings)


def test_profile_literal_token_rejected(tmp_path):
    path = _write_profiles(tmp_path, f'[profiles.default]\ntoken = "{CANARY}"\n')
    with pytest.raises(SecretReferenceError) as caught:
        load_settings(environ={}, profile_path=path)
    assert CANARY not in str(caught.value)
    assert "env:NAME" in str(caught.value)


def test_flag_literal_token_rejected(tmp_path):
    with pytest.raises(SecretReferenceError) as caught:
        load_settings(
            flags={"token": CANARY}, environ={}, profile_path=tmp_path / "x.toml"
        )
    assert CANARY not in str(caught.value)
    assert "--token" in str(caught.value)


def test_flag_token_from_file(tmp_path):
    key = tmp_path / "key"
    key.write_text(CANARY + "\n")
    settings = load_settings(
        flags={"token": f"file:{key}"}, environ={}, profile_path=tmp_path / "x.toml"
    )
    assert settings.token is not None
    assert settings.token.reveal() == CANARY


def test_unknown_profile_names_known_ones(tmp_path):
    path = _write_profiles(
        tmp_path, '[profiles.dev]\nhostname = "a.eu.qlikcloud.com"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(profile="prod", environ={}, profile_path=path)
    assert "known profiles: dev" in str(caught.value)


def test_unknown_profile_key_rejected(tmp_path):
    path = _write_profiles(tmp_path, '[profiles.default]\nhost = "a"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, profile_path=path)
    assert "unknown keys host" in str(caught.value)


def test_invalid_toml_names_file(tmp_path):
    path = _write_profiles(tmp_path, "[profiles.default\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={}, profile_path=path)
    assert str(path) in str(caught.value)


def test_missing_profile_file_with_named_profile(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(profile="prod", environ={}, profile_path=tmp_path / "absent.toml")
    assert "does not exist" in str(caught.value)


def test_client_needs_credentials(tmp_path):
    settings = load_settings(
        environ={"QTC_HOSTNAME": "a.eu.qlikcloud.com"}, profile_path=tmp_path / "x.toml"
    )
    with pytest.raises(ConfigError) as caught:
        settings.client()
    assert "QTC_TOKEN" in str(caught.value)


def test_client_needs_hostname(tmp_path):
    settings = load_settings(
        environ={"QTC_TOKEN": CANARY}, profile_path=tmp_path / "x.toml"
    )
    with pytest.raises(ConfigError) as caught:
        settings.client()
    assert "QTC_HOSTNAME" in str(caught.value)


def test_client_half_oauth_rejected(tmp_path):
    settings = load_settings(
        environ={"QTC_HOSTNAME": "a.eu.qlikcloud.com", "QTC_CLIENT_ID": "abc"},
        profile_path=tmp_path / "x.toml",
    )
    with pytest.raises(ConfigError) as caught:
        settings.client()
    assert "QTC_CLIENT_SECRET" in str(caught.value)


def test_api_key_preferred_over_oauth(tmp_path):
    settings = load_settings(
        environ={
            "QTC_HOSTNAME": "a.eu.qlikcloud.com",
            "QTC_TOKEN": CANARY,
            "QTC_CLIENT_ID": "abc",
            "QTC_CLIENT_SECRET": "s3cret-value",
        },
        profile_path=tmp_path / "x.toml",
    )
    with settings.client() as client:
        assert isinstance(client._http.auth, ApiKeyAuth)


def test_oauth_used_without_api_key(tmp_path):
    settings = load_settings(
        environ={
            "QTC_HOSTNAME": "a.eu.qlikcloud.com",
            "QTC_CLIENT_ID": "abc",
            "QTC_CLIENT_SECRET": "s3cret-value",
        },
        profile_path=tmp_path / "x.toml",
    )
    with settings.client() as client:
        assert isinstance(client._http.auth, OAuthClientCredentials)


def test_environment_token_file_reference(tmp_path):
    key = tmp_path / "key"
    key.write_text(CANARY + "\n")
    settings = load_settings(
        environ={"QTC_TOKEN": f"file:{key}"}, profile_path=tmp_path / "x.toml"
    )
    assert settings.token is not None
    assert settings.token.reveal() == CANARY


def test_environment_secret_env_reference(tmp_path):
    settings = load_settings(
        environ={"QTC_CLIENT_SECRET": "env:OTHER", "OTHER": CANARY},
        profile_path=tmp_path / "x.toml",
    )
    assert settings.client_secret is not None
    assert settings.client_secret.reveal() == CANARY


@pytest.mark.parametrize(
    "key", ["short\nCANARYTOKH", "CANARY\\tok\x01en", "CANARY-tök-en"]
)
def test_api_key_with_control_characters_rejected(tmp_path, key):
    settings = load_settings(
        environ={"QTC_HOSTNAME": "a.eu.qlikcloud.com", "QTC_TOKEN": key},
        profile_path=tmp_path / "x.toml",
    )
    with pytest.raises(ConfigError) as caught:
        settings.client()
    assert "CANARY" not in str(caught.value)
    assert "control or non-ASCII character" in str(caught.value)
