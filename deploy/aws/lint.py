"""Offline checks of template.yaml: cfn-lint on the SAM template, then SAM's own translator to
plain CloudFormation and cfn-lint again on that (the second pass catches what the SAM schema
check misses: a bad Runtime, Architectures, event Type, or GetAtt in an authorizer).

Run with a venv that has cfn-lint and aws-sam-translator (scripts/test makes one):
    python deploy/aws/lint.py [TEMPLATE]
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


class NoManagedPolicies:
    """The template names no AWS managed policy ARNs by name, so nothing needs looking up."""

    def load(self):
        return {}


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    lint = [cfn_lint, "--regions", "us-east-1", "eu-west-1"]
    first = subprocess.run(lint + ["--", str(path)])
    template, errors = decode_str(path.read_text())
    if errors:
        for e in errors:
            print(e)
        return 1
    # As `sam package` would: local code paths become S3 locations.
    template["Globals"]["Function"]["CodeUri"] = "s3://example-bucket/imgtag-lambda.zip"
    # The translator resolves AWS::Region; any region will do offline.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    translated = transform(template, {}, NoManagedPolicies())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(translated, f, indent=1, default=str)
    second = subprocess.run(lint + ["--", f.name])
    Path(f.name).unlink()
    print(f"cfn-lint: SAM template rc={first.returncode}, translated rc={second.returncode}")
    return 1 if first.returncode or second.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
