"""AWS Batch `secrets` for the local job runner (moto_sfn_server.py).

AWS Batch resolves each entry of a job definition's containerProperties.secrets
({"name": VAR, "valueFrom": SECRET_ARN}) from Secrets Manager when the job starts and gives
the container the value as environment variable VAR; the value never appears in the job
definition, the job's description or its logs. A secret that cannot be read fails the
attempt before the container starts. ("Specifying sensitive data with Secrets Manager",
https://docs.aws.amazon.com/batch/latest/userguide/specifying-sensitive-data-secrets.html)

moto keeps `secrets` in the job definition but never resolves them: this module reads them
from moto's own Secrets Manager, so a job run by the local runner sees what it would on AWS.
"""
from moto.secretsmanager.models import secretsmanager_backends


class SecretUnavailable(Exception):
    """A secret of the job definition could not be read; the message names it, never a value."""


def resolve(container_properties, region):
    """{VAR: value} for every entry of containerProperties.secrets."""
    values = {}
    for entry in container_properties.get("secrets") or []:
        name, value_from = entry.get("name"), entry.get("valueFrom", "")
        parts = value_from.split(":")
        # A secret ARN names its account and region; a bare name is the job's region's.
        account = parts[4] if len(parts) > 6 and parts[2] == "secretsmanager" else "123456789012"
        in_region = parts[3] if len(parts) > 6 and parts[2] == "secretsmanager" else region
        try:
            secret = secretsmanager_backends[account][in_region].get_secret_value(value_from, None, None)
        except Exception as e:  # noqa: BLE001 - any failure fails the attempt, as on AWS
            raise SecretUnavailable(
                f"ResourceInitializationError: unable to pull secrets or registry auth: "
                f"secret {value_from} for variable {name}: {type(e).__name__}") from None
        values[name] = secret.get("SecretString") or ""
    return values
