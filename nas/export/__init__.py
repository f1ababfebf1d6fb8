"""Export networks to Core ML."""
