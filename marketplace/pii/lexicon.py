"""Word lists that decide most capitalised words of free text without running the NER.

spaCy's NER is by far the most expensive step of scrubbing notes. A capitalised word left in a note after the known
identifiers and the pattern recognizers have matched is usually one of three things: a personal name part (a given
name or a surname), an ordinary word (sentence openers, capitalised vocabulary) or a place or organisation. The
first is redacted straight away, the second and third are kept, and only words that fit none of the lists, or are
ambiguous (a name part that is also an everyday English word, like "Young" or "Black"), are left to the NER.

Sources, all offline: given names and surnames of every Faker locale's person provider, the FakeNameGenerator sample
of presidio-evaluator (when installed), English and European word frequencies from `wordfreq`, places from Faker's
address providers (cities, regions, countries; never street names), presidio-evaluator's organisations and
nationalities, and the drug dictionary of the `drug-named-entity-recognition` package (generic and brand names from
MedlinePlus, DrugBank and the NHS): a note's "Lisinopril" or "Zoloft" is read from it, not from the NER.
"""

from __future__ import annotations

import bz2
import csv
import importlib
import importlib.util
import json
import os
import pickle
import re
import threading
from functools import cache
from pathlib import Path

_TOKEN_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_lock = threading.Lock()

NAME_ATTRIBUTES = None  # every list attribute of a person provider whose name says first or last names
PLACE_ATTRIBUTES = (
    "cities",
    "city_names",
    "real_city_names",
    "towns",
    "villages",
    "municipalities",
    "countries",
    "states",
    "estados",
    "regions",
    "region_names",
    "provinces",
    "districts",
    "departments",
    "counties",
    "cantons",
    "communes",
    "localities",
    "prefectures",
)
# Other languages whose frequent words are kept as ordinary vocabulary (the locales of the benchmark's identities).
VOCABULARY_LANGUAGES = {"en": 30_000, "de": 10_000, "fr": 10_000, "es": 10_000, "it": 10_000, "nl": 10_000}


def _tokens(value: object) -> list[str]:
    return [t.lower() for t in _TOKEN_RE.findall(str(value)) if len(t) >= 2]


def _is_name_list(attribute: str) -> bool:
    # first_names, last_names_female, unisex_last_names, male_last_names...; never prefixes ("Dr") or formats
    return ("first_name" in attribute or "last_name" in attribute) and not any(
        part in attribute for part in ("prefix", "suffix", "format", "romanized")
    )


def _provider_lists(module_prefix: str, attributes: tuple[str, ...] | None) -> set[str]:
    from faker.config import AVAILABLE_LOCALES

    words: set[str] = set()
    for locale in ("", *AVAILABLE_LOCALES):
        try:
            module = importlib.import_module(f"{module_prefix}.{locale}" if locale else module_prefix)
        except ImportError:
            continue
        provider = module.Provider
        for klass in provider.__mro__:
            # Lists may be inherited from a base locale; some providers shadow them with properties.
            for attribute, values in vars(klass).items():
                if not isinstance(values, list | tuple | dict):
                    continue
                if attributes is None and _is_name_list(attribute) or attributes and attribute in attributes:
                    for value in values:
                        words.update(_tokens(value))
    return words


def evaluator_raw_data(name: str) -> Path | None:
    """A file of presidio-evaluator's generator data, if that package is installed (it is read, never imported)."""
    spec = importlib.util.find_spec("presidio_evaluator")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data_generator" / "raw_data" / name
    return path if path.exists() else None


def _evaluator_column(name: str, columns: tuple[str, ...]) -> set[str]:
    path = evaluator_raw_data(name)
    if path is None:
        return set()
    words: set[str] = set()
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for row in csv.DictReader(handle):
            for column in columns:
                words.update(_tokens(row.get(column) or ""))
    return words


def _build_person_names() -> frozenset[str]:
    names = _provider_lists("faker.providers.person", NAME_ATTRIBUTES)
    names |= _evaluator_column("FakeNameGenerator.com_3000.csv", ("GivenName", "Surname", "MothersMaiden"))
    return frozenset(names)


@cache
def _frequent(language: str, count: int) -> tuple[str, ...]:
    try:
        import wordfreq
    except ImportError:  # pragma: no cover - wordfreq is a dependency
        return ()
    # The "small" lists (about 30,000 words each) hold the top words; the large ones cost ~70 MB per language.
    return tuple(wordfreq.top_n_list(language, count, wordlist="small"))


def _build_dictionary_words() -> frozenset[str]:
    from faker.providers.lorem.en_US import Provider

    return frozenset(word.lower() for word in Provider.word_list)


