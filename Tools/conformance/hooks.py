"""schemathesis hooks for Tools/http-conformance.

A sync request must name the replica its token belongs to (403 otherwise), which a static
description cannot say. For the run with one replica's token, the description is narrowed to
that name, so that generated requests exercise the sync itself and not only the refusal.
"""
import os

import schemathesis

REPLICA_ID = os.environ["KASVU_REPLICA_ID"]


@schemathesis.hook
def before_load_schema(context, raw_schema):
    header = raw_schema["components"]["schemas"]["SyncHeader"]["properties"]
    header["replicaId"]["enum"] = [REPLICA_ID]
