"""Every error code the code can answer with is explained in docs/integration.md."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RAISED = re.compile(
    r"(?:Unprocessable|Conflict|Forbidden|NotFound|PreconditionFailed|Unauthorized|"
    r"PayloadTooLarge|ServiceUnavailable|Problem|ErrorItem|PydanticCustomError|RuleViolation|RowError|_error|_fail)"
    r"\(\s*\"([a-z][a-z_]+)\"")
_KEYWORD = re.compile(r"\bcode=\"([a-z][a-z_]+)\"")


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py")]:
        text = path.read_text()
        found |= set(_RAISED.findall(text)) | set(_KEYWORD.findall(text))
    return found


def documented() -> set[str]:
    text = (ROOT / "docs" / "integration.md").read_text().split("## Error codes", 1)[1]
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.M))


def test_every_code_is_documented():
    missing = sorted(codes_in_source() - documented())
    assert not missing, f"add these to the table in docs/integration.md: {missing}"


def test_the_scan_finds_codes():
    assert {"invalid_id_number", "person_already_registered", "insufficient_funds",
            "stale_version"} <= codes_in_source()


def test_catalogue_matches_the_guide_and_is_published():
    from services import definitions
    from shared.app import create_app
    from shared.error_catalog import ERROR_CODES
    from shared.settings import Settings

    assert set(ERROR_CODES) == documented()
    assert codes_in_source() <= set(ERROR_CODES)
    doc = create_app(definitions(["funds"]), settings=Settings()).openapi()
    assert all(f"`{code}`" in doc["info"]["description"] for code in ERROR_CODES)
