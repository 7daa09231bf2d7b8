"""A doctor finding: what is wrong, the evidence, and the command that fixes it."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    id: str            # stable, for scripts: "lacp.partner_defaulted"
    severity: str      # "error" (traffic is or will be lost) or "warning"
    bond: str
    what: str
    evidence: str
    fix: str

    def to_json(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        return (f"{self.severity.upper()} {self.bond}: {self.what} [{self.id}]\n"
                f"  evidence: {self.evidence}\n"
                f"  fix: {self.fix}\n")
