"""Training code for Unveil's learned face models (Deep Face Decoder, GAN face prior)."""

__version__ = "0.1.0"