def _build_ordinary_words() -> frozenset[str]:
    words: set[str] = set()
    for language, count in VOCABULARY_LANGUAGES.items():
        words.update(_frequent(language, count))
    words |= _provider_lists("faker.providers.address", PLACE_ATTRIBUTES)
    words |= _provider_lists("faker.providers.company", ("company_prefixes", "company_suffixes"))
    words |= _provider_lists("faker.providers.job", ("jobs", "jobs_male", "jobs_female"))
    words |= _evaluator_column("companies_and_organizations.csv", ("organization",))
    words |= _evaluator_column("nationalities.csv", ("country", "nationality", "man", "woman", "plural"))
    return frozenset(words)


DRUG_PACKAGE = "drug_named_entity_recognition"


def _build_drug_names() -> frozenset[str]:
    # The package's dictionary file is read, not the package imported: its import sets up on-line lookups and a
    # cache file in the home folder.
    spec = importlib.util.find_spec(DRUG_PACKAGE)
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path, "rb") as handle:
        variants = pickle.load(handle)["drug_variant_to_canonical"]  # the package's own data file
    return frozenset(name for name in variants if len(name) >= 4 and name.isalpha())


FREQUENT_ENGLISH = 5_000  # everyday English words: a weak cue (a reporting verb) alone does not make one a name

_BUILDERS = {
    "person_names": _build_person_names,
    "dictionary_words": _build_dictionary_words,
    "ordinary_words": _build_ordinary_words,
    "drug_names": _build_drug_names,
    "frequent_english": lambda: frozenset(_frequent("en", FREQUENT_ENGLISH)),
}
CACHE_ENV = "TESSERA_LEXICON_CACHE"  # a folder for the built lists; empty turns the cache off
SOURCE_PACKAGES = ("faker", "wordfreq", "presidio-evaluator", "drug-named-entity-recognition")


def cache_file(name: str) -> Path | None:
    """Where the built list `name` is kept between processes (`$TESSERA_LEXICON_CACHE`, else ~/.cache/tessera), named
    by a key of this module's code and the versions of the packages the lists come from: a new version of either
    makes a new file. None when the cache is turned off, or when there is no setting and no home folder (a
    container user without one)."""
    folder = os.environ.get(CACHE_ENV)
    if folder == "":
        return None
    if folder is None:
        try:
            folder = str(Path.home() / ".cache" / "tessera")
        except (RuntimeError, KeyError):
            return None
    return Path(folder) / f"lexicon-{_sources_key()}-{name}.json"


@cache
def _sources_key() -> str:
    import hashlib
    from importlib import metadata

    key = hashlib.sha256(Path(__file__).read_bytes())
    for package in SOURCE_PACKAGES:
        try:
            key.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            key.update(f"{package}=absent".encode())
    return key.hexdigest()[:16]


@cache
def _list(name: str) -> frozenset[str]:
    """One list, read from its cache file (hundredths of a second) or built from the packages (up to a second each:
    most of a small file's scrub) and then written there for the next process. Each is loaded only when first
    needed. A file that cannot be read or written only makes a slower start."""
    with _lock:
        path = cache_file(name)
        if path is not None:
            try:
                return frozenset(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                pass
        built = _BUILDERS[name]()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                partial.write_text(json.dumps(sorted(built)), encoding="utf-8")
                os.replace(partial, path)  # readers see the whole file or none
            except OSError:
                pass
        return built


def person_names() -> frozenset[str]:
    """Lower-case given-name and surname parts (two letters or more)."""
    return _list("person_names")


def dictionary_words() -> frozenset[str]:
    """About a thousand everyday English words that are never names in lower case ("will", "day", "black").

    A name part that is also one of them is ambiguous ("Will", "Young") and left to the NER; word frequency lists
    cannot tell, as they count "margaret" and "thompson" among the five thousand most frequent English words."""
    return _list("dictionary_words")


def ordinary_words() -> frozenset[str]:
    """Frequent words of several languages, places and organisations: capitalised, they still name no person."""
    return _list("ordinary_words")


def drug_names() -> frozenset[str]:
    """Lower-case one-word drug names (generic and brand, four letters or more) of a maintained drug dictionary.
    Kept apart from `ordinary_words`, which decide more than capitalised words."""
    return _list("drug_names")


def warm() -> None:
    """Build or read every list now (once per process; forked workers inherit them)."""
    for name in _BUILDERS:
        _list(name)


# Endings of town names in English-speaking countries ("Joshuafort", "Kayleighborough", "Port Hayleyborough").
PLACE_ENDINGS = (
    *("ville", "borough", "burgh", "bury", "chester", "fort"),
    *("furt", "haven", "mouth", "shire", "side", "stad"),
)


def is_place_name(folded: str) -> bool:
    """A town name built from a word and a common English place ending."""
    return any(folded.endswith(ending) and len(folded) >= len(ending) + 3 for ending in PLACE_ENDINGS)


def is_frequent(word: str) -> bool:
    """Whether `word` is among the most frequent English words (wordfreq), whatever its capitalisation."""
    return word.lower().strip("'’") in _list("frequent_english")
