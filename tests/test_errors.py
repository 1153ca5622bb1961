import httpx
import pytest

from qtc_connections import errors
from qtc_connections.errors import ApiError, parse_retry_after
from qtc_connections.redact import register_secret


def _response(status, body=None, headers=None, text=None):
    request = httpx.Request(
        "GET", "https://acme.eu.qlikcloud.com/api/v1/data-connections"
    )
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.ApiError),
    ],
)
def test_from_response_maps_status(status, error_class):
    error = ApiError.from_response(_response(status, {"errors": []}))
    assert type(error) is error_class
    assert error.status == status


def test_from_response_parses_data_connections_body():
    body = {
        "errors": [
            {
                "code": "DCERROR-0010",
                "title": "Bad or invalid request",
                "detail": "Field qName is missing in the request",
                "status": 400,
            }
        ],
        "traceId": "abc123",
    }
    error = ApiError.from_response(_response(400, body))
    assert error.code == "DCERROR-0010"
    assert error.detail == "Field qName is missing in the request"
    assert error.trace_id == "abc123"
    message = str(error)
    assert message.startswith("400 Bad Request on GET https://acme.eu.qlikcloud.com/")
    assert "DCERROR-0010" in message
    assert "trace id abc123" in message


def test_from_response_tolerates_html_body():
    error = ApiError.from_response(_response(502, text="<html>Bad gateway</html>"))
    assert isinstance(error, errors.ServerError)
    assert error.errors == []
    assert "502 Bad Gateway" in str(error)


def test_from_response_reads_deprecated_top_level_shape():
    error = ApiError.from_response(
        _response(404, {"code": "SPACES-1", "title": "Not found"})
    )
    assert error.code == "SPACES-1"


def test_rate_limit_error_carries_retry_after():
    body = {"errors": [{"code": "HTTP-429", "title": "API rate limit reached."}]}
    error = ApiError.from_response(_response(429, body, headers={"Retry-After": "13"}))
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 13.0


def test_status_hints_say_what_to_do():
    message = str(ApiError.from_response(_response(401, {"errors": []})))
    assert "QTC_TOKEN" in message


def test_messages_redact_registered_secrets():
    register_secret("canary-secret-4f2a9")
    body = {
        "errors": [{"code": "X", "detail": "password canary-secret-4f2a9 is wrong"}]
    }
    message = str(ApiError.from_response(_response(400, body)))
    assert "canary-secret-4f2a9" not in message
    assert "(sensitive)" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13", 13.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(httpx.Headers({"Retry-After": value})) == expected


def test_parse_retry_after_http_date_in_past():
    headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert parse_retry_after(headers) == 0.0


def test_parse_retry_after_absent():
    assert parse_retry_after(httpx.Headers()) is None


def test_validation_error_lists_every_problem():
    error = errors.ValidationError(
        "mysql-source 'SRC'", ["a is missing", "b is unknown"]
    )
    lines = str(error).splitlines()
    assert lines[0] == "mysql-source 'SRC': 2 problems"
    assert lines[1:] == ["  - a is missing", "  - b is unknown"]


def test_error_tree_roots_at_qtc_error():
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, errors.QtcError), name


@pytest.mark.parametrize(
    "secret", ['CANARY"quote_pw_1234', "CANARY\\back\\slash", "CANARY\ttab-pw"]
)
def test_escaped_secret_in_detail_redacted(secret):
    import json

    register_secret(secret)
    detail = "got " + json.dumps({"password": secret})
    body = {"errors": [{"code": "DCERROR-0010", "detail": detail}]}
    message = str(ApiError.from_response(_response(400, body)))
    assert "CANARY" not in message
    assert "(sensitive)" in message
