"""Data: LLP annotations, the released VALOR feature layout, and the SynthLLP benchmark."""
