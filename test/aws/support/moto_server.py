"""moto_server, with S3 signatures checked against the request target as the client sent it.

With IAM enforced, moto 5.2 recomputes an S3 request's SigV4 signature from the URL werkzeug rebuilds
(moto/iam/access_control.py, S3IAMRequest), which is percent-decoded: a key holding `=`, `!` or `:`
(`spill/dt=2026-12-06/...`, Firehose's `usage/dt=!{partitionKeyFromQuery:dt}/...`) or a listing prefix
holding `/`, signed by the client as `%3D`, `%21`, `%3A`, `%2F` as S3 requires, never matches, and
moto answers SignatureDoesNotMatch. S3 itself signs the canonical URI the client sent
(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html); so does this launcher,
and nothing else of moto is changed: the principal, its policies and the signature are still checked.

Run as `python3 moto_server.py -H 127.0.0.1 -p PORT`, with the arguments of `moto_server`.
"""

import sys

from flask import has_request_context, request
from moto.iam import access_control
from moto.server import main

_rebuilt = access_control.S3IAMRequest._create_aws_request


def _as_sent(self):
    aws_request = _rebuilt(self)
    raw = request.environ.get("RAW_URI") if has_request_context() else None
    if raw:
        aws_request.url = raw
    return aws_request


access_control.S3IAMRequest._create_aws_request = _as_sent

if __name__ == "__main__":
    main(sys.argv[1:])
