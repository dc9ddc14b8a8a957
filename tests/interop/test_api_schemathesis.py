"""The HTTP API against its own OpenAPI document, fuzzed by Schemathesis (an independent client).

`facevault demo` builds a demo vault and serves it on a free local port. The test logs in as the
demo privacy officer (password and one-time code), issues an API token for every purpose of the
catalogue, and runs the `schemathesis` CLI on /openapi.json with that bearer token (a token,
unlike a session, cannot be logged out or revoked by the requests Schemathesis sends: tokens
cannot manage tokens). Every operation of the document is tested, none excluded: valid and
invalid inputs (examples, coverage and fuzzing phases) and, where the document has or
Schemathesis infers links between operations, sequences of calls (the stateful phase). Each
response must:
- not be a server error (5xx);
- have a status code the document lists for the operation;
- have the documented content type;
- match the documented response schema.
The test fails with Schemathesis' report (each failure with a curl command reproducing it).

Path ids are drawn half the time from the demo vault's real subjects, scans, derivatives and
requests (Schemathesis dictionaries), so the data paths behind them are fuzzed too, not only
the 404 of an unknown id.

The same demo server first answers the `curl` commands `facevault demo` prints, run as printed:
they log in with a printed login and list the sample subjects.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

FACEVAULT = os.environ.get("FACEVAULT_BIN")
# Building the demo vault takes 20-60 s with a release binary; slow CI machines get more.
STARTUP_SECS = 240
# Test cases per operation and phase; the whole run is bounded by RUN_SECS besides.
MAX_EXAMPLES = 25
STATEFUL_EXAMPLES = 100
STATEFUL_STEPS = 20
RUN_SECS = 900
READY_LINE = "Ctrl-C stops the server."
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)

pytestmark = pytest.mark.skipif(
    FACEVAULT is None, reason="FACEVAULT_BIN is not set (the release binary to serve the demo vault)"
)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, headers=None):
    """(status, headers, parsed JSON body or None) of one request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            raw = res.read()
            return res.status, res.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers, raw.decode(errors="replace")


def healthy(base):
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as res:
            return res.status == 200
    except OSError:
        return False


