import pytest

from marketplace.models import Job
from marketplace.services.licensing import listing_purchase
from tests.conftest import api_client_for, make_listing, make_ready_version, org_of
from tests.training.test_services import LOANS, PARAMS, REVIEWS, _tabular_mix_job, _train
from training import compression
from training.models import TrainedModel
from training.services import model_dir


def test_int8_compression_makes_a_smaller_model_with_the_teachers_lineage_terms_and_a_comparison(
    provider, buyer, outsider, django_capture_on_commit_callbacks
):
    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    listing = make_listing(provider, reviews, terms={"download": False, "model_training": True, "commercial_use": True})
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="c")
    teacher = _train(buyer, [reviews], django_capture_on_commit_callbacks, PARAMS).model
    client = api_client_for(buyer)

    url = f"/api/v1/models/{teacher.pk}/compress/"
    assert api_client_for(outsider).post(url, {"method": "int8"}).status_code == 404
    refused = client.post(f"/api/v1/models/{teacher.pk}/compress/", {"method": "prune"}, format="json")
    assert refused.status_code == 400 and "int8, distill" in refused.data["message"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/models/{teacher.pk}/compress/", {"method": "int8"}, format="json")
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.data['job']}/").data
    assert job["status"] == "succeeded", job

    small = TrainedModel.objects.get(pk=Job.objects.get(pk=job["id"]).result["model"])
    assert small.teacher_id == teacher.pk and small.lineage == teacher.lineage
    assert small.inherited_terms == teacher.inherited_terms and small.inherited_terms["download"] is False
    assert set(small.source_licenses.all()) == set(teacher.source_licenses.all())
    summary = small.metrics["compression"]
    assert summary["size_ratio"] < 1 and summary["compressed"]["size_bytes"] < summary["teacher"]["size_bytes"]
    assert summary["teacher"]["predict_p50_ms"] > 0 and summary["eval_rows"] == teacher.metrics["eval_rows"]
    assert summary["teacher"]["metrics"]["accuracy"] == teacher.metrics["accuracy"]
    assert 0 <= summary["agreement_with_teacher"] <= 1 and summary["timed_on"] == "cpu"
    assert (model_dir(small) / "model" / "quantized.pt").exists()

    detail = client.get(f"/api/v1/models/{teacher.pk}/").data
    assert detail["compressed"] == [small.pk]
    card = client.get(f"/api/v1/models/{small.pk}/").data["card_markdown"]
    assert f"## Compressed (int8) from model {teacher.pk}" in card and "rows, both on cpu (ms)" in card
    predicted = client.post(f"/api/v1/models/{small.pk}/predict/", {"inputs": ["love it", "broke"]}, format="json")
    assert predicted.status_code == 200 and {p["label"] for p in predicted.data["predictions"]} <= {"great", "other"}
    # The compressed model keeps the compute-only terms: no download.
    assert client.get(f"/api/v1/models/{small.pk}/download/").status_code == 403
    again = client.post(f"/api/v1/models/{small.pk}/compress/", {"method": "int8"}, format="json")
    assert again.status_code == 409


