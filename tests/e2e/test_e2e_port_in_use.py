"""`tim serve` on a port another program holds: exit status 2 and one line
saying so, whether the port is taken before tim starts or while it starts."""

import os
import socket
import subprocess
import time

from e2e.http_servers import TIM, clean_environment, free_port

IN_USE_STATUS = 2


def occupy(port: int) -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    return holder


def assert_one_line_about(result_stderr: str, port: int) -> None:
    assert len(result_stderr.splitlines()) == 1, result_stderr
    assert result_stderr.startswith("tim: ") and f"port {port}" in result_stderr and "in use" in result_stderr


def test_a_port_in_use_is_one_line_and_status_2(tmp_path):
    port = free_port()
    with occupy(port):
        result = subprocess.run(
            [TIM, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == IN_USE_STATUS, result
    assert result.stdout == ""
    assert_one_line_about(result.stderr, port)


def test_a_port_taken_while_tim_starts_is_one_line_and_status_2(tmp_path):
    # The access log is a FIFO: tim's startup waits on it (opening it for
    # appending) after its own check of the port and before uvicorn binds,
    # so the port can be taken exactly in between.
    fifo = tmp_path / "access.log"
    os.mkfifo(fifo)
    port = free_port()
    command = [TIM, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(
        command,
        env=clean_environment({"TIM_ACCESS_LOG": str(fifo)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with occupy(port):
            with open(fifo, "rb"):  # lets tim's startup go on, to a port now taken
                stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    # uvicorn has logged its startup by then; the failure itself is tim's one line.
    assert process.returncode == IN_USE_STATUS, (stdout, stderr)
    assert "Traceback" not in stderr and "address already in use" not in stderr.lower(), stderr
    assert_one_line_about(stderr.splitlines()[-1] + "\n", port)
