"""Run the main job end to end against a local emulator.

Starts ``qtc emulator serve`` on a free loopback port, then drives the
``qtc`` command line in the order a Qlik Talend Cloud administrator works.
It checks the token and tenant, lists data sources, reads one data source's
api-specs, creates one connection of each of the 14 catalog kinds, reads one
back with its parsed properties, rotates a password and a key file with
PATCH, lists the connections, and stops the emulator.

Key material is real and made fresh for each run: an encrypted PKCS#8 RSA
key for Snowflake and service-account JSON files with RSA keys for
BigQuery and GCS. Every secret is passed as a reference (``env:NAME`` or
a key file path), and at the end the script checks that no secret value
appeared in anything the commands printed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SPACE = "Data Integration"
GATEWAY_ID = "demo-data-movement-gateway"
STARTUP_TIMEOUT_SECONDS = 20.0
EXAMPLE_MANIFEST = (
    Path(__file__).resolve().parent.parent
    / "examples"
    / "manifest"
    / "connections.yaml"
)


@dataclass
class DemoRun:
    """The emulator process, the environment for qtc, and all printed text."""

    workdir: Path
    env: dict[str, str]
    secret_values: list[str]
    printed: list[str]


def main() -> int:
    """Run the demo; return the process exit code."""
    workdir = Path(tempfile.mkdtemp(prefix="qtc-demo-"))
    emulator: subprocess.Popen[bytes] | None = None
    try:
        run = DemoRun(
            workdir=workdir, env=dict(os.environ), secret_values=[], printed=[]
        )
        emulator = start_emulator(run)
        make_key_material(run)
        drive_cli(run)
        check_no_secret_printed(run)
        return 0
    except subprocess.CalledProcessError as exc:
        print(
            f"demo failed: {' '.join(exc.cmd)} exited {exc.returncode}", file=sys.stderr
        )
        return 1
    finally:
        if emulator is not None:
            stop_emulator(emulator)
        shutil.rmtree(workdir, ignore_errors=True)


def start_emulator(run: DemoRun) -> subprocess.Popen[bytes]:
    """Start the emulator on a free port and point qtc at it."""
    key_file = run.workdir / "api-key"
    ready_file = run.workdir / "ready.json"
    # Relative paths, with the work folder as the current directory, keep
    # machine paths out of what the emulator prints.
    command = [
        qtc_executable(),
        "emulator",
        "serve",
        "--port",
        "0",
        "--key-file",
        key_file.name,
        "--ready-file",
        ready_file.name,
    ]
    heading("Start the local emulator")
    print(f"DEMO_DIR={run.workdir}")
    show_command(command, run)
    process = subprocess.Popen(command, env=run.env, cwd=run.workdir)

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not ready_file.exists():
        if process.poll() is not None:
            raise SystemExit(
                f"the emulator exited early with code {process.returncode}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit("the emulator did not start within 20 seconds")
        time.sleep(0.1)

    url = json.loads(ready_file.read_text())["url"]
    api_key = key_file.read_text().strip()
    run.secret_values.append(api_key)
    run.env.update(
        {
            # Keep the demo's secret fingerprint key out of the user's data folder.
            "QTC_FINGERPRINT_KEY_FILE": str(run.workdir / "fingerprint.key"),
            "QTC_HOSTNAME": url,
            "QTC_TOKEN": api_key,
            "QTC_SPACE_ID": SPACE,
            "QTC_GATEWAY_ID": GATEWAY_ID,
        }
    )
    print(f"QTC_HOSTNAME={url}  QTC_SPACE_ID={SPACE!r}  QTC_GATEWAY_ID={GATEWAY_ID}")
    return process


def stop_emulator(process: subprocess.Popen[bytes]) -> None:
    """Stop the emulator with SIGINT, as Ctrl-C would."""
    heading("Stop the emulator")
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    print(f"emulator stopped (exit code {process.returncode})")


def make_key_material(run: DemoRun) -> None:
    """Write the key files and put every secret in the environment."""
    passphrase = secrets.token_urlsafe(18)
    snowflake_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = snowflake_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    (run.workdir / "snowflake_rsa_key.p8").write_bytes(pem)

    for name in ("service-account.json", "service-account-rotated.json"):
        write_service_account(run.workdir / name, run)

    values = {
        "DEMO_MYSQL_PASSWORD": secrets.token_urlsafe(16),
        "DEMO_MSSQL_PASSWORD": secrets.token_urlsafe(16),
        "DEMO_POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "DEMO_ORACLE_PASSWORD": secrets.token_urlsafe(16),
        "DEMO_SNOWFLAKE_PASSPHRASE": passphrase,
        "DEMO_DATABRICKS_TOKEN": "dapi" + secrets.token_hex(16),
        "DEMO_ADLS_CLIENT_SECRET": secrets.token_urlsafe(24),
        "DEMO_S3_ACCESS_KEY": "AKIA" + secrets.token_hex(8).upper(),
        "DEMO_S3_SECRET_KEY": secrets.token_urlsafe(30),
        "DEMO_MYSQL_PASSWORD_ROTATED": secrets.token_urlsafe(16),
    }
    run.env.update(values)
    run.secret_values.extend(values.values())
    run.secret_values.append(pem.decode())


def write_service_account(path: Path, run: DemoRun) -> None:
    """Write a service-account JSON file holding a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    document = {
        "type": "service_account",
        "project_id": "qtc-demo",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "qtc-demo@qtc-demo.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(document, indent=2))
    run.secret_values.append(pem)


def drive_cli(run: DemoRun) -> None:
    """Run the qtc commands of the demo, in the recommended order."""
    heading("1. Check the token, tenant, space and gateway")
    qtc(run, "doctor")

    heading("2. List the data sources")
    qtc(run, "sources", "list")

    heading("3. Read the api-specs of one data source")
    qtc(run, "sources", "specs", "reptgt_qdisnowflake")

    heading("4. Create one connection of each of the 14 kinds")
    ids = {
        name: qtc(run, "connections", "create", *args, "-q").strip()
        for name, args in creates(run)
    }

    heading("5. Read one back with its parsed properties")
    qtc(run, "connections", "get", ids["TGT_Snowflake_01"], "--parse")

    heading("6. Rotate a password and a key file with PATCH")
    qtc(
        run,
        "connections",
        "patch",
        "SRC_MySQL_01",
        "--secret",
        "password=env:DEMO_MYSQL_PASSWORD_ROTATED",
    )
    rotated = run.workdir / "service-account-rotated.json"
    qtc(
        run,
        "connections",
        "patch",
        ids["TGT_BigQuery_01"],
        "--key-file",
        f"jsonCredentials={rotated}",
    )

    heading("7. List the connections")
    qtc(run, "connections", "list")

    manage_as_code(run)


def manage_as_code(run: DemoRun) -> None:
    """Apply the example manifest, change it, export the tenant, re-apply."""
    folder = run.workdir / "manifest"
    folder.mkdir()
    manifest = folder / "connections.yaml"
    shutil.copyfile(EXAMPLE_MANIFEST, manifest)
    state = run.workdir / "state.json"
    dev = [
        str(folder),
        "--env",
        "dev",
        "--var",
        f"key_dir={run.workdir}",
        "--state",
        str(state),
    ]
    prod = [
        str(folder),
        "--env",
        "prod",
        "--var",
        f"key_dir={run.workdir}",
        "--state",
        str(run.workdir / "prod-state.json"),
    ]

    heading("8. Plan the example manifest of all 14 kinds, for dev and for prod")
    qtc(run, "plan", *dev)
    qtc(run, "plan", *prod)

    heading("9. Apply it to dev")
    qtc(run, "apply", *dev, "--yes")

    heading("10. Change one property and one secret, then plan and apply again")
    text = manifest.read_text()
    manifest.write_text(
        text.replace("username: qtc_reader", "username: qtc_reader_v2", 1)
    )
    rotated = "dapi" + secrets.token_hex(16)
    run.env["DEMO_DATABRICKS_TOKEN"] = rotated
    run.secret_values.append(rotated)
    qtc(run, "plan", *dev)
    qtc(run, "apply", *dev, "--yes")

    heading("11. Export the space back to a manifest")
    qtc(run, "export", "--space", SPACE, "--out", str(run.workdir / "exported.yaml"))

    heading("12. A second apply changes nothing")
    qtc(run, "apply", *dev, "--yes")
    qtc(run, "plan", *dev, "--detailed-exitcode")


def creates(run: DemoRun) -> list[tuple[str, list[str]]]:
    """Return (name, arguments) for one create of each catalog kind."""
    key = run.workdir / "snowflake_rsa_key.p8"
    service_account = run.workdir / "service-account.json"
    plan: list[tuple[str, str, list[str]]] = [
        (
            "SRC_MySQL_01",
            "mysql-source",
            [
                "--set",
                "server=mysql.demo.internal",
                "--set",
                "username=qtc_reader",
                "--secret",
                "password=env:DEMO_MYSQL_PASSWORD",
            ],
        ),
        (
            "TGT_MySQL_01",
            "mysql-target",
            [
                "--set",
                "server=mysql-dw.demo.internal",
                "--set",
                "username=qtc_writer",
                "--secret",
                "password=env:DEMO_MYSQL_PASSWORD",
            ],
        ),
        (
            "SRC_SQLServer_01",
            "sqlserver-source",
            [
                "--set",
                "server=mssql.demo.internal",
                "--set",
                "username=qtc_reader",
                "--set",
                "database=sales",
                "--secret",
                "password=env:DEMO_MSSQL_PASSWORD",
            ],
        ),
        (
            "TGT_SQLServer_01",
            "sqlserver-target",
            [
                "--set",
                "server=mssql-dw.demo.internal",
                "--set",
                "username=qtc_writer",
                "--set",
                "database=warehouse",
                "--secret",
                "password=env:DEMO_MSSQL_PASSWORD",
            ],
        ),
        (
            "SRC_Postgres_01",
            "postgresql-source",
            [
                "--set",
                "server=pg.demo.internal",
                "--set",
                "username=qtc_reader",
                "--set",
                "database=orders",
                "--secret",
                "password=env:DEMO_POSTGRES_PASSWORD",
            ],
        ),
        (
            "TGT_Postgres_01",
            "postgresql-target",
            [
                "--set",
                "host=pg-dw.demo.internal",
                "--set",
                "username=qtc_writer",
                "--set",
                "database=warehouse",
                "--secret",
                "password=env:DEMO_POSTGRES_PASSWORD",
            ],
        ),
        (
            "SRC_Oracle_01",
            "oracle-source",
            [
                "--set",
                "server=//oracle.demo.internal:1521/ORCL",
                "--set",
                "username=qtc_reader",
                "--secret",
                "password=env:DEMO_ORACLE_PASSWORD",
            ],
        ),
        (
            "TGT_Oracle_01",
            "oracle-target",
            [
                "--set",
                "server=//oracle-dw.demo.internal:1521/DW",
                "--set",
                "username=qtc_writer",
                "--secret",
                "password=env:DEMO_ORACLE_PASSWORD",
            ],
        ),
        (
            "TGT_Snowflake_01",
            "snowflake-target",
            [
                "--set",
                "server=demo-account.snowflakecomputing.com",
                "--set",
                "databaseQcsString=ANALYTICS",
                "--set",
                "warehouse=LOAD_WH",
                "--set",
                "username=QTC_LOADER",
                "--key-file",
                f"privateKeyFile={key}",
                "--secret",
                "privateKeyPassphrase=env:DEMO_SNOWFLAKE_PASSPHRASE",
            ],
        ),
        (
            "TGT_Databricks_01",
            "databricks-target",
            [
                "--set",
                "server=adb-1234567890123456.7.azuredatabricks.net",
                "--set",
                "httpPath=/sql/1.0/warehouses/abc123def456",
                "--secret",
                "password=env:DEMO_DATABRICKS_TOKEN",
            ],
        ),
        (
            "TGT_BigQuery_01",
            "bigquery-target",
            [
                "--set",
                "datasetLocation=US",
                "--key-file",
                f"jsonCredentials={service_account}",
            ],
        ),
        (
            "TGT_ADLS_01",
            "adls-target",
            [
                "--set",
                "storageAccount=qtcdemolake",
                "--set",
                "fileSystem=landing",
                "--set",
                "adlstenantid=00000000-0000-4000-8000-000000000001",
                "--set",
                "adlsclientappid=00000000-0000-4000-8000-000000000002",
                "--secret",
                "adlsclientappkey=env:DEMO_ADLS_CLIENT_SECRET",
            ],
        ),
        (
            "TGT_S3_01",
            "s3-target",
            [
                "--set",
                "bucketName=qtc-demo-landing",
                "--secret",
                "s3AccessKey=env:DEMO_S3_ACCESS_KEY",
                "--secret",
                "s3SecretKey=env:DEMO_S3_SECRET_KEY",
            ],
        ),
        (
            "TGT_GCS_01",
            "gcs-target",
            [
                "--set",
                "bucketName=qtc-demo-landing",
                "--key-file",
                f"jsonCredentials={service_account}",
            ],
        ),
    ]
    return [
        (name, ["--kind", kind, "--name", name, *args]) for name, kind, args in plan
    ]


def qtc(run: DemoRun, *args: str) -> str:
    """Run one qtc command, show it with its output, and return the output."""
    command = [qtc_executable(), *args]
    show_command(command, run)
    result = subprocess.run(
        command, env=run.env, capture_output=True, text=True, check=False
    )
    run.printed.extend([result.stdout, result.stderr])
    if result.stdout:
        print(result.stdout, end="")
    if result.stderr:
        print(result.stderr, end="", file=sys.stderr)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, command)
    return result.stdout