def test_make_it_smaller_from_the_model_page_lists_the_copy_next_to_its_teacher(
    provider, django_capture_on_commit_callbacks
):
    from django.test import Client

    from tests.conftest import PASSWORD

    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    teacher = _train(provider, [reviews], django_capture_on_commit_callbacks, PARAMS).model
    web = Client()
    web.login(username=provider.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/training/models/{teacher.pk}/compress/", {"method": "int8"})
    assert response.status_code == 302
    small = teacher.compressed.get()
    page = web.get(f"/training/models/{teacher.pk}/").content.decode()
    assert 'id="compress"' in page and f"/training/models/{small.pk}/" in page
    assert "Compressed from" in web.get(f"/training/models/{small.pk}/").content.decode()

    # The faster student's button sends the width; a width that is no number is refused with a message.
    assert 'name="width" value="0.5"' in page
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/training/models/{teacher.pk}/compress/", {"method": "distill", "width": "0.5"})
    narrow = teacher.compressed.exclude(pk=small.pk).get()
    assert narrow.metrics["compression"]["distill"]["width"] == 0.5
    refused = web.post(f"/training/models/{teacher.pk}/compress/", {"method": "distill", "width": "half"}, follow=True)
    assert "params.width must be a number." in refused.content.decode()
    assert teacher.compressed.count() == 2


def test_a_tabular_model_compresses_and_predicts_rows(provider, django_capture_on_commit_callbacks):
    # Every layer of the MLP is Linear, so the int8 copy has no float parameters left: predict must still find its
    # device (it failed with StopIteration in the first `make run` try).
    loans = make_ready_version(provider, django_capture_on_commit_callbacks, content=LOANS, title="Loans")
    params = {"epochs": 2, "batch_size": 8, "learning_rate": 0.01}
    training = _tabular_mix_job(provider, django_capture_on_commit_callbacks, [{"version": loans.pk}], params)
    client = api_client_for(provider)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/models/{training.model.pk}/compress/", {"method": "int8"}, format="json")
    job = Job.objects.get(pk=response.data["job"])
    assert job.status == "succeeded", job.error
    small = TrainedModel.objects.get(pk=job.result["model"])
    rows = [{"income": 9, "home": "own"}, {"income": 0, "home": "rent"}]
    predicted = client.post(f"/api/v1/models/{small.pk}/predict/", {"inputs": rows}, format="json")
    assert predicted.status_code == 200 and len(predicted.data["predictions"]) == 2


def test_distillation_trains_a_smaller_student_closer_to_its_teacher_with_the_same_lineage_and_terms(
    provider, buyer, django_capture_on_commit_callbacks
):
    reviews = make_ready_version(provider, django_capture_on_commit_callbacks, content=REVIEWS, title="Reviews")
    listing = make_listing(provider, reviews, terms={"download": False, "model_training": True, "commercial_use": True})
    listing_purchase(buyer=org_of(buyer), user=buyer, listing=listing, idempotency_key="d")
    # A teacher trained long enough to be sure of itself, so that a layer less changes what it says.
    confident = {"epochs": 6, "batch_size": 4, "learning_rate": 0.005}
    teacher = _train(buyer, [reviews], django_capture_on_commit_callbacks, confident).model
    client = api_client_for(buyer)
    url = f"/api/v1/models/{teacher.pk}/compress/"
    for body, field in [
        ({"method": "prune"}, "method"),
        ({"method": "distill", "params": {"layers": 0}}, "params"),
        ({"method": "distill", "params": {"epochs": 2.5}}, "params"),
        ({"method": "distill", "params": {"width": 8}}, "params"),
        ({"method": "distill", "params": {"augment": -1}}, "params"),
        ({"method": "distill", "params": {"augment": 1.5}}, "params"),
        ({"method": "int8", "params": {"epochs": 2}}, "params"),
    ]:
        refused = client.post(url, body, format="json")
        assert refused.status_code == 400 and refused.data["extra"]["field"] == field, (body, refused.data)
    # Full width, and a learning rate that stays small over the 8 altered copies of each row: on this 2-layer random
    # model the student starts within 5e-5 of its teacher, and 0.005 (or 15% fewer feed-forward units) moved it away.
    params = {"epochs": 4, "learning_rate": 0.001, "hard_label_weight": 0, "width": 1.0}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"method": "distill", "params": params}, format="json")
    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.data['job']}/").data
    assert job["status"] == "succeeded", job

    student = TrainedModel.objects.get(pk=Job.objects.get(pk=job["id"]).result["model"])
    assert student.teacher_id == teacher.pk and student.lineage == teacher.lineage
    assert student.inherited_terms == teacher.inherited_terms
    assert set(student.source_licenses.all()) == set(teacher.source_licenses.all())
    summary = student.metrics["compression"]
    distilled = summary["distill"]
    # tiny-random-bert has 2 transformer layers: the student keeps one, and learnt to be nearer its teacher.
    assert distilled["teacher_layers"] == 2 and distilled["layers"] == 1 and distilled["steps"] > 0
    assert distilled["kl_to_teacher_after"] < distilled["kl_to_teacher_before"]
    assert summary["compressed"]["parameters"] < summary["teacher"]["parameters"]
    assert summary["eval_rows"] == teacher.metrics["eval_rows"]
    card = client.get(f"/api/v1/models/{student.pk}/").data["card_markdown"]
    assert f"## Compressed (distill) from model {teacher.pk}" in card and "A student of 1 of the teacher's 2" in card
    assert f"| rows labelled as the teacher labels them | 1 | {summary['agreement_with_teacher']} |" in card
    # A small training set: by default the teacher also labels altered copies of every row, and the card says so.
    assert distilled["augment"] == compression.augment_copies(distilled["rows"]) > 0
    assert distilled["augmented_rows"] == distilled["augment"] * distilled["rows"]
    assert f"{distilled['augment']} altered copies of each training row" in card
    predicted = client.post(f"/api/v1/models/{student.pk}/predict/", {"inputs": ["love it", "broke"]}, format="json")
    assert predicted.status_code == 200 and {p["label"] for p in predicted.data["predictions"]} <= {"great", "other"}
    assert client.get(f"/api/v1/models/{student.pk}/download/").status_code == 403

    # A narrower student: half of each kept layer's feed-forward units, fewer parameters than the full-width one.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"method": "distill", "params": {"width": 0.5, "epochs": 2, "augment": 0}}, format="json"
        )
    job = client.get(f"/api/v1/jobs/{response.data['job']}/").data
    assert job["status"] == "succeeded", job
    narrow = TrainedModel.objects.get(pk=Job.objects.get(pk=job["id"]).result["model"])
    distilled = narrow.metrics["compression"]["distill"]
    assert distilled["width"] == 0.5 and distilled["layers"] == 1
    assert distilled["feed_forward_units"] == round(distilled["teacher_feed_forward_units"] * 0.5)
    assert narrow.metrics["compression"]["compressed"]["parameters"] < summary["compressed"]["parameters"]
    card = client.get(f"/api/v1/models/{narrow.pk}/").data["card_markdown"]
    units = f"({distilled['feed_forward_units']} of {distilled['teacher_feed_forward_units']})"
    assert f"keeps 0.5 of the teacher's feed-forward units {units}" in card
    assert distilled["augmented_rows"] == 0 and "altered copies" not in card  # the buyer turned the copies off
    predicted = client.post(f"/api/v1/models/{narrow.pk}/predict/", {"inputs": ["love it", "broke"]}, format="json")
    assert predicted.status_code == 200 and len(predicted.data["predictions"]) == 2


