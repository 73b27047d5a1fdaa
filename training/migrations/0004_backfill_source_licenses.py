"""Backfill TrainedModel.source_licenses from the model lineage and the (already backfilled) source licences of the
synthetic versions it was trained on."""

from django.db import migrations


def backfill(apps, schema_editor):
    TrainedModel = apps.get_model("training", "TrainedModel")
    DatasetVersion = apps.get_model("marketplace", "DatasetVersion")
    License = apps.get_model("marketplace", "License")
    known = set(License.objects.values_list("pk", flat=True))
    for model in TrainedModel.objects.all():
        licenses: set[int] = set()
        for entry in model.lineage or []:
            if entry.get("license") in known:
                licenses.add(entry["license"])
            for source in entry.get("sources", []):
                if source.get("license") in known:
                    licenses.add(source["license"])
            version = DatasetVersion.objects.filter(pk=entry.get("version")).first()
            if version is not None:
                licenses |= set(version.source_licenses.values_list("pk", flat=True))
        if licenses:
            model.source_licenses.set(licenses)


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0003_trainedmodel_source_licenses"),
        ("marketplace", "0004_backfill_source_licenses"),
    ]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
