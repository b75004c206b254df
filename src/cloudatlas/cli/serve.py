"""cloudatlas serve: the web app and JSON API (FastAPI + uvicorn)."""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket

DESCRIPTION = "Start the web app (/) and the JSON API (/api/v1, documented at /docs)."
EPILOG = """\
examples:
  cloudatlas serve                                 http://127.0.0.1:8000 with the bundled model
  cloudatlas serve --host 0.0.0.0 --port 8080      reachable from a phone on the same network
  cloudatlas serve --model runs/mine/model.onnx --workers 4
  curl -F file=@sky.jpg http://127.0.0.1:8000/api/v1/classify
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--model", help="ONNX model file (default: the bundled model)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument("--max-upload-mb", type=float, default=20, metavar="MB",
                   help="largest accepted upload; bigger ones are refused while streaming (default 20)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def check_port_number(port: int) -> None:
    """One line (exit 2) for a port no server can listen on, before anything is loaded: the
    socket layer would answer 99999 with an OverflowError traceback."""
    if not 1 <= port <= 65535:
        from . import CliError

        raise CliError(f"--port {port}: a port is a number from 1 to 65535.")


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            from . import CliError

            raise CliError(f"cannot listen on {host}:{port} ({err.strerror}); is another server running? "
                           f"Try --port {port + 1}.") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything, so treat it as the network
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """A plain warning when the server listens beyond this computer: the API has no login at all."""
    if _is_loopback(host):
        return None
    where = "every network interface" if host in ("0.0.0.0", "::") else host
    return (f"  WARNING: listening on {where}, port {port}: the API has no authentication and is reachable "
            f"from the network; anyone who can reach this computer can use it. "
            f"Use --host 127.0.0.1 to keep it to this computer.")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..inference import Classifier
    from ..server import ServiceSettings
    from ..server.app import MAX_UPLOAD_ENV, create_app, server_options
    from . import CliError

    check_port_number(args.port)
    if args.workers < 1:
        raise CliError("--workers must be at least 1.")
    if args.max_upload_mb <= 0:
        raise CliError("--max-upload-mb must be positive.")
    settings = ServiceSettings()
    clf = Classifier.load(args.model, threads=settings.threads)  # fail here in one line, not in a worker
    _check_port(args.host, args.port)

    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{args.port}"
    gate = "with" if clf.gate_threshold is not None else "without"
    print(f"CloudAtlas on {url}  (model {clf.name} {clf.version}, {gate} the cloud gate)", flush=True)
    print(f"  API docs: {url}/docs    stop: Ctrl+C", flush=True)
    if args.host in ("0.0.0.0", "::"):
        print(f"  from a phone on this network: http://<this computer's address>:{args.port}", flush=True)
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning, flush=True)

    if args.workers == 1:
        app = create_app(args.model, args.max_upload_mb, classifier=clf, settings=settings)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, **server_options())
    else:  # each worker process builds its own app (and model session) from the environment
        os.environ["CLOUDATLAS_MODEL"] = str(clf.path.resolve())
        os.environ[MAX_UPLOAD_ENV] = str(args.max_upload_mb)
        uvicorn.run("cloudatlas.server.app:create_app_from_env", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_level=args.log_level, **server_options())
    return 0
