"""Backfill DatasetVersion.source_licenses from the lineage JSON of synthetic versions made before the field existed.

A synthetic source owned by the same organisation was recorded with no licence; its own source licences are followed,
so the backfill is transitive (versions are visited in creation order, so a source is filled before its outputs).
"""

from django.db import migrations


def backfill(apps, schema_editor):
    DatasetVersion = apps.get_model("marketplace", "DatasetVersion")
    License = apps.get_model("marketplace", "License")
    known = set(License.objects.values_list("pk", flat=True))
    filled: dict[int, set[int]] = {}
    for version in DatasetVersion.objects.filter(is_synthetic=True).order_by("pk"):
        licenses: set[int] = set()
        for source in (version.lineage or {}).get("sources", []):
            if source.get("license") in known:
                licenses.add(source["license"])
            licenses |= filled.get(source.get("version"), set())
        filled[version.pk] = licenses
        if licenses:
            version.source_licenses.set(licenses)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0003_datasetversion_source_licenses")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
