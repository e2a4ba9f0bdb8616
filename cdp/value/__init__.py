"""Customer value models that SQL cannot express: BG/NBD + Gamma-Gamma service CLV."""
