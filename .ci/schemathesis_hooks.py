# Loaded by schemathesis (SCHEMATHESIS_HOOKS, see .ci/run).
#
# POST /api/v1/evidence takes a file's raw bytes; its OpenAPI document gives
# a small PDF as the application/pdf example. schemathesis serializes the
# image types it knows (with real file samples), but has no serializer for
# application/pdf: send such a body as raw bytes, as application/octet-stream
# is sent.
import schemathesis

schemathesis.serializer.alias("application/pdf", "application/octet-stream")
