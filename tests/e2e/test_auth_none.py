"""TIM_AUTH=none (the default) end to end: every caller is the default user
with every scope, credentials are not looked at, and `tim serve` refuses
to listen beyond the loopback interface unless told --insecure. Also the
text access log."""

import re

import httpx
import pytest

from e2e.auth_checks import READ_ROUTES, WRITE_ROUTES, assert_let_through, call, raw_get, run_tim
from e2e.http_servers import Servers, free_port, json_of
from tim.entrypoints import configuration

# 192.0.2.0/24 is TEST-NET-1: assigned to no machine, so a server told to
# listen there passes the configuration checks and then fails to bind, and
# nothing is ever exposed.
UNASSIGNED = "192.0.2.1"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", UNASSIGNED, "tim.example.com"])
def test_serve_refuses_a_non_loopback_host_without_authentication(tmp_path, host):
    result = run_tim(["serve", "--host", host, "--data-dir", str(tmp_path / "data")], {}, tmp_path)
    assert result.returncode == 2, result
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert "TIM_AUTH=none" in result.stderr and "--insecure" in result.stderr and host in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


@pytest.mark.parametrize("args, env", [(["--insecure"], {}), ([], {"TIM_AUTH": "tokens"})])
def test_insecure_or_authentication_lets_it_listen_anywhere(tmp_path, args, env):
    command = ["serve", "--host", UNASSIGNED, "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), *args]
    result = run_tim(command, env, tmp_path)
    assert "TIM_AUTH=none" not in result.stderr, result.stderr
    assert result.returncode != 0  # the address is nobody's: binding fails, after the check


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts_need_no_flag(tmp_path, host):
    settings = configuration.from_environment({}, host=host, data_dir=str(tmp_path))
    assert configuration.is_loopback(host)
    configuration.refuse_open_network(settings, insecure=False)


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("tim-none")
    servers = Servers()
    server = servers(root / "data", env={"TIM_DEFAULT_USER": "radiology team", "TIM_ACCESS_LOG": str(root / "access.log")})
    yield server, root / "access.log"
    servers.stop_all()


def test_every_caller_is_the_default_user_whatever_it_sends(logged_server):
    server, _ = logged_server
    with server.client() as client:
        for headers in [None, {"Authorization": "Bearer whatever"}, {"Authorization": "Basic abc"}]:
            for method, path, body in READ_ROUTES + WRITE_ROUTES:
                assert_let_through(call(client, method, path, body, headers))
        upload = {"filename": "n.dcm", "image_data": "AAAA"}
        image = json_of(client.post("/upload", json=upload, headers={"Authorization": "Bearer someone-else"}), 201)
        assert image["created_by"] == "radiology team"
    status, body = raw_get(server.port, "/v1/tags", [b"Authorization: Bearer a", b"Authorization: Bearer \xff"])
    assert status == 200 and "results" in body


def test_the_text_access_log(logged_server):
    server, log = logged_server
    with server.client() as client:
        created = json_of(client.post("/images", json={"filename": "t.bin", "size": 1}), 201)
        httpx.put(created["upload_url"], content=b"x")
        client.get(f"/images/{created['id']}?uploaded_only=true")  # a parameter this route has not: 400
        client.get("/nowhere?secret=1")
    lines = log.read_text().splitlines()
    time = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    duration = r"duration_ms=\d+(\.\d)?"
    assert re.fullmatch(
        rf'{time} principal="radiology team" method=POST path=/v1/images status=201 {duration} image_id={created["id"]}',
        lines[-4],
    ), lines[-4]
    assert re.fullmatch(rf"{time} method=PUT path=/v1/blobs/[0-9a-f]{{32}} status=200 {duration} image_id={created['id']}",
                        lines[-3]), lines[-3]
    assert re.fullmatch(
        rf'{time} principal="radiology team" method=GET path=/v1/images/{created["id"]} status=400 {duration} '
        rf'image_id={created["id"]}',
        lines[-2],
    ), lines[-2]
    assert re.fullmatch(rf"{time} method=GET path=/v1/nowhere status=404 {duration}", lines[-1]), lines[-1]
    assert "signature" not in log.read_text() and "secret" not in log.read_text()


def test_a_request_is_logged_by_the_time_its_answer_arrives(logged_server):
    # An audit that reads the log right after an answer (as the tests above do) finds its line.
    server, log = logged_server
    with server.client() as client:
        for n in range(200):
            client.get(f"/nowhere-{n}")
            last = log.read_text().splitlines()[-1]
            assert f"path=/v1/nowhere-{n} status=404 " in last, (n, last)
