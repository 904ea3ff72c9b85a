"""gradcli: derive, explain and check gradients three ways (symbolic, backprop, finite differences)."""

__version__ = "0.1.0"
