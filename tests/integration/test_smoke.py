def test_doctor_passes_on_seeded_tenant(qtc):
    result = qtc("doctor")
    assert result.exit_code == 0, result.output
    assert "fail" not in result.output


def test_client_lists_seeded_sources(client):
    ids = {source.data_source_id for source in client.data_sources.list()}
    assert "reptgt_qdisnowflake" in ids


def test_https_to_emulator_suggests_http(qtc, tenant):
    host = tenant.url.removeprefix("http://")
    result = qtc("sources", "list", env={"QTC_HOSTNAME": host})
    assert result.exit_code == 1
    assert f"use http://{host}" in result.output