class Server:
    """`facevault demo` in the background; its output is kept for the failure message."""

    def __init__(self, directory, port):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("FACEVAULT_KEK", "FACEVAULT_DIR", "FACEVAULT_PASSPHRASE")
        }
        self.output = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [FACEVAULT, "demo", "--dir", str(directory), "--vertices", "3000", "--listen", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            if READY_LINE in line:
                self.ready.set()

    def wait(self, base):
        deadline = time.monotonic() + STARTUP_SECS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.reader.join(5)
                pytest.fail(f"facevault demo exited with {self.proc.returncode}:\n{self.log()}")
            if self.ready.wait(1) or healthy(base):
                if healthy(base):
                    return
        pytest.fail(f"facevault demo did not serve within {STARTUP_SECS} s:\n{self.log()}")

    def log(self):
        return "".join(self.output)[-20000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self.reader.join(5)


def login_line(directory, role):
    text = (Path(directory) / "demo-logins.txt").read_text()
    m = re.search(rf"^\s*{role}\s+password\s+(\S+)\s+TOTP secret\s+([A-Z2-7=]+)\s*$", text, re.M)
    assert m, f"no {role} login with a TOTP secret in demo-logins.txt"
    return m.group(1), m.group(2)


def otp(secret):
    proc = subprocess.run([FACEVAULT, "otp"], input=secret + "\n", capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    code = proc.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), code
    return code


def api_token(base, directory):
    """An API token of the privacy officer's role for every purpose of the catalogue."""
    password, secret = login_line(directory, "privacy_officer")
    status, headers, body = request(
        "POST",
        f"{base}/api/login",
        {"username": "privacy_officer", "password": password, "totp": otp(secret)},
    )
    assert status == 200, (status, body)
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith("fv_session="), cookie
    session = {"Cookie": cookie}
    status, _, purposes = request("GET", f"{base}/api/purposes", headers=session)
    assert status == 200 and purposes, (status, purposes)
    status, _, issued = request(
        "POST",
        f"{base}/api/tokens",
        {
            "name": "schemathesis",
            "role": "privacy_officer",
            "purposes": [p["id"] for p in purposes],
            "expires_in_days": 1,
        },
        headers={**session, "X-CSRF-Token": body["csrf_token"]},
    )
    assert status == 201, (status, issued)
    assert issued["token"].startswith("fvt_"), "not an API token"
    status, _, me = request("GET", f"{base}/api/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert status == 200 and me["via"] == "token", (status, me)
    return issued["token"]


@pytest.fixture(scope="module")
def demo():
    """`facevault demo` serving on a free port: (base URL, its folder, the server)."""
    directory = Path(tempfile.mkdtemp(prefix="facevault-schemathesis-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(directory, port)
    try:
        server.wait(base)
        yield base, directory, server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def printed_curls(output):
    """The `curl` commands the demo prints under "Try:", joined where a line ends in a backslash."""
    lines = output[output.rindex("\nTry:") :].splitlines()[2:]
    commands, current = [], ""
    for line in lines:
        line = line.strip()
        if not line:
            break
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(current)
            current = ""
    return [c for c in commands if c.startswith("curl ")]


def test_the_demos_printed_curl_lists_the_sample_subjects(demo):
    base, _, server = demo
    assert shutil.which("curl"), "curl is missing"
    assert server.ready.wait(30), server.log()
    output = server.log()
    assert f"FaceVault demo server: {base}" in output, output
    curls = printed_curls(output)
    assert len(curls) == 2, curls
    login, subjects = curls
    assert "/api/login" in login and subjects.endswith("/api/subjects"), curls
    try:
        done = subprocess.run(["bash", "-c", login], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["role"] == "surgeon", done.stdout
        done = subprocess.run(["bash", "-c", subjects], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        listed = json.loads(done.stdout)
    finally:
        Path("/tmp/facevault.cookies").unlink(missing_ok=True)
    # The three sample patients, by pseudonymous id only, with their scans.
    assert len(listed) == 3, listed
    assert all(re.fullmatch(r"[0-9a-f]{32}", s["id"]) for s in listed), listed
    assert sorted(s["scans"] for s in listed) == [1, 1, 2], listed
    assert not any("Demo Patient" in json.dumps(s) for s in listed), "a name in a listing"


def real_ids(base, token):
    """Ids of the demo vault's objects: subjects, scans, derivatives and requests."""
    auth = {"Authorization": f"Bearer {token}"}
    status, _, subjects = request("GET", f"{base}/api/subjects", headers=auth)
    assert status == 200, (status, subjects)
    ids = {"subjects": [s["id"] for s in subjects], "scans": [], "derivatives": []}
    for subject in ids["subjects"]:
        status, _, record = request("GET", f"{base}/api/subjects/{subject}", headers=auth)
        assert status == 200, (status, record)
        ids["scans"] += [x["id"] for x in record["scans"]]
        ids["derivatives"] += [x["id"] for x in record["derivatives"]]
    status, _, requests = request("GET", f"{base}/api/requests", headers=auth)
    assert status == 200, (status, requests)
    ids["requests"] = [r["id"] for r in requests]
    assert all(ids.values()), ids
    return ids


# Which dictionary each path's `{id}` draws from (half the time; else Schemathesis' own).
ID_PATHS = {
    "subjects": r"^/api/subjects/\{id\}",
    "scans": r"^/api/scans/\{id\}",
    "derivatives": r"^/api/derivatives/\{id\}",
    "requests": r"^/api/requests/\{id\}",
}


def config_with_ids(directory, ids):
    """A schemathesis.toml binding the path ids to the demo vault's real ones."""
    # Cases per operation and phase; the stateful phase (sequences along the document's links)
    # gets more, and longer sequences.
    text = [
        f"generation.max-examples = {MAX_EXAMPLES}\n",
        f"[phases.stateful]\nmax-steps = {STATEFUL_STEPS}\n",
        f"[phases.stateful.generation]\nmax-examples = {STATEFUL_EXAMPLES}\n",
    ]
    for name, values in ids.items():
        text.append(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n")
    for name, regex in ID_PATHS.items():
        text.append(
            f"[[operations]]\ninclude-path-regex = {json.dumps(regex)}\n"
            f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.5 }} }}\n'
        )
    # Lineage takes a scan or a derivative.
    text.append(
        '[[operations]]\ninclude-path = "/api/lineage/{id}"\n'
        'parameters = { "path.id" = { dictionary = "scans", probability = 0.5 } }\n'
    )
    path = Path(directory) / "schemathesis.toml"
    path.write_text("\n".join(text))
    return path


def test_api_conforms_to_its_openapi_document(demo):
    base, directory, server = demo
    schemathesis = Path(sys.executable).with_name("schemathesis")
    assert schemathesis.exists(), f"{schemathesis} is missing: install tests/interop/requirements.txt"
    token = api_token(base, directory)
    config = config_with_ids(directory, real_ids(base, token))
    command = [
        str(schemathesis),
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        # One worker: CPython 3.11 before 3.11.8 can fail `ast.parse` when two threads run it
        # at once ("AST constructor recursion depth mismatch", gh-106905), which Hypothesis
        # does while describing the strategies of the coverage phase.
        "--workers",
        "1",
        # Every distinct failure of an operation, not only its first one.
        "--continue-on-failure",
        "--request-timeout",
        "30",
        "--wait-for-schema",
        "30",
        "--generation-database",
        "none",
        # A fixed seed: CI reruns the same cases (change it to explore others).
        "--seed",
        "20261123",
        "--no-color",
        "--output-truncate",
        "false",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        report, _ = proc.communicate(timeout=RUN_SECS)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            report, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            report, _ = proc.communicate()
        pytest.fail(f"schemathesis ran over {RUN_SECS} s:\n{report}")
    took = time.monotonic() - started
    if proc.returncode != 0:
        pytest.fail(
            f"schemathesis exited with {proc.returncode} after {took:.0f} s:\n{report}\n\n"
            f"facevault demo:\n{server.log()}",
            pytrace=False,
        )
    # Shown with `pytest -s`: what was run, for the record.
    print(report)
    print(f"schemathesis took {took:.0f} s")
    # A run that tested nothing must not pass.
    assert re.search(r"\b[1-9]\d* passed\b", report), report
    assert healthy(base), "the server no longer answers after the run"
