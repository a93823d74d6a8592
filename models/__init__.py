"""The pretrained models shipped with gaunt-md (weights, cards, registry), installed as ``gaunt_md.models``."""
