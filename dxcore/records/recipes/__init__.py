"""One recipe per shipped record model: its dataset, schema, split and settings."""
