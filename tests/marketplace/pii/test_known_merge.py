"""Identifiers collected chunk by chunk on other workers and merged in chunk order are the identifiers of one pass:
the same words, the same whole values with the same entity (the first seen wins), the same first-word lengths."""

import re

import numpy as np
import pandas as pd

from marketplace.pii import Scrubber, ScrubPolicy
from marketplace.pii.benchdata import generate_customers
from marketplace.pii.text import KnownIdentifiers


def _entities_by_key(known: KnownIdentifiers) -> dict[int, str]:
    known._compact()
    return {int(k): known._entities[c] for k, c in zip(known._keys, known._codes, strict=True)}


def test_merged_partials_equal_one_pass_even_when_a_value_changes_entity_between_chunks():
    values = [
        ("Ada Lovelace", "PERSON"),
        ("ada@example.org", "EMAIL_ADDRESS"),
        ("12 Main Street Springfield", "LOCATION"),
    ]
    later = [("ada@example.org", "PERSON"), ("+44 20 7946 0958", "PHONE_NUMBER"), ("Main Road 4", "LOCATION")]
    one_pass = KnownIdentifiers()
    for value, entity in values + later:
        one_pass.add(value, entity)

    merged, second = KnownIdentifiers(), KnownIdentifiers()
    for value, entity in values:
        merged.add(value, entity)
    for value, entity in later:
        second.add(value, entity)
    merged.merge(second)

    assert _entities_by_key(merged) == _entities_by_key(one_pass)
    assert _entities_by_key(merged)  # not vacuous
    assert merged.tokens == one_pass.tokens and merged.max_words == one_pass.max_words
    assert np.array_equal(merged._first, one_pass._first)
    assert np.array_equal(merged._first_words, one_pass._first_words)
    assert merged._ordinary_firsts == one_pass._ordinary_firsts


def test_a_scrubber_that_absorbs_chunks_collected_elsewhere_scrubs_like_one_that_observed_them():
    frame = generate_customers(300, seed=7)[0].astype(object)
    chunks = [frame.iloc[start : start + 60] for start in range(0, len(frame), 60)]
    observed = Scrubber(policy=ScrubPolicy(), salt=b"s")
    observed.fit(frame.head(100))
    for chunk in chunks:
        observed.observe(chunk)

    coordinator = Scrubber(policy=ScrubPolicy(), salt=b"s")
    coordinator.fit(frame.head(100))
    for chunk in chunks:
        coordinator.observe_columns(chunk)
    partials = [coordinator.collect_known(chunk) for chunk in chunks]  # as helpers would, in any order
    for partial in partials:
        coordinator.absorb_known(partial)

    assert _entities_by_key(coordinator.known) == _entities_by_key(observed.known)
    got = pd.concat([coordinator.transform(c) for c in chunks])
    expected = pd.concat([observed.transform(c) for c in chunks])
    pd.testing.assert_frame_equal(got, expected)
    names = "|".join(re.escape(name) for name in frame["full_name"].head(20))
    assert not got["notes"].str.contains(names, regex=True).any()


def test_inserting_new_values_into_the_sorted_arrays_matches_re_sorting_everything():
    """`_append` inserts a batch into the sorted arrays instead of re-sorting all of them (a million-row upload holds
    ~7M values): the same keys, entities (first seen wins) and first-word lengths (longest wins) as re-sorting."""

    def resorted(state, keys, codes, first, lengths):
        held_keys, held_codes, held_first, held_lengths = state
        all_keys, all_codes = np.concatenate([held_keys, keys]), np.concatenate([held_codes, codes])
        held_keys, index = np.unique(all_keys, return_index=True)
        all_first, all_lengths = np.concatenate([held_first, first]), np.concatenate([held_lengths, lengths])
        held_first, inverse = np.unique(all_first, return_inverse=True)
        longest = np.zeros(len(held_first), dtype=np.uint8)
        np.maximum.at(longest, inverse, all_lengths)
        return held_keys, all_codes[index], held_first, longest

    rng = np.random.default_rng(0)
    known = KnownIdentifiers()
    state = (np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint64), np.zeros(0, np.uint8))
    for _ in range(30):
        n = int(rng.integers(0, 500))
        batch = (
            rng.integers(0, 2000, n).astype(np.uint64),
            rng.integers(0, 4, n).astype(np.uint8),
            rng.integers(0, 800, n).astype(np.uint64),
            rng.integers(1, 24, n).astype(np.uint8),
        )
        known._append(*batch)
        state = resorted(state, *batch)
        got = (known._keys, known._codes, known._first, known._first_words)
        assert all(np.array_equal(a, b) for a, b in zip(got, state, strict=True))
    assert len(known._keys) > 1000
