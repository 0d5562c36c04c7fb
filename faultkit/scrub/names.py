"""Which names hold credentials: headers, JSON keys, form fields and query parameters.

A name is normalised (lower case, letters and digits only) so ``api_key``, ``apiKey``,
``API-KEY`` and ``x-api-key`` are one rule. Plurals count for collections (``api_keys``,
``refresh_tokens`` holding a list or an object): a list of keys is as secret as one key. They
do not count for a single string, because ``x-ratelimit-remaining-tokens: 149984`` is a
counter a retry fault needs, and the bare ``tokens`` of legacy logprobs (a list of text
pieces) is no credential either.
"""

from __future__ import annotations

import re
from functools import lru_cache

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
    }
)

# Normalized names that are secrets wherever they appear.
_EXACT = frozenset(
    {
        "apikey",
        "password",
        "passwd",
        "pwd",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "authorization",
        "authorizationtoken",
        "sessiontoken",
        "bearertoken",
        "privatekey",
        "secretkey",
        "accesskey",
        "accesskeyid",
        "sessionid",
        "credential",
        "credentials",
        "cookie",
        "setcookie",
    }
)
_SUFFIXES = ("apikey", "secret", "password", "passwd", "token", "secretkey", "privatekey")
# Plural names that are text, not credentials (legacy completions logprobs, tokenizers).
_TEXT_TOKENS = frozenset({"tokens", "stoptokens", "specialtokens", "texttokens"})
# Extra query-string names: Google-style ``?key=`` and signed-URL signatures.
_QUERY_EXTRA = frozenset({"key", "keys", "sig", "signature", "auth"})
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalized(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def _singular_secret(norm: str) -> bool:
    return norm in _EXACT or norm.endswith(_SUFFIXES)


@lru_cache(maxsize=4096)
def secret_field(name: str) -> bool:
    """True for a JSON key / form field name that holds a credential (``api_key``,
    ``apiKey``, ``client_secret``)."""
    return _singular_secret(normalized(name))


@lru_cache(maxsize=4096)
def secret_collection(name: str) -> bool:
    """True for a key whose list or object value holds credentials: a secret name, or its
    plural (``api_keys``, ``refresh_tokens``, ``client_secrets``)."""
    norm = normalized(name)
    if _singular_secret(norm):
        return True
    return norm.endswith("s") and norm not in _TEXT_TOKENS and _singular_secret(norm[:-1])


@lru_cache(maxsize=1024)
def secret_param(name: str) -> bool:
    """True for a URL query parameter that holds a credential (``api_key``, ``key``, ``sig``)."""
    return secret_field(name) or name.lower() in _QUERY_EXTRA


@lru_cache(maxsize=1024)
def secret_header(name: str) -> bool:
    lname = name.lower()
    return lname in SECRET_HEADERS or secret_field(lname)
