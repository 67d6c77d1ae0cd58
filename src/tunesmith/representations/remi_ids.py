"""MidiTok's REMI token ids for a preprocessed score, made from the score's note arrays.

MidiTok stays the tokenizer: its vocabulary, its preprocessing (resampling, quantised velocities, durations and
tempos), its decoding. What this module re-expresses is only the last step of `REMI.encode` for the
configuration tunesmith uses (programs in one stream, no rests, chords, pedals, bends, control changes, pitch
intervals, key signatures or attribute controls): MidiTok builds an `Event` object for every token and walks
them in Python (about 14 us a note); here the note tokens come from the note arrays at once, and only the
onsets are walked, in the order and with the bar and position arithmetic of `REMI._add_time_events`.

`remi_ids` returns None for any tokenizer or score outside that scope, and the caller then asks MidiTok; the
tests check the ids against MidiTok's, id for id, on the bundled corpora and on made scores with tempo and
time-signature changes, pickups, drums and empty tracks.
"""

from __future__ import annotations

from typing import Any

import miditok
import numpy as np
from miditok.constants import TIME_SIGNATURE
from miditok.utils import get_score_ticks_per_beat

_OFF = ("use_rests", "use_chords", "use_sustain_pedals", "use_pitch_bends", "use_control_changes",
        "use_pitch_intervals", "use_key_signatures", "program_changes")


def in_scope(tokenizer: miditok.MusicTokenizer) -> bool:
    """Whether `remi_ids` can make this tokenizer's ids (otherwise MidiTok's own encode is used)."""
    config = tokenizer.config
    extra = config.additional_params
    return (type(tokenizer) is miditok.REMI and config.use_programs and config.one_token_stream_for_programs
            and not any(getattr(config, flag) for flag in _OFF) and not tokenizer.attribute_controls
            and not extra.get("use_bar_end_tokens") and not extra.get("add_trailing_bars")
            and extra.get("max_bar_embedding") is None)


def remi_ids(tokenizer: miditok.MusicTokenizer, score: Any) -> list[int] | None:
    """The ids `tokenizer.encode(score, no_preprocess_score=True)` gives, for a score already preprocessed by
    `tokenizer.preprocess_score`; None when the tokenizer or a track is outside this module's scope."""
    if not in_scope(tokenizer):
        return None
    try:
        times, is_sig, sigs, body, lengths = _items(tokenizer, score)
        if len(times) == 0:
            return []
        return _with_time_tokens(tokenizer, score.ticks_per_quarter, times, is_sig, sigs, body, lengths)
    except (KeyError, IndexError):  # a value MidiTok's vocabulary lacks: MidiTok says what it is
        return None


def _items(tokenizer: miditok.MusicTokenizer, score: Any) -> tuple[np.ndarray, np.ndarray, list, np.ndarray,
                                                                   np.ndarray]:
    """The events MidiTok gathers before its time tokens, sorted by time as it sorts them (stable): each
    global event (time signatures, then tempos) one token, each note its Program, Pitch, Velocity and Duration
    tokens. Returns their times, which are time signatures (and their values), the flat token ids in that
    order and each item's number of tokens."""
    config, vocab = tokenizer.config, tokenizer.vocab
    times: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    sigs = [(sig.numerator, sig.denominator) for sig in score.time_signatures] if config.use_time_signatures else []
    if config.use_time_signatures:
        times.append(np.asarray([sig.time for sig in score.time_signatures], dtype=np.int64))
        rows.append(np.asarray([[vocab[f"TimeSig_{n}/{d}"], -1, -1, -1] for n, d in sigs],
                               dtype=np.int64).reshape(-1, 4))
    if config.use_tempos:
        times.append(np.asarray([tempo.time for tempo in score.tempos], dtype=np.int64))
        rows.append(np.asarray([[vocab[f"Tempo_{round(tempo.tempo, 2)}"], -1, -1, -1] for tempo in score.tempos],
                               dtype=np.int64).reshape(-1, 4))
    if config.use_time_signatures and len(score.time_signatures) > 0:
        beats = get_score_ticks_per_beat(score)
    else:
        beats = np.array([[score.end(), tokenizer.time_division]])
    pitch_table = _table(vocab, "Pitch", range(128))
    drum_table = _table(vocab, "PitchDrum" if config.use_pitchdrum_tokens else "Pitch", range(128))
    velocity_table = _table(vocab, "Velocity", range(128))
    for track in score.tracks:
        notes = track.notes.numpy()
        if len(notes["time"]) == 0:
            continue
        program = -1 if track.is_drum else int(track.program)
        block = np.full((len(notes["time"]), 4), -1, dtype=np.int64)
        block[:, 0] = vocab[f"Program_{program}"]
        block[:, 1] = (drum_table if track.is_drum else pitch_table)[notes["pitch"]]
        if config.use_velocities:
            block[:, 2] = velocity_table[notes["velocity"]]
        if program in config.use_note_duration_programs:
            section = np.searchsorted(beats[:, 0], notes["time"], side="right")
            block[:, 3] = _durations(tokenizer, beats[:, 1][section], notes["duration"])
        if (block[:, :2] < 0).any() or (config.use_velocities and (block[:, 2] < 0).any()):
            raise KeyError("a pitch or velocity outside the vocabulary")
        times.append(notes["time"].astype(np.int64))
        rows.append(block)
    all_times = np.concatenate(times) if times else np.zeros(0, np.int64)
    order = np.argsort(all_times, kind="stable")
    table = np.concatenate(rows)[order] if rows else np.zeros((0, 4), np.int64)
    is_sig = np.zeros(len(all_times), dtype=bool)
    is_sig[:len(sigs)] = True
    lengths = (table >= 0).sum(axis=1)
    return all_times[order], is_sig[order], _sig_values(order, sigs), table[table >= 0], lengths