def test_a_narrower_student_keeps_the_feed_forward_units_that_carry_weight():
    """Units whose weights in and out are zero add nothing: narrowing to the others changes no output."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from training.compression import _narrow_feed_forward

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=8)
    model = BertForSequenceClassification(config).eval()
    idle = torch.tensor([0, 3, 4, 6])
    with torch.no_grad():
        for layer in model.bert.encoder.layer:
            layer.intermediate.dense.weight[idle] = 0
            layer.intermediate.dense.bias[idle] = 0
            layer.output.dense.weight[:, idle] = 0
    inputs = {"input_ids": torch.tensor([[1, 5, 9, 2], [1, 7, 3, 2]])}
    with torch.no_grad():
        before = model(**inputs).logits
    _narrow_feed_forward(model, 0.5)
    with torch.no_grad():
        after = model(**inputs).logits
    assert model.config.intermediate_size == 4
    assert all(layer.intermediate.dense.out_features == 4 for layer in model.bert.encoder.layer)
    assert torch.allclose(before, after, atol=1e-6)


def test_int8_rows_keep_each_embedding_row_within_half_a_step_of_its_own_scale():
    import torch

    from training.compression import dequantize_rows, quantize_rows

    weight = torch.randn(50, 16) * torch.logspace(-3, 1, 50)[:, None]  # rows of very different ranges
    rows, scales = quantize_rows(weight)
    assert rows.dtype == torch.int8 and scales.shape == (50,)
    error = (dequantize_rows(rows, scales) - weight).abs().amax(dim=1)
    assert bool((error <= scales / 2 + 1e-7).all())
    # A per-tensor scale would have rounded the small rows to zero; per row, each keeps its shape.
    assert bool((rows.abs().amax(dim=1) == 127).all())


def test_agreement_counts_the_rows_labelled_as_the_teacher_labels_them():
    from training.compression import agreement

    assert agreement(["a", "b", "b", "a"], ["a", "b", "a", "a"]) == 0.75
    assert agreement([], []) is None
    with pytest.raises(ValueError, match="same rows"):
        agreement(["a"], ["a", "b"])


def test_augmented_copies_alter_each_training_text_the_same_way_for_the_same_seed():
    texts = [f"review number {i} says the blender is loud but it works well" for i in range(40)]
    copies = compression.augmented_texts(texts, 3, seed=7, mask_token="[MASK]")
    assert copies == compression.augmented_texts(texts, 3, seed=7, mask_token="[MASK]")
    assert len(copies) == 3 * len(texts)
    vocabulary = {word for text in texts for word in text.split()} | {"[MASK]"}
    assert all(copy and set(copy.split()) <= vocabulary for copy in copies)
    changed = sum(copy != texts[i % len(texts)] for i, copy in enumerate(copies))
    assert changed > 0.5 * len(copies) and sum("[MASK]" in copy for copy in copies) > 0
    assert any(len(copy.split()) < len(texts[0].split()) for copy in copies)  # some cut to a window


def test_the_default_copies_grow_a_small_training_set_and_leave_a_large_one_alone():
    assert compression.augment_copies(256) == 8
    assert compression.augment_copies(1024) == 2
    assert compression.augment_copies(10) == compression.AUGMENT_MAX_COPIES
    assert compression.augment_copies(compression.AUGMENT_TRANSFER_ROWS) == 0
    assert compression.augment_copies(50_000) == 0


def test_models_served_on_two_devices_are_timed_on_one(tmp_path, monkeypatch):
    """An int8 copy is served on the CPU whatever the worker has; its teacher on a GPU worker's GPU. Timing each where
    it is served compared the devices (the card said the int8 copy was many times slower than its teacher): both
    are then timed on the CPU, from a CPU copy of the teacher, without going through `predict`."""
    from tests.training.test_trainer import TABULAR
    from training.registry import BASE_MODELS
    from training.trainer import TrainConfig, train

    config = TrainConfig(task="tabular-classification", epochs=1, batch_size=8, early_stopping=False)
    train(BASE_MODELS["tabular-mlp"], TABULAR, tmp_path / "teacher", config)
    compression.quantize_int8(tmp_path / "teacher", tmp_path / "int8")
    dirs, rows = [tmp_path / "teacher", tmp_path / "int8"], [{"income": 9.0, "home": "own", "age": 3}] * 4
    assert compression.serving_devices(dirs) == ["cpu", "cpu"]
    p50s, device = compression.latency_p50_ms(dirs, rows, repeats=3)
    assert device == "cpu" and all(p > 0 for p in p50s)

    # As on a GPU worker, where the teacher would be served on cuda.
    monkeypatch.setattr(compression, "serving_devices", lambda model_dirs: ["cuda", "cpu"])
    monkeypatch.setattr(compression, "predict", lambda *args, **kwargs: pytest.fail("timed through predict"))
    p50s, device = compression.latency_p50_ms(dirs, rows, repeats=3)
    assert device == "cpu" and all(p > 0 for p in p50s)
