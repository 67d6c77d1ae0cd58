"""Generation: the Controls a user gives, and sampling from a trained run.

- controls.py: `Controls`, `filter_logits`; targets.py: the controls parsed into numbers (`resolve_targets`).
- sample.py: `generate(run, controls)` for every family; the token sampler (`sample_rows`, `generate_tokens`),
  which guesses ahead for one Transformer row (drafts.py: `Drafter`, guesses read off the piece so far).
- masks.py: logit masks for event tokens; token_pieces.py: one token generation, start to checked Pieces.
- arrange.py: piece-level helpers any family can use: `apply_tempo`, `set_time_signature`,
  `set_instruments`, `transpose_to_key`, `splice_bars`.
- checks.py: `check_piece(piece, targets_or_controls)` -> {control: asked, measured, ok, hard}; `enforce`.
- presets.py: `load_preset`, `merge_preset` (configs/presets/*.toml).
"""
