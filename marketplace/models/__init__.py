from marketplace.models.accounts import ApiToken, Membership, Organization
from marketplace.models.datasets import Dataset, DatasetVersion
from marketplace.models.jobs import Job

__all__ = ["ApiToken", "Dataset", "DatasetVersion", "Job", "Membership", "Organization"]
