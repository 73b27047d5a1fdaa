from django.db import models


class BaseModel(models.Model):
    """A local transformers directory an operator registered as a base model (the built-in ones live in
    `training.registry.BASE_MODELS`)."""

    name = models.SlugField(max_length=100, unique=True, help_text="The name training requests use as base_model.")
    path = models.CharField(max_length=500, help_text="Absolute path of a transformers model directory on the workers.")
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive models are hidden and refused.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingJob(models.Model):
    """A fine-tuning request; status, progress and the resolved config live on the Job row."""

    job = models.OneToOneField("marketplace.Job", on_delete=models.CASCADE, related_name="training")
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE, related_name="training_jobs")
    base_model = models.CharField(max_length=100)
    task = models.CharField(max_length=50)
    mix = models.JSONField(help_text="[{version, weight}]")
    text_column = models.CharField(max_length=200)
    label_column = models.CharField(max_length=200)
    evaluation = models.JSONField(default=dict, blank=True, help_text="{version} or {holdout_fraction}")
    params = models.JSONField(default=dict, blank=True)
    baseline = models.BooleanField(
        default=False, help_text="Also train the same configuration on the real rows alone and report the lift."
    )
    lineage = models.JSONField(default=dict, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Loss curve, throughput and ETA per step.")
    metrics = models.JSONField(default=dict, blank=True)
    model = models.OneToOneField(
        "training.TrainedModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_job"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class TrainedModel(models.Model):
    """A fine-tuned model with its card: lineage of every dataset version and the terms it inherits."""

    organization = models.ForeignKey(
        "marketplace.Organization", on_delete=models.CASCADE, related_name="trained_models"
    )
    name = models.CharField(max_length=200)
    base_model = models.CharField(max_length=100)
    task = models.CharField(max_length=50)
    path = models.CharField(
        max_length=500,
        help_text="The model's folder under TESSERA_TRAINED_MODELS (job-N or compress-N), the same on every host.",
    )
    labels = models.JSONField(default=list)
    lineage = models.JSONField(default=list)
    inherited_terms = models.JSONField(default=dict)
    # Every licence the training data was used under, transitively through synthetic versions; see
    # DatasetVersion.source_licenses. Revoking or expiring any of them stops the model.
    source_licenses = models.ManyToManyField("marketplace.License", blank=True, related_name="derived_models")
    metrics = models.JSONField(default=dict)
    card = models.JSONField(default=dict)
    teacher = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="compressed",
        help_text="The model this one was compressed from.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class TrainingReceipt(models.Model):
    """What went into a model, signed with the platform's Ed25519 key (see training.receipts): the model's
    organisation and every provider whose data it read may fetch it and verify it offline."""

    id = models.UUIDField(primary_key=True, editable=False)
    model = models.OneToOneField("training.TrainedModel", on_delete=models.CASCADE, related_name="receipt")
    payload = models.JSONField(help_text="The signed receipt; its canonical JSON is what the signature covers.")
    signature = models.CharField(max_length=200, help_text="Base64 Ed25519 signature.")
    providers = models.ManyToManyField(
        "marketplace.Organization", blank=True, related_name="training_receipts", help_text="Whose data it read."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
