"""The paper's claims: each a rule over the evidence with a verdict (`rules`), judged again under every reading
of the record (`readings`), and the pages that show them (`page`: claims.md, the README's verdict block,
docs/reproduction.md)."""

from mopjepa.analysis.claims.rules import CLAIMS, Verdict, verdicts

__all__ = ["CLAIMS", "Verdict", "verdicts"]
