"""TitleNormalizer.answer: cleaned titles, the original kept, and the calibrated no-match floor (real MiniLM
title bundle, the embedded ESCO occupations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.taxonomy import load_taxonomy
from workvec.runtime.title_answer import no_match_floor
from workvec.runtime.titles import DEFAULT_TAXONOMY, TitleNormalizer
from conftest import shared_index_dir


@pytest.fixture(scope="module")
def normalizer(minilm_title: Path, tmp_path_factory) -> TitleNormalizer:
    encoder = Encoder.open(minilm_title, precision="int8", providers="cpu", threads=1)
    labels = LabelIndex.open(encoder, load_taxonomy(DEFAULT_TAXONOMY),
                             index_dir=shared_index_dir(tmp_path_factory, "esco-occupations"), progress=False)
    return TitleNormalizer(encoder, labels)


def test_default_taxonomy_is_esco_occupations() -> None:
    assert DEFAULT_TAXONOMY == "esco-occupations"
    assert len(load_taxonomy(DEFAULT_TAXONOMY)) == 2942


@pytest.mark.integration
def test_answers_clean_keep_the_query_and_flag_no_match(normalizer: TitleNormalizer) -> None:
    titles = ["Warehouse Worker (m/w/d)", "Pflegefachkraft", "   "]
    worker, german, blank = normalizer.answer(titles, k=3)
    assert (worker.query, worker.cleaned, worker.no_match) == ("Warehouse Worker (m/w/d)", "Warehouse Worker", False)
    assert "warehouse worker" in [m.label for m in worker.matches[:2]]  # ties with "warehouse order picker" (0.99)
    assert german.no_match and len(german.matches) == 3  # best candidates kept for inspection
    assert german.matches[0].score < no_match_floor(normalizer.encoder, "esco-occupations")
    assert blank.no_match and blank.matches == ()
    assert worker.to_json()["query"] == "Warehouse Worker (m/w/d)"


@pytest.mark.integration
def test_cleaning_and_floor_can_be_turned_off(normalizer: TitleNormalizer) -> None:
    (raw,) = normalizer.answer(["Pflegefachkraft (m/w/d)"], k=2, clean=False, floor=None)
    assert raw.cleaned == raw.query and raw.no_match is False


@pytest.mark.integration
def test_the_floor_belongs_to_its_model(normalizer: TitleNormalizer, minilm_skill: Path) -> None:
    assert no_match_floor(normalizer.encoder, "esco-occupations") == pytest.approx(0.535)
    assert no_match_floor(normalizer.encoder, "onet") is None  # not calibrated: never says no_match
    other = Encoder.open(minilm_skill, precision="int8", providers="cpu", threads=1)
    assert no_match_floor(other, "esco-occupations") is None
