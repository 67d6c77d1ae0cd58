"""Generation: sampling new pieces from a trained run, under the user's Controls.

The Controls themselves, the targets they parse into, logit filtering and the piece helpers (`arrange`) sit
below the models, in `tunesmith.controls`; General MIDI facts are in `tunesmith.instruments`.

- run.py: `load_run(path)` -> `Run`; `Run.generate(controls)` and `generate(run, controls)` for every family
  (its own `generate`, or the token sampler); `generate_tokens(run, controls)` for the token families.
- token_pieces.py: one token generation from start to checked Pieces (`TokenGeneration`): the conditioning
  prefix, a fresh piece, a primer's continuation, an infilled gap or a harmonised melody, the loop seam.
- sample.py: the token row sampler (`sample_rows`, `Plan`): every row seeded on its own, the model's cache
  carried between steps, and one row's next events guessed ahead (drafts.py: `Drafter`).
- masks.py: the logit masks for event tokens (`MusicConstraints`): grammar, bars, meter, scale, range, density...
- checks.py: `check_piece(piece, targets_or_controls)` -> {control: asked, measured, ok, hard}, one registered
  check per control; `enforce` raises for an unmet hard control.
- latent.py: a VAE run's latent space on Pieces: `reconstruct`, `interpolate`, `attribute_vectors`.
- presets.py: `load_preset`, `merge_preset` (configs/presets/*.toml).
"""
