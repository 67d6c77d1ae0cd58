"""One token generation from start to checked Pieces: the conditioning prefix, a fresh piece, a primer's
continuation or an infilled gap, the loop seam, then the piece-level controls and the checks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from tunesmith.controls.arrange import (
    apply_tempo,
    set_instruments,
    set_time_signature,
    splice_bars,
    transpose_to_key,
)
from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import resolve_targets
from tunesmith.errors import ControlError
from tunesmith.generation.checks import check_piece
from tunesmith.generation.masks import Melody, MusicConstraints
from tunesmith.generation.sample import TOKENS_PER_BAR_LIMIT, Plan, sample_rows
from tunesmith.instruments import DRUMS, program_number
from tunesmith.piece import Piece
from tunesmith.representations.conditioning import density_level, notes_per_bar
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.runs import TrainedRun
from tunesmith.theory import DENSITY_LEVELS

log = logging.getLogger(__name__)


def split_bars(ids: list[int], bar_id: int) -> list[list[int]]:
    """Token ids cut at bar lines: one list per bar, each beginning with its Bar token."""
    bars: list[list[int]] = []
    for token in ids:
        if token == bar_id:
            bars.append([])
        if bars:
            bars[-1].append(token)
    return bars


# the bars a loop's last bar is written between: this many before it, and this many of the piece's first bars
LOOP_CONTEXT = (4, 2)


class TokenGeneration:
    """Everything one `generate` call on a token model needs, worked out once."""

    def __init__(self, run: TrainedRun, controls: Controls, use_cache: bool = True, guess: bool = True):
        self.run, self.controls, self.use_cache, self.guess = run, controls, use_cache, guess
        if not isinstance(run.representation, TokenRepresentation):
            raise ControlError(f"{run.path} is a {run.family.name} run, not a token model's")
        self.rep = run.representation
        self.cv = self.rep.conditions
        self.primer = controls.primer_piece()
        self.targets = resolve_targets(controls, self.primer, self.rep.density_edges)
        self.window = int(getattr(run.model, "context", None) or run.config.get("model", {}).get("window", 512))
        # Program events stay among the programs the run was trained on (the asked ones when it knows them
        # all; otherwise the piece is re-voiced for the asked instruments afterwards). These are real programs:
        # the masks allow every voice of each (a run with a voice table writes a program's voices apart)
        seen = self.rep.programs
        asked = self.targets.programs
        def known(programs: list[int]) -> bool:
            return seen is not None and set(programs) <= set(seen)

        primer_programs = sorted({program_number(p, d) for _, p, d in self.primer.instruments}) if self.primer else None
        self.usual_voices: list[int] | None = None  # all the voices of the programs allowed
        if asked is not None and known(asked):
            self.masked_programs: list[int] | None = asked
        elif primer_programs and known(primer_programs):
            self.masked_programs = primer_programs
        else:  # the corpus's usual line-up, not an instrument or a voice that a few of its pieces have
            self.masked_programs = self.rep.usual_programs or seen
            self.usual_voices = self.rep.usual_voices
        self._check_possible()

    # --- what can be done ---
    @property
    def given_primer(self) -> Piece:
        """The primer, for the controls that work on one (--infill, --harmonise; resolve_targets asks for it)."""
        if self.primer is None:
            raise ControlError("this control needs a --primer to work on")
        return self.primer

    @property
    def bar_id(self) -> int:
        """The bar token's id."""
        if self.rep.bar_id is None:
            raise ControlError("the token sampler needs bar tokens: this run's tokenization has none (train with REMI)")
        return self.rep.bar_id

    def _check_possible(self) -> None:
        t, cv, primer = self.targets, self.cv, self.primer
        _ = self.bar_id  # a run without bar tokens is refused here
        for flag, asked in (("--infill", t.infill), ("--loopable", t.loopable)):
            if asked and not cv.infill:
                raise ControlError(f"{flag} needs a run trained for infilling ([representation] infill = true); "
                                   f"{self.run.path} was not")
        if sum(bool(x) for x in (t.infill, t.loopable, t.harmonise)) > 1:
            raise ControlError("--infill, --loopable and --harmonise cannot be combined: choose one")
        if t.style is not None:
            if "style" in cv.conditioning:
                if t.style not in cv.styles:
                    raise ControlError(f"--style {t.style}: this run learned only {', '.join(cv.styles) or 'no styles'}")
            else:
                corpus = Path(str(self.run.config.get("corpus", {}).get("source", ""))).name
                if t.style != corpus:
                    raise ControlError(f"--style {t.style}: this run has no style conditioning; it knows only {corpus!r}")
        if primer is not None and t.time_signature and primer.time_signature != t.time_signature:
            raise ControlError("--time-signature {}/{} differs from the primer's {}/{}".format(*t.time_signature,
                                                                                        *primer.time_signature))
        if primer is not None and not t.infill and not t.harmonise and primer.bars >= t.bars:
            raise ControlError(f"the primer already has {primer.bars} bars: ask for more with --bars (the total length)")

    # --- the conditioning prefix ---
    def condition_values(self) -> dict[str, Any]:
        """Conditioning values asked for, or taken from the primer; None where the model chooses."""
        t, primer, cv = self.targets, self.primer, self.cv
        edges = self.rep.density_edges
        density = None
        if t.density_label:
            word = t.density_label.split()[0]
            density = word if word in DENSITY_LEVELS or t.density is None else density_level(t.density[0], edges)
        elif primer is not None:
            density = density_level(notes_per_bar(primer), edges)
        meter = t.time_signature or (primer.time_signature if primer is not None else None)
        programs = self.masked_programs
        if programs is None:
            programs = (sorted({program_number(p, d) for _, p, d in primer.instruments}) if primer is not None else [0])
        return {"style": t.style or (cv.styles[0] if len(cv.styles) == 1 else None),
                "key": t.key or (primer.key if primer is not None else None),
                "time_signature": "{}/{}".format(*meter) if meter else None,
                "tempo": t.tempo or (primer.tempo if primer is not None else None),
                "density": density, "instruments": programs}

    def head(self) -> list[int | torch.Tensor]:
        """BOS, then one slot per conditioning category: forced when known, sampled within it otherwise."""
        slots: list[int | torch.Tensor] = [self.rep.bos_id]
        if not self.cv.conditioning:
            return slots
        values = self.condition_values()
        for category in self.cv.conditioning:
            if category == "instruments":
                slots += [self.cv.id(f"Instrument_{p}") for p in values["instruments"]]
                continue
            token = self.cv.slot_token(category, values.get(category))
            if token is None:
                mask = torch.zeros(self.rep.vocab_size, dtype=torch.bool)
                mask[self.cv.category_ids[category]] = True
                slots.append(mask)
            else:
                slots.append(token)
        return slots + [self.cv.id("CondEnd")]

    def constraints(self, **kwargs: Any) -> MusicConstraints:
        meter = kwargs.pop("meter", None)
        if meter is None and self.primer is not None:
            meter = "{}/{}".format(*self.primer.time_signature)
        return MusicConstraints(self.rep, self.targets, programs=self.masked_programs, voices=self.usual_voices,
                                meter=meter, **kwargs)

    def infill_plan(self, head: list, bars: list[list[int]], start: int, end: int, following: list[list[int]]) -> Plan:
        """head, the bars after the gap (`following`), the bars before it, then the gap to write."""
        ids = self.cv.ids
        per_bar = sum(len(b) for b in bars) / max(1, len(bars))
        room = self.window - len(head) - 3 - int(1.5 * per_bar * (end - start)) - 8
        suffix: list[int] = []
        for bar in following:
            if len(suffix) + len(bar) > room // 3:
                break
            suffix += bar
        prefix: list[int] = []
        for bar in reversed(bars[:start]):
            if len(prefix) + len(bar) > room - len(suffix):
                break
            prefix = bar + prefix
        slots = head + [ids["Infill_Suffix"], *suffix, ids["Infill_Prefix"], *prefix, ids["Infill_Middle"]]
        return Plan(slots, len(slots))

    # --- sampling ---
    def sample(self, plan: Plan, constraints: MusicConstraints, generators: list[torch.Generator]) -> list[list[int]]:
        max_new = constraints.total_bars * TOKENS_PER_BAR_LIMIT + 64
        return sample_rows(self.run.model, plan, constraints, generators, self.controls, self.run.device, max_new,
                           self.use_cache, self.guess)

    def decode_bars(self, ids: list[int], first_bar: int, bars: int) -> Piece:
        """Music ids (beginning with a bar line) as a Piece whose first bar is bar `first_bar`."""
        ids = [i for i in ids if i < self.rep.base_vocab_size]
        piece = self.rep.decode(ids, corpus_velocities=self.targets.velocity is None).bars_slice(0, bars)
        if first_bar:
            piece = piece.copy(score=piece.score.shift_time(first_bar * piece.bar_ticks))
        return piece

    def pieces(self) -> list[Piece]:
        """Sample, decode, apply the piece-level controls, check: `controls.num` Pieces."""
        t, c = self.targets, self.controls
        generators = [c.generator(i) for i in range(c.num)]
        head = self.head()
        end_id = self.cv.ids.get("Infill_End")
        out = []
        if t.harmonise:
            melody = self.melody_notes()
            plan = Plan(head, len(head))
            rows = self.sample(plan, self.constraints(total_bars=t.bars, melody=melody), generators)
            voices, names = self.harmony_voices()
            out = [(row, set_instruments(self.decode_bars(row[plan.music_at:], 0, t.bars), voices, names))
                   for row in rows]
            self.events = [len(row) - plan.music_at for row in rows]
        elif t.infill:
            start, end = t.infill
            primer = self.given_primer
            bars = split_bars(self.rep.encode(primer), self.bar_id)
            plan = self.infill_plan(head, bars, start, end, bars[end:])
            rows = self.sample(plan, self.constraints(total_bars=end - start, bar_offset=start,
                                                      piece_bars=primer.bars, end_id=end_id), generators)
            for row in rows:
                middle = self.decode_bars(row[plan.music_at:], start, end - start)
                out.append((row, splice_bars(primer, middle, start, end)))
            self.events = [len(row) - plan.music_at for row in rows]
        else:
            self.primer_ids = self.rep.encode(self.primer) if self.primer is not None else []
            slots = head + self.primer_ids
            plan = Plan(slots, len(head))
            # a loop's last bar is written afterwards, once the first bar can follow it (close_loops)
            primed = self.primer.bars if self.primer is not None else 0
            written = t.bars - 1 if t.loopable and t.bars - 1 > primed else t.bars
            rows = self.sample(plan, self.constraints(total_bars=written, piece_bars=t.bars), generators)
            for row in rows:
                piece = self.decode_bars(row[plan.music_at:], 0, written)
                if self.primer is not None:
                    piece = splice_bars(self.primer, piece, self.primer.bars, t.bars)
                out.append((row, piece))
            self.events = [len(row) - plan.music_at - (len(self.primer_ids) if self.primer is not None else 0)
                           for row in rows]
            if t.loopable:
                out = self.close_loops(out, plan.music_at, generators)
        return [self.finish(piece, row, i) for i, (row, piece) in enumerate(out)]

    def harmony_voices(self) -> tuple[list[int], list[str] | None]:
        """The programs of a harmonisation's voices, top down, and their names when the run's corpus has such
        voices: the asked instruments, else the corpus's first four voices (a chorale's Soprano, Alto, Tenor
        and Bass), else four of its first program."""
        asked = self.targets.programs
        table = [v for v in self.rep.voices_for(asked or self.masked_programs or []) if v.program != DRUMS]
        if asked is not None:
            named = []
            for program in asked:
                voice = next((v for v in table if v.program == program and v not in named), None)
                if voice is None:
                    return asked, None
                named.append(voice)
            return asked, [v.name for v in named]
        if len(table) >= Melody.VOICES:
            return [v.program for v in table[:Melody.VOICES]], [v.name for v in table[:Melody.VOICES]]
        return [int(self.rep.programs[0]) if self.rep.programs else 0] * Melody.VOICES, None

    def melody_notes(self) -> list[tuple[int, int, int, int, int]]:
        """The primer's top line as (bar, position, pitch, length in positions, velocity) on the token grid."""
        primer = self.given_primer
        pos_res = int(max(self.rep.tokenizer.config.beat_res.values()))
        bar_positions = primer.time_signature[0] * pos_res
        top: dict[int, tuple[int, int, int]] = {}
        for track in primer.score.tracks:
            for n in track.notes:
                if not track.is_drum and (int(n.time) not in top or n.pitch > top[int(n.time)][0]):
                    top[int(n.time)] = (int(n.pitch), int(n.duration), int(n.velocity))
        notes, melody = [], []
        for tick, (pitch, duration, velocity) in sorted(top.items()):
            bar, offset = divmod(tick, primer.bar_ticks)
            pos = min(bar_positions - 1, round(offset * bar_positions / primer.bar_ticks))
            length = max(1, round(duration * bar_positions / primer.bar_ticks))
            notes.append((bar, pos, pitch, length, velocity))
            melody.append((bar, pos / bar_positions, pitch))
        self.targets.extra["melody"] = melody
        return notes

    def close_loops(self, out: list[tuple[list[int], Piece]], music_at: int,
                    generators: list[torch.Generator]) -> list[tuple[list[int], Piece]]:
        """Write each piece's last bar again, knowing that its first bar follows it: the rows together, each
        after its own piece (`Plan.rows`; its bars' first TimeSig keeps the row in its metre)."""
        n = self.targets.bars
        plans = []
        for row, _ in out:
            bars = split_bars(row[music_at:], self.bar_id)[:n - 1]
            before = bars[-LOOP_CONTEXT[0]:]
            plan = self.infill_plan(row[:music_at], before, len(before), len(before) + 1, bars[:LOOP_CONTEXT[1]])
            plans.append([int(x) for x in plan.slots])
        constraints = self.constraints(total_bars=1, bar_offset=n - 1, piece_bars=n, end_id=self.cv.ids["Infill_End"])
        closed = []
        for i, row in enumerate(self.sample(Plan([], 0, plans), constraints, generators)):
            last = self.decode_bars(row[len(plans[i]):], n - 1, 1)
            closed.append((out[i][0], splice_bars(out[i][1], last, n - 1, n)))
            self.events[i] += len(row) - len(plans[i])
        return closed

    # --- the piece-level controls and the checks ---
    def finish(self, piece: Piece, row: list[int], index: int) -> Piece:
        t = self.targets
        if t.tempo is not None:
            piece = apply_tempo(piece, t.tempo)
        if t.time_signature is not None and self.primer is None:
            piece = set_time_signature(piece, t.time_signature)
        if t.programs is not None:
            piece = set_instruments(piece, t.programs)
        key_masks = t.scale is not None or t.end_on_tonic  # masks already wrote in the asked key
        if t.key is not None and not key_masks and "key" not in self.cv.conditioning and self.primer is None:
            piece = transpose_to_key(piece, t.key, t.pitch_range)
        names = self.rep.token_names()
        style = next((names[i].split("_", 1)[1] for i in row if names[i].startswith("Style_")), t.style)
        piece.name = f"{self.run.path.name}-{index + 1:02d}"
        piece.source = "generated"
        piece.tags.update({"family": self.run.family.name, "seed": self.controls.seed, "index": index,
                           "events": self.events[index],
                           "style": style, "asked": t.asked(),
                           "conditioning": [names[i] for i in row if i >= self.rep.base_vocab_size
                                            and not names[i].startswith("Infill")]})
        piece.tags["checks"] = check_piece(piece, t)  # a miss is drawn again (generation/run.py, --attempts)
        return piece