def _sig_values(order: np.ndarray, sigs: list[tuple[int, int]]) -> list[tuple[int, int] | None]:
    """The time signature of each sorted item (None for the others)."""
    return [sigs[i] if i < len(sigs) else None for i in order.tolist()]


def _table(vocab: dict[str, int], kind: str, values: range) -> np.ndarray:
    """Id of `kind_value` for each value (-1 where the vocabulary lacks it)."""
    return np.asarray([vocab.get(f"{kind}_{v}", -1) for v in values], dtype=np.int64)


def _durations(tokenizer: miditok.MusicTokenizer, beat_ticks: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Duration token ids, each looked up in MidiTok's own ticks-to-duration table of its section."""
    pairs, inverse = np.unique(np.stack([beat_ticks, durations]), axis=1, return_inverse=True)
    vocab, tables = tokenizer.vocab, tokenizer._tpb_ticks_to_tokens
    ids = np.asarray([vocab[f"Duration_{tables[int(tpb)][int(ticks)]}"] for tpb, ticks in pairs.T], dtype=np.int64)
    return ids[inverse.reshape(-1)]


def _with_time_tokens(tokenizer: miditok.MusicTokenizer, tpq: int, times: np.ndarray, is_sig: np.ndarray,
                      sigs: list, body: np.ndarray, lengths: np.ndarray) -> list[int]:
    """Bar, TimeSig and Position tokens put before the sorted items, as `REMI._add_time_events` puts them: the
    items are walked a run of equal times at a time (a time signature is a run of its own, as MidiTok
    re-positions the event after one)."""
    vocab, use_sigs = tokenizer.vocab, tokenizer.config.use_time_signatures
    bar_id = vocab["Bar_None"]
    first_sig = next((s for s in sigs if s is not None), None)
    current_sig = first_sig or TIME_SIGNATURE
    sig_time = int(times[[s is not None for s in sigs].index(True)]) if first_sig else 0
    per_bar, _, per_pos = tokenizer._compute_ticks_per_units(sig_time, current_sig, tpq)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # runs: a new one where the time changes, and every time signature alone
    cut = np.ones(len(times), dtype=bool)
    cut[1:] = (times[1:] != times[:-1]) | is_sig[1:] | is_sig[:-1]
    run_starts = np.flatnonzero(cut)
    run_ends = np.append(run_starts[1:], len(times))
    flat = body.tolist()
    out: list[int] = []
    current_bar, bar_at_sig, tick_at_sig, tick_at_bar, previous = -1, 0, 0, 0, -1
    for first, last in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        time, signature = int(times[first]), bool(is_sig[first])
        if time != previous:
            new_bars = bar_at_sig + (time - tick_at_sig) // per_bar - current_bar
            for i in range(new_bars):
                current_bar += 1
                tick_at_bar = tick_at_sig + (current_bar - bar_at_sig) * per_bar
                out.append(bar_id)
                if use_sigs and not (signature and i + 1 == new_bars):
                    out.append(vocab[f"TimeSig_{current_sig[0]}/{current_sig[1]}"])
            if not signature:
                out.append(vocab[f"Position_{(time - tick_at_bar) // per_pos}"])
            previous = time
        if signature:
            bar_at_sig += (time - tick_at_sig) // per_bar
            tick_at_sig = time
            current_sig = sigs[first]
            per_bar, _, per_pos = tokenizer._compute_ticks_per_units(time, current_sig, tpq)
            previous -= 1
        out.extend(flat[int(starts[first]):int(ends[last - 1])])
    return out
