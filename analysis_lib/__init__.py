"""analysis_lib: couple transformer artificial neurons with human functional brain networks."""

__version__ = "0.1.0"
