"""User models for the audit (pipelines/audit.py --model examples.<module>:<factory>)."""
