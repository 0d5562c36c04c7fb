"""The contract: classes by import path, serializable, and the stricter bound wins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from faultkit.oracle import Contract


def test_classes_load_from_import_paths_and_serialize_back() -> None:
    contract = Contract(
        output_model="oracle_world:Answer", error_types=["oracle_world:OrderLookupError"]
    )
    from oracle_world import Answer

    assert contract.output_model is Answer
    data = contract.model_dump(mode="json")
    assert data["output_model"] == "oracle_world.Answer"
    assert data["error_types"] == ["oracle_world.OrderLookupError"]
    assert Contract.model_validate(data).output_model is Answer


def test_a_bad_import_path_says_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="cannot import 'no_such_module'"):
        Contract(output_model="no_such_module:Thing")
    with pytest.raises(ValidationError, match="has no attribute 'Nope'"):
        Contract(output_model="oracle_world:Nope")


def test_output_errors_catch_unvalidated_models() -> None:
    from oracle_world import Answer

    contract = Contract(output_model=Answer)
    bad = Answer.model_construct(order_id=1042, status="shipped", eta=None, summary="x")
    assert contract.output_errors(bad.model_dump(warnings=False)) == [
        "order_id: Input should be a valid string"
    ]
    assert (
        contract.output_errors({"order_id": "1", "status": "s", "eta": None, "summary": "x"}) == []
    )
