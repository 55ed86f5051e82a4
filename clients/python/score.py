#!/usr/bin/python3
"""Scores network events against a netanomaly server over gRPC.

Calls ScoringService.Score on one event (built in, or shaped by flags), then
opens one ScoringService.StreamScore stream and sends two batches: a normal
event next to an invalid one (dest_port 70000), and an exfiltration-like
event. Prints one line per result, or one JSON object per line with --json.

Exits 1 with the gRPC status code name (for example `unavailable`) on stderr
when an RPC fails, and 2 on usage errors. Needs the grpcio and protobuf
packages: Debian's python3-grpcio and python3-protobuf (hence
/usr/bin/python3, the Python they are installed for), or a venv with
requirements.txt (see README.md next to this file). Without them it says so
in one line and exits 1.

Example:
    /usr/bin/python3 clients/python/score.py --target 127.0.0.1:50051
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

try:
    import grpc  # noqa: E402

    from netanomaly.v1 import scoring_service_pb2 as pb  # noqa: E402
    from netanomaly.v1 import scoring_service_pb2_grpc as pb_grpc  # noqa: E402
    from netanomaly.v1 import telemetry_pb2  # noqa: E402
except ImportError as e:
    sys.stderr.write(
        f"score.py: {sys.executable} has no {e.name or 'grpc'} module: run it with /usr/bin/python3 "
        "after 'apt-get install python3-grpcio', or in a venv after "
        "'pip install -r clients/python/requirements.txt'\n"
    )
    sys.exit(1)

# One fixed instant, so the built-in events (and their scores) never change.
EXAMPLE_TIME = datetime.datetime(2024, 12, 2, 9, 30, 0, tzinfo=datetime.timezone.utc)


def parse_args(argv):
    """Parses the command line; argparse exits 2 on usage errors."""
    parser = argparse.ArgumentParser(description="Score network events with a netanomaly server.")
    parser.add_argument("--target", default="127.0.0.1:50051", help="host:port of the server (default %(default)s)")
    parser.add_argument("--api-key", help="sent as 'authorization: Bearer <key>' metadata")
    parser.add_argument("--tls-ca", help="PEM file of the CA that signed the server's certificate; enables TLS")
    parser.add_argument("--tls-cert", help="PEM client certificate for mutual TLS (with --tls-key and --tls-ca)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline per RPC in seconds (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per result")
    parser.add_argument("--process-path", default="C:\\Windows\\System32\\svchost.exe")
    parser.add_argument("--dest-ip", default="168.61.215.74")
    parser.add_argument("--dest-domain", default="time.windows.com")
    parser.add_argument("--dest-port", type=int, default=123)
    parser.add_argument("--bytes-sent", type=int, default=49)
    parser.add_argument("--bytes-recv", type=int, default=48)
    parser.add_argument("--protocol", default="UDP")
    return parser.parse_args(argv)


def make_event(**fields):
    """Builds a NetworkEvent at EXAMPLE_TIME from snake_case field values."""
    event = telemetry_pb2.NetworkEvent(**fields)
    event.timestamp.FromDatetime(EXAMPLE_TIME)
    return event


def example_event(args):
    """The event for the unary Score call, shaped by the command line."""
    return make_event(
        process_path=args.process_path,
        process_hash="a343f3f6e554",
        source_ip="192.168.1.5",
        dest_ip=args.dest_ip,
        dest_domain=args.dest_domain,
        dest_port=args.dest_port,
        bytes_sent=args.bytes_sent,
        bytes_recv=args.bytes_recv,
        protocol=args.protocol,
        dns_query=args.dest_domain,
        parent_process="services.exe",
        user_context="SYSTEM",
    )


def stream_batches(args):
    """Two StreamScore batches; the second event of "batch-1" is invalid."""
    normal = example_event(args)
    invalid = example_event(args)
    invalid.dest_port = 70000
    exfil = make_event(
        process_path="C:\\Users\\Public\\updater.exe",
        process_hash="ffffffffffff",
        source_ip="192.168.1.23",
        dest_ip="203.0.113.66",
        dest_domain="cdn-sync.example",
        dest_port=4444,
        bytes_sent=2_500_000_000,
        bytes_recv=1200,
        protocol="TCP",
        parent_process="powershell.exe",
        user_context="User",
    )
    return [
        pb.StreamScoreRequest(request_id="batch-1", events=[normal, invalid]),
        pb.StreamScoreRequest(request_id="batch-2", events=[exfil]),
    ]


def verdict_name(verdict):
    """`VERDICT_ANOMALOUS` -> `anomalous`."""
    return telemetry_pb2.Verdict.Name(verdict).removeprefix("VERDICT_").lower()


def open_channel(args):
    """A plaintext (h2c) channel, or TLS when --tls-ca is given."""
    if args.tls_ca:
        def read(path):
            with open(path, "rb") as f:
                return f.read()

        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.tls_ca),
            private_key=read(args.tls_key) if args.tls_key else None,
            certificate_chain=read(args.tls_cert) if args.tls_cert else None,
        )
        return grpc.secure_channel(args.target, credentials)
    return grpc.insecure_channel(args.target)


def emit(args, record, text):
    """Prints one result as JSON or as a line of text."""
    print(json.dumps(record, sort_keys=True) if args.json else text, flush=True)


def run(args):
    """Makes the two calls and prints their results; raises grpc.RpcError."""
    metadata = [("authorization", f"Bearer {args.api_key}")] if args.api_key else None
    with open_channel(args) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        res = stub.Score(pb.ScoreRequest(event=example_event(args)), timeout=args.timeout, metadata=metadata)
        verdict = verdict_name(res.verdict)
        emit(
            args,
            {"rpc": "Score", "score": res.score, "verdict": verdict, "threshold": res.threshold,
             "modelVersion": res.model_version},
            f"Score: score={res.score:.4f} verdict={verdict} threshold={res.threshold:.4f} model={res.model_version}",
        )
        responses = stub.StreamScore(iter(stream_batches(args)), timeout=args.timeout, metadata=metadata)
        for res in responses:
            for index, result in enumerate(res.results):
                where = f"StreamScore {res.request_id}[{index}]"
                record = {"rpc": "StreamScore", "requestId": res.request_id, "index": index}
                if result.WhichOneof("outcome") == "error":
                    err = result.error
                    record["error"] = {"code": err.code, "field": err.field, "message": err.message}
                    emit(args, record, f"{where}: error {err.code} ({err.field}): {err.message}")
                else:
                    verdict = verdict_name(result.score.verdict)
                    record.update(score=result.score.score, verdict=verdict)
                    emit(args, record, f"{where}: score={result.score.score:.4f} verdict={verdict}")


def main(argv=None):
    """Entry point: 0 on success, 1 on an RPC error (code name on stderr)."""
    args = parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_cert and not args.tls_ca):
        print("score: --tls-cert and --tls-key go together, and need --tls-ca", file=sys.stderr)
        return 2
    try:
        run(args)
    except grpc.RpcError as e:
        code = e.code().name.lower()
        print(f"score: rpc failed: {code}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