def check_no_secret_printed(run: DemoRun) -> None:
    """Fail the demo if any secret value, or any line of a key, was printed."""
    heading("Secret check")
    output = "".join(run.printed)
    fragments: list[str] = []
    for value in run.secret_values:
        fragments.append(value)
        fragments.extend(line for line in value.splitlines() if len(line) > 20)
    leaked = [f for f in fragments if f in output]
    if leaked:
        raise SystemExit(f"{len(leaked)} secret fragments appeared in the output")
    print(f"no secret value appeared in {len(output.splitlines())} lines of output")


def qtc_executable() -> str:
    """Return the qtc script installed next to this Python."""
    candidate = Path(sys.executable).with_name("qtc")
    return str(candidate) if candidate.exists() else "qtc"


def heading(text: str) -> None:
    """Print a section heading."""
    print(f"\n== {text}", flush=True)


def show_command(command: list[str], run: DemoRun) -> None:
    """Print a command as a user would type it, with $DEMO_DIR for the work folder."""
    shown = ["qtc", *command[1:]] if command[0].endswith("qtc") else command
    text = " ".join(_quote(part) for part in shown)
    print("$ " + text.replace(str(run.workdir), "$DEMO_DIR"), flush=True)


def _quote(part: str) -> str:
    return f"'{part}'" if " " in part else part


if __name__ == "__main__":
    sys.exit(main())
