"""Length-grouped batching: bounded padding and bounded batch size."""

import numpy as np

from workvec.runtime.tokenizer import MAX_BATCH_TOKENS, PAD_SLACK, plan_batches


def test_batches_cover_every_text_once_longest_first() -> None:
    lengths = np.random.default_rng(0).integers(3, 300, size=500)
    batches = plan_batches(lengths, 32)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    assert all(len(b) <= 32 for b in batches)
    widths = [int(lengths[b[0]]) for b in batches]
    assert widths == sorted(widths, reverse=True)


def test_no_text_is_mostly_padding() -> None:
    lengths = np.array([300, 250, 40, 38, 20, 12, 11, 10, 9, 8, 7, 6, 5, 5, 3])
    for batch in plan_batches(lengths, 8):
        width = int(lengths[batch[0]])
        for n in lengths[batch]:
            assert 2 * n >= width or width - n <= PAD_SLACK


def test_long_texts_get_fewer_rows() -> None:
    lengths = np.full(64, 512)
    assert all(len(b) * 512 <= MAX_BATCH_TOKENS for b in plan_batches(lengths, 64))


def test_short_similar_titles_fill_whole_batches() -> None:
    lengths = np.random.default_rng(1).integers(4, 12, size=200)
    assert [len(b) for b in plan_batches(lengths, 64)] == [64, 64, 64, 8]


def test_jobbert_length_is_recognised_from_a_local_copy(tmp_path) -> None:
    from workvec.export.source import _max_len

    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 512}')
    assert _max_len(tmp_path, str(tmp_path), None) == 512
    (tmp_path / "README.md").write_text("---\nbase_model: x\n---\n# TechWolf/JobBERT-v2\n")
    assert _max_len(tmp_path, str(tmp_path), None) == 64
    assert _max_len(tmp_path, str(tmp_path), 128) == 128
