"""Answers every API operation can give, added to the OpenAPI schema in one place
(settings.SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) rather than on each view."""

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def add_common_responses(result, generator, request, public):
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            # Also on public operations: a wrong or revoked token is refused there too.
            responses.setdefault("403", {**ERROR, "description": "Not signed in, a wrong token, or not allowed to."})
            if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
                responses.setdefault("404", {**ERROR, "description": "A page past the end."})
            if "requestBody" in operation:
                responses.setdefault("413", {**ERROR, "description": "The body is too large."})
                responses.setdefault("415", {**ERROR, "description": "The body is not JSON."})
            responses.setdefault("429", {**ERROR, "description": "Too many requests; see the Retry-After header."})
    return result
