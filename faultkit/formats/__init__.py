"""What a body or an SSE stream means, per wire format."""

from faultkit.formats.detect import (
    WireFormat,
    detect_format,
    provider_of,
    request_model,
    request_tool,
)

__all__ = ["WireFormat", "detect_format", "provider_of", "request_model", "request_tool"]
