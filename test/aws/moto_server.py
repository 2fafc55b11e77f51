"""moto's server, with Secrets Manager calls authorised on the secret's ARN.

moto 5 checks IAM policies against the request's resource for S3, SQS, IAM and STS only; for
every other service it authorises the action on "*", so a policy naming one secret (as ours
does) would be refused where AWS allows it. Teaching moto the secret's ARN, as AWS authorises
GetSecretValue (Service Authorization Reference, Secrets Manager: resource type "Secret"),
keeps the check as strict as AWS's instead of switching it off. The same for DynamoDB: the
table's ARN, or the index's for a Query that names one. And for EventBridge's PutEvents: the
entries' event bus's ARN (issue 21's sweeper and processor put on one bus only).

It also signs S3 requests the way the SDK does when a key holds characters SigV4 escapes: the
contract's keys carry `=` (`exports/customerId=42/...`), which the SDK signs escaped (`%3D`, SigV4's
canonical URI); moto signs the unescaped path and answers SignatureDoesNotMatch to a correctly
signed request.

Usage: python3 moto_server.py PORT (INITIAL_NO_AUTH_ACTION_COUNT in the environment).
"""

import json
import sys
from urllib.parse import quote, unquote

from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import S3IAMRequest
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import main


def _determine_resource(self):
    try:
        secret_id = json.loads(self.body or "{}").get("SecretId")
    except ValueError:
        return "*"
    secret = self.backend.secrets.get(secret_id) if secret_id else None
    return secret.arn if secret is not None else "*"


SecretsManagerResponse._determine_resource = _determine_resource


def _determine_table_resource(self):
    """DynamoDB authorises item actions on the table's ARN and a Query of an index on the
    index's, `<table>/index/<name>` (Service Authorization Reference, Amazon DynamoDB: resource
    types "table" and "index"); moto would check "*" instead."""
    body = self.body if isinstance(self.body, dict) else {}
    name = body.get("TableName")
    table = self.dynamodb_backend.tables.get(name) if name else None
    if table is None:
        return "*"
    index = body.get("IndexName")
    return f"{table.table_arn}/index/{index}" if index else table.table_arn


DynamoHandler._determine_resource = _determine_table_resource


def _determine_bus_resource(self):
    """EventBridge authorises PutEvents on the event bus of its entries (Service Authorization
    Reference, Amazon EventBridge: resource type "event-bus"); moto would check "*" instead.
    Entries on several buses, or a bus given by ARN, are checked as "*" (refused by a policy that
    names one bus): stricter, never looser, than AWS."""
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        return "*"
    names = {entry.get("EventBusName") or "default" for entry in body.get("Entries") or []}
    if len(names) != 1:
        return "*"
    name = names.pop()
    if name.startswith("arn:"):
        return name
    return f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{name}"


EventsHandler._determine_resource = _determine_bus_resource

_create_aws_request = S3IAMRequest._create_aws_request


def _create_unescaped_aws_request(self):
    path, query_mark, query = self._path.partition("?")
    self._path = quote(unquote(path), safe="/~") + query_mark + query
    return _create_aws_request(self)


S3IAMRequest._create_aws_request = _create_unescaped_aws_request

if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
